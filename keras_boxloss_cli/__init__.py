"""The `keras-boxloss` console entry point, outside the `keras_boxloss`
package so that `keras-boxloss --help` answers without importing Keras.

`import keras_boxloss` imports (and so registers) every loss, which imports
Keras and its backend: seconds. A module inside the package cannot avoid
that, since Python runs the package's `__init__` first. This module,
imported before `keras_boxloss`, sets `DEFER_LOSSES`, which
`keras_boxloss/__init__.py` reads: the losses are then imported on first
use of a name from the package, and by `keras_boxloss.cli.main.main`
before any command runs (so a command sees every loss registered, as
before). Parsers are built from the command modules' argparse-level code
only.

The flag is set by `main` and `build_parser` only, so a process that
merely imports this module (a test, say) keeps the ordinary
`import keras_boxloss`, which registers everything.
"""

# Read by keras_boxloss/__init__.py (see above); set when `main` or
# `build_parser` is called.
DEFER_LOSSES = False


def build_parser():
    """`keras_boxloss.cli.main.build_parser`, without importing Keras."""
    global DEFER_LOSSES
    DEFER_LOSSES = True
    from keras_boxloss.cli.main import build_parser as build

    return build()


def main(argv: list[str] | None = None) -> int:
    """The console script: `keras_boxloss.cli.main.main`."""
    global DEFER_LOSSES
    DEFER_LOSSES = True
    from keras_boxloss.cli.main import main as run

    return run(argv)
