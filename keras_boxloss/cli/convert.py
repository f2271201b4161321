"""`keras-boxloss convert`: annotations (Pascal VOC XML, CSV, COCO JSON) to
TF Object Detection API TFRecords with a label map.

Every data defect is fixed, clipped, or skipped and counted by the policy of
`keras_boxloss.data.cleaning`; the summary lists them by file at the end and
is saved as `conversion_summary.json`. Without `--annotations` the command
writes the generated shapes dataset.
"""

import os

from keras_boxloss.cli.main import CommandError
from keras_boxloss.cli.options import add_progress_argument, add_seed_argument

FORMATS = ("voc", "csv", "coco")


def add_arguments(parser):
    parser.add_argument(
        "--format", choices=FORMATS,
        help="annotation format (default: from --annotations: a folder is "
             "voc, *.csv is csv, *.json is coco)")
    parser.add_argument(
        "--annotations", nargs="+", metavar="PATH",
        help="voc: the folder of .xml files; csv: one or more CSV files "
             "(filename,width,height,class,xmin,ymin,xmax,ymax); coco: the "
             "JSON file. Without it: write the generated shapes dataset")
    parser.add_argument(
        "--images", metavar="DIR",
        help="folder of the images (default: voc: a sibling JPEGImages/ or "
             "images/ folder; csv: a sibling images/ folder; coco: the "
             "JSON's folder)")
    parser.add_argument("--output", required=True, metavar="DIR",
                        help="folder for the .tfrecord shards, "
                             "label_map.pbtxt and conversion_summary.json")
    parser.add_argument(
        "--label-map", metavar="FILE",
        help="label map .pbtxt to use; boxes of other classes are skipped "
             "and counted (default: voc/csv: the class names found, ids "
             "1..K in sorted order; coco: the JSON's categories)")
    parser.add_argument(
        "--split", action="append", metavar="NAME=FILE",
        help="a split and the file listing its images (one name or stem per "
             "line, or a CSV with a filename column); repeat per split. "
             "Images in no split file are reported and not written")
    parser.add_argument(
        "--fractions", default="train=0.8,val=0.2", metavar="NAME=F,...",
        help="seeded random split when no --split is given (default: "
             "train=0.8,val=0.2)")
    add_seed_argument(parser, "the random split (and the generated data)")
    parser.add_argument("--num-shards", type=int, default=1,
                        help="TFRecord shards per split (default: 1)")
    parser.add_argument(
        "--min-box-size", type=float, default=1.0, metavar="PX",
        help="skip boxes narrower or lower than this many pixels "
             "(default: 1)")
    parser.add_argument(
        "--duplicate-iou", type=float, default=0.8, metavar="IOU",
        help="skip a box whose IoU with an earlier box of the same class and "
             "image is at least this (default: 0.8; 1 skips exact "
             "duplicates only)")
    add_progress_argument(parser)


def _pairs(items, flag):
    pairs = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise CommandError(f"expected {flag} NAME=VALUE, got {item!r}")
        pairs[name.strip()] = value.strip()
    return pairs


def _fractions(text):
    pairs = _pairs(text.split(","), "--fractions")
    try:
        return {name: float(value) for name, value in pairs.items()}
    except ValueError:
        raise CommandError(f"expected numbers in --fractions, got "
                           f"{text!r}") from None


def _guess_format(path):
    if os.path.isdir(path):
        return "voc"
    extension = os.path.splitext(path)[1].lower()
    if extension in (".csv", ".json"):
        return {".csv": "csv", ".json": "coco"}[extension]
    raise CommandError(f"cannot tell the format of {path!r}; give --format")


def read_annotations(args):
    """`(annotations, label_map or None)` per `--format`."""
    from keras_boxloss.data import converters

    fmt = args.format or _guess_format(args.annotations[0])
    for path in args.annotations:
        if not os.path.exists(path):
            raise FileNotFoundError(f"No such annotations path {path}")
    if fmt != "csv" and len(args.annotations) != 1:
        raise CommandError(f"--format {fmt} takes one --annotations path, "
                           f"got {len(args.annotations)}")
    if fmt == "voc":
        return converters.read_voc_annotations(args.annotations[0],
                                               args.images), None
    if fmt == "csv":
        return converters.read_csv_annotations(args.annotations,
                                               args.images), None
    return converters.read_coco_annotations(args.annotations[0], args.images)


def run(args):
    from keras_boxloss.data.cleaning import CleaningPolicy
    from keras_boxloss.data.conversion import convert_annotations
    from keras_boxloss.data.label_map import read_label_map

    if args.num_shards < 1:
        raise CommandError(f"--num-shards must be positive, got "
                           f"{args.num_shards}")
    if not args.annotations:
        from keras_boxloss.data.generated import write_generated_dataset

        paths = write_generated_dataset(args.output, seed=args.seed,
                                        num_shards=args.num_shards)
        print("Wrote the generated shapes dataset:")
        for name, path in paths.items():
            print(f"  {name}: {path}")
        return 0
    policy = CleaningPolicy(args.min_box_size, args.duplicate_iou)
    annotations, label_map = read_annotations(args)
    if args.label_map:
        label_map = read_label_map(args.label_map)
    split_files = _pairs(args.split, "--split") if args.split else None
    paths, report = convert_annotations(
        annotations, args.output, label_map=label_map,
        split_files=split_files, fractions=_fractions(args.fractions),
        seed=args.seed, num_shards=args.num_shards, policy=policy,
        progress=args.progress)
    print(report.format_summary())
    print("Records:")
    for name, path in paths.items():
        print(f"  {name}: {path}")
    return 0
