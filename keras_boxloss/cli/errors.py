"""`CommandError`, in a module of its own so that subcommands (and the
console entry point) import it without importing the entry point."""


class CommandError(Exception):
    """An error a user can act on: printed as one line, exit code 2."""


def require_model_garden(command: str) -> None:
    """A `CommandError` naming the extra to install when Model Garden
    (package `official`, from tf-models-official) is not importable: the
    `garden-*` commands need it, and it is not in the `detection` extra."""
    try:
        import official.core  # noqa: F401
    except ImportError as error:
        raise CommandError(
            f"Expected Model Garden (tf-models-official) for keras-boxloss "
            f"{command}: pip install keras-boxloss[garden]. Received: "
            f"{type(error).__name__}: {error}") from None
