"""`keras-boxloss` entry point.

Each subcommand lives in its own module under `keras_boxloss.cli` and exposes
`add_arguments(parser)` and `run(args)` (returning an exit code). Those
modules keep their top-level imports light (argparse, pathlib) and import
TensorFlow, Model Garden or KerasCV inside `run`, so `keras-boxloss --help`
stays fast and one command's heavy imports cost nothing to the others (the
console script enters through `keras_boxloss_cli`, which keeps the
package's `__init__` from importing Keras; tests/cli/test_fast_help.py
checks that building and formatting every parser imports none of
TensorFlow, Keras or JAX). A
module that sets `PASS_THROUGH = True` receives the arguments it does not
define in `args.passthrough` (Model Garden's absl flags); other commands
reject them.
"""

import argparse
import importlib
import sys

# Here for the callers that imported it from the entry point; its home is
# `keras_boxloss.cli.errors`.
from keras_boxloss.cli.errors import CommandError

# subcommand name -> (module, one-line help). Add a line to add a command.
COMMANDS = {
    "demo": ("keras_boxloss.cli.demo",
             "fit a toy box-regression model with each loss and print the "
             "results"),
    "convert": ("keras_boxloss.cli.convert",
                "convert VOC XML, CSV or COCO JSON annotations to TFRecords "
                "with a label map, reporting every data defect"),
    "import-config": ("keras_boxloss.cli.import_config",
                      "convert a TF Object Detection API pipeline.config "
                      "to the project's YAML, the mapping as comments"),
    "train": ("keras_boxloss.cli.train",
              "train a detector (SSD, YOLOv1) from a config file, with "
              "checkpoints and resume"),
    "export": ("keras_boxloss.cli.export",
               "export a trained detector as a SavedModel with the TF "
               "Object Detection API's serving signature"),
    "evaluate": ("keras_boxloss.cli.evaluate",
                 "COCO metrics and the paper's mean IoU of predictions "
                 "against TFRecords' ground truth"),
    "predict": ("keras_boxloss.cli.predict",
                "run a trained detector or exported SavedModel on image "
                "files: predictions.json and the images with boxes drawn"),
    "compare": ("keras_boxloss.cli.compare",
                "train a detector once per box loss and seed and compare "
                "them: the Smooth IoU paper's Tables 2 and 3, plots"),
    "profile": ("keras_boxloss.cli.profile",
                "plot each loss and its gradient along a sliding box (the "
                "Smooth IoU paper's Figures 1-3)"),
    "garden-train": ("keras_boxloss.cli.garden_train",
                     "train and evaluate a Model Garden Faster R-CNN with a "
                     "box loss per stage (Model Garden's flags)"),
    "garden-export": ("keras_boxloss.cli.garden_export",
                      "export a Model Garden checkpoint as a SavedModel "
                      "(uint8 images in, normalised boxes out)"),
}


def build_parser() -> argparse.ArgumentParser:
    """The parser of every subcommand. It imports only the command modules'
    argparse-level code: no Keras, TensorFlow or JAX."""
    parser = argparse.ArgumentParser(
        prog="keras-boxloss", allow_abbrev=False,
        description="Bounding-box losses for Keras 3 detectors.")
    parser.add_argument("--debug", action="store_true",
                        help="print the full traceback on errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        # No abbreviations: `compare --output X` must not quietly mean
        # --output-dir (argparse's default would take the prefix).
        sub = subparsers.add_parser(name, help=help_text,
                                    description=help_text, allow_abbrev=False)
        sub.set_defaults(_module=module)
        sub.add_argument("--debug", action="store_true",
                         default=argparse.SUPPRESS,
                         help="print the full traceback on errors")
        importlib.import_module(module).add_arguments(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Runs `keras-boxloss ARGV`; returns the exit code (2: a usage error
    or a `CommandError`, `ValueError` or `FileNotFoundError`)."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if args.command is None:
        if unknown:
            parser.error(f"unrecognized arguments: {' '.join(unknown)}")
        parser.print_help()
        return 0
    module = importlib.import_module(args._module)
    if unknown and not getattr(module, "PASS_THROUGH", False):
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    # Every loss and detector registered before any command runs, as
    # `import keras_boxloss` does (the console entry point,
    # `keras_boxloss_cli`, defers those imports so that --help and usage
    # errors answer without Keras).
    import keras_boxloss

    for name in keras_boxloss.REGISTERING:
        importlib.import_module(name)
    args.passthrough = unknown
    try:
        return module.run(args) or 0
    except (CommandError, ValueError, FileNotFoundError) as error:
        if args.debug:
            raise
        print(f"keras-boxloss {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    # Run the package's module, not this `__main__` copy, so that the
    # CommandError that subcommands import is the one `main` catches.
    from keras_boxloss.cli.main import main as package_main

    sys.exit(package_main())
