"""Flags that several subcommands share, so they read the same everywhere.

- `--data GLOB`: TFRecords (TF OD API format); without it a command uses the
  generated default dataset (`keras_boxloss.data.generated`), cached under
  `--cache-dir`.
- `--label-map FILE`: `.pbtxt`; default `label_map.pbtxt` next to the
  records.
- `--seed N`, `--no-progress`.
- `--image-size HxW`, `--resize-mode`, `--batch-size`, `--max-boxes` for
  commands that read batches (`make_dataset_from_args`).
"""

import os


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
    parser.add_argument(
        "--cache-dir", metavar="DIR",
        help="where the generated default dataset is cached (default: "
             "$KERAS_BOXLOSS_CACHE or ~/.cache/keras_boxloss)")


def add_seed_argument(parser, what="shuffling and augmentation"):
    parser.add_argument("--seed", type=int, default=0,
                        help=f"seed for {what} (default: 0)")


def add_progress_argument(parser):
    parser.add_argument("--no-progress", dest="progress",
                        action="store_false",
                        help="do not show progress bars")


def resolve_data(args, split):
    """`(records glob, label map dict)` from `--data`/`--label-map`, or the
    generated dataset's `split` when `--data` is not given."""
    from keras_boxloss.data.label_map import read_label_map
    from keras_boxloss.data.records import list_record_files

    if args.data:
        pattern = args.data
        label_map_path = args.label_map or os.path.join(
            os.path.dirname(list_record_files(pattern)[0]), "label_map.pbtxt")
        if not args.label_map and not os.path.isfile(label_map_path):
            return pattern, None
    else:
        from keras_boxloss.data.generated import default_dataset

        paths = default_dataset(args.cache_dir)
        pattern = paths[split]
        label_map_path = args.label_map or paths["label_map"]
    return pattern, read_label_map(label_map_path)


def _image_size(text):
    import argparse

    parts = text.lower().replace("x", ",").split(",")
    try:
        sizes = tuple(int(p) for p in parts)
    except ValueError:
        sizes = ()
    if len(sizes) == 1:
        sizes = sizes * 2
    if len(sizes) != 2 or min(sizes) < 1:
        raise argparse.ArgumentTypeError(
            f"expected HEIGHTxWIDTH or SIZE, got {text!r}")
    return sizes


def add_input_arguments(parser, image_size="128", batch_size=8):
    """`--image-size`, `--resize-mode`, `--batch-size`, `--max-boxes`: the
    flags of `keras_boxloss.data.pipeline.make_dataset`."""
    parser.add_argument("--image-size", type=_image_size, default=image_size,
                        metavar="HxW",
                        help=f"input size, HEIGHTxWIDTH or one number "
                             f"(default: {image_size})")
    parser.add_argument("--resize-mode", choices=("fixed", "pad"),
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
