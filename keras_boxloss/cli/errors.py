"""`CommandError`, in a module of its own so that subcommands (and the
console entry point) import it without importing the entry point."""


class CommandError(Exception):
    """An error a user can act on: printed as one line, exit code 2."""
