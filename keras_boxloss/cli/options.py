"""Flags that several subcommands share, so they read the same everywhere
(the vocabulary: docs/cli.md).

- `--data GLOB`: TFRecords (TF OD API format); without it a command uses the
  generated default dataset (`keras_boxloss.data.generated`), cached under
  `--cache-dir`.
- `--label-map FILE`: `.pbtxt`; default `label_map.pbtxt` next to the
  records.
- `--seed N`, `--no-progress`, `--overwrite`, `--set KEY=VALUE`.
- `--output FILE` for a file a command writes, `--output-dir DIR` for a
  folder; a renamed flag keeps its old spelling as a hidden alias that
  warns (`add_deprecated_alias`).
- `--image-size HxW` (or one number), `--resize-mode`, `--batch-size`,
  `--max-boxes` for commands that read batches (`make_dataset_from_args`).

Only argparse-level code runs at import and in the `add_*` functions: the
parsers are built without Keras (tests/cli/test_fast_help.py).
"""

import argparse
import os
import sys


class _DeprecatedAlias(argparse.Action):
    """An old spelling of another flag: stores into its `dest`, warns once
    on stderr, and is hidden from --help."""

    def __init__(self, option_strings, dest, target=None, **kwargs):
        super().__init__(option_strings, dest, **kwargs)
        self.target = target

    def __call__(self, parser, namespace, values, option_string=None):
        new = self.target.option_strings[0]
        print(f"keras-boxloss: warning: {option_string} is deprecated, use "
              f"{new}", file=sys.stderr)
        # The alias stands in for a required new flag (argparse checks
        # `required` by the actions seen, and the alias is another action).
        self.target.required = False
        setattr(namespace, self.dest, values)


def add_deprecated_alias(parser: argparse.ArgumentParser, old: str,
                         target: argparse.Action) -> None:
    """`old` as a hidden, deprecated spelling of `target` (the action that
    `parser.add_argument` returned for the new flag): scripts that use it
    keep working, with a "deprecated, use --new" warning on stderr."""
    parser.add_argument(old, action=_DeprecatedAlias, target=target,
                        dest=target.dest, type=target.type,
                        nargs=target.nargs, metavar=target.metavar,
                        default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def add_overwrite_argument(parser, what):
    parser.add_argument("--overwrite", action="store_true",
                        help=f"replace {what}")


def check_nms_numbers(score_threshold: float | None,
                      max_detections: int | None) -> None:
    """`--score-threshold` in [0, 1] and a positive `--max-detections`
    (`None`: not given)."""
    if score_threshold is not None and not 0.0 <= score_threshold <= 1.0:
        raise ValueError(f"Expected --score-threshold in [0, 1]. Received: "
                         f"score_threshold={score_threshold}")
    if max_detections is not None and max_detections < 1:
        raise ValueError(f"Expected a positive --max-detections. Received: "
                         f"max_detections={max_detections}")


def add_checkpoint_argument(parser):
    """`--checkpoint last|best`: which weights of a `train` run to load
    (`training.train.checkpoint_dir`)."""
    parser.add_argument("--checkpoint", choices=("last", "best"),
                        default=None,
                        help="with --model-dir: the run's last weights, or "
                             "best/, those of its best validation "
                             "evaluation while training (default: last)")


def add_set_argument(parser, help_text):
    """`--set KEY=VALUE` (repeatable) into `args.overrides`."""
    parser.add_argument("--set", action="append", default=[],
                        metavar="KEY=VALUE", dest="overrides",
                        help=f"{help_text} (repeatable)")


def add_data_arguments(parser, what="records (default: the generated shapes "
                                   "dataset)"):
    parser.add_argument(
        "--data", metavar="GLOB",
        help=f"TFRecord files of the {what}: a glob, or comma-separated "
             f"globs, quoted")
    parser.add_argument(
        "--label-map", metavar="FILE",
        help="label map .pbtxt (default: label_map.pbtxt next to the "
             "records)")
    add_cache_dir_argument(parser)


def add_cache_dir_argument(parser):
    parser.add_argument(
        "--cache-dir", metavar="DIR",
        help="where the generated default dataset is cached (default: "
             "$KERAS_BOXLOSS_CACHE or ~/.cache/keras_boxloss)")


def add_seed_argument(parser, what="shuffling and augmentation"):
    parser.add_argument("--seed", type=int, default=0,
                        help=f"seed for {what} (default: 0)")


def add_progress_argument(parser, help_text="do not show progress bars"):
    parser.add_argument("--no-progress", dest="progress",
                        action="store_false", help=help_text)


def resolve_data(args, split):
    """`(records glob, label map or None)` from `--data`/`--label-map`, or
    the generated dataset's `split` when `--data` is not given
    (`keras_boxloss.data.resolve.resolve_records`)."""
    from keras_boxloss.data.label_map import read_label_map
    from keras_boxloss.data.resolve import resolve_records

    pattern, label_map_path = resolve_records(
        args.data, split, args.label_map, getattr(args, "cache_dir", None))
    if label_map_path is None:
        return pattern, None
    return pattern, read_label_map(label_map_path)


def parse_image_size(text: str, comma_deprecated: bool = True
                     ) -> tuple[int, int]:
    """An image size, `HEIGHTxWIDTH` or one number for a square: the one
    syntax of every command. `HEIGHT,WIDTH` (Model Garden's) is read too;
    with `comma_deprecated` it warns."""
    parts = text.lower().replace(",", "x").split("x")
    try:
        sizes = tuple(int(p) for p in parts)
    except ValueError:
        sizes = ()
    if len(sizes) == 1:
        sizes = sizes * 2
    if len(sizes) != 2 or min(sizes) < 1:
        raise argparse.ArgumentTypeError(
            f"expected HEIGHTxWIDTH or SIZE, positive. Received: {text!r}")
    if "," in text and comma_deprecated:
        print(f"keras-boxloss: warning: the image size {text} is "
              f"deprecated, use {sizes[0]}x{sizes[1]}", file=sys.stderr)
    return sizes


def add_input_arguments(parser, image_size="128", batch_size=8):
    """`--image-size`, `--resize-mode`, `--batch-size`, `--max-boxes`: the
    flags of `keras_boxloss.data.pipeline.make_dataset`."""
    parser.add_argument("--image-size", type=parse_image_size,
                        default=image_size,
                        metavar="HxW",
                        help=f"input size, HEIGHTxWIDTH or one number "
                             f"(default: {image_size})")
    from keras_boxloss.data.pipeline import RESIZE_MODES

    parser.add_argument("--resize-mode", choices=RESIZE_MODES,
                        default="fixed",
                        help="fixed: stretch to the size; pad: keep the "
                             "aspect ratio and pad (default: fixed)")
    parser.add_argument("--batch-size", type=int, default=batch_size,
                        help=f"images per batch (default: {batch_size})")
    parser.add_argument("--max-boxes", type=int, default=100,
                        help="ground-truth boxes per image after padding "
                             "(default: 100)")


def make_dataset_from_args(args, pattern, augment=False, **kwargs):
    """`make_dataset` with the flags of `add_input_arguments` (and `--seed`
    when the parser has it); `kwargs` override."""
    from keras_boxloss.data.pipeline import make_dataset

    options = dict(batch_size=args.batch_size, image_size=args.image_size,
                   resize_mode=args.resize_mode, max_boxes=args.max_boxes,
                   augment=augment, seed=getattr(args, "seed", None))
    options.update(kwargs)
    return make_dataset(pattern, **options)
