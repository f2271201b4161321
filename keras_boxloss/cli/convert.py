"""`keras-boxloss convert`: annotations (Pascal VOC XML, CSV, COCO JSON) to
TF Object Detection API TFRecords with a label map.

Every data defect is fixed, clipped, or skipped and counted by the policy of
`keras_boxloss.data.cleaning`; the summary lists them by file at the end and
is saved as `conversion_summary.json`, with box statistics (per-class
counts, sizes, COCO size bins, aspect ratios: `keras_boxloss.data.statistics`;
`--plot` draws them). Without `--annotations` or split
folders the command writes the generated shapes dataset.

The output folder is written whole or not at all: the command writes a
temporary folder beside it and renames it into place when complete, refuses
a non-empty `--output-dir` unless `--overwrite` (which replaces it whole),
and refuses a second process writing the same `--output-dir` (see
`keras_boxloss.data.output_folder`).
"""

import argparse
import os

from keras_boxloss.cli.errors import CommandError
from keras_boxloss.cli.options import (add_deprecated_alias,
                                       add_progress_argument,
                                       add_seed_argument)
from keras_boxloss.data.cleaning import EXIF_UNCLEAR

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
    output_dir = parser.add_argument(
        "--output-dir", required=True, metavar="DIR",
        help="folder for the .tfrecord shards, label_map.pbtxt and "
             "conversion_summary.json; written whole or not at all, new or "
             "empty unless --overwrite")
    add_deprecated_alias(parser, "--output", output_dir)
    parser.add_argument(
        "--overwrite", action="store_true",
        help="replace a non-empty --output-dir folder whole (the old folder "
             "is deleted only once the new one is complete)")
    parser.add_argument(
        "--label-map", metavar="FILE",
        help="label map .pbtxt to use; boxes of other classes are skipped "
             "and counted (default: voc/csv: the class names found, ids "
             "1..K in sorted order; coco: the JSON's categories)")
    parser.add_argument(
        "--split", action="append", metavar="NAME=FILE|DIR",
        help="a split and the file listing its images (one name or stem per "
             "line, or a CSV with a filename column), with --annotations; "
             "or, without --annotations, a folder holding the split's "
             "images and their VOC .xml files side by side "
             "(images/train/*.jpg + *.xml). Repeat per split. Images in no "
             "split file, or without an .xml, are reported and not "
             "written")
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
    parser.add_argument(
        "--exif-unclear", choices=EXIF_UNCLEAR, default="upright",
        help="an EXIF-oriented image whose annotated size cannot tell which "
             "pixels the boxes were drawn on (a 180-degree turn, a mirror, a "
             "square image): upright, as viewers, browser-based tools (CVAT, "
             "Label Studio) and predict show it, or stored, as LabelImg "
             "shows it and the OD API's decoder reads it (default: upright;"
             " each such image is reported)")
    parser.add_argument(
        "--plot", action="store_true",
        help="also write statistics.png: objects per class, box width vs "
             "height, sizes against COCO's small/medium/large bounds and "
             "aspect ratios")
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


def _split_folders(args):
    """`{split: folder}` when every `--split` names a folder, else `None`;
    mixing folders and files, or folders with --annotations, is an error."""
    if not args.split:
        return None
    pairs = _pairs(args.split, "--split")
    folders = {name: os.path.isdir(path) for name, path in pairs.items()}
    if not any(folders.values()):
        if not args.annotations:
            missing = [p for p in pairs.values() if not os.path.exists(p)]
            raise CommandError(
                "--split NAME=FILE needs --annotations; without it each "
                "--split must be a folder of images with their .xml files"
                + (f" (no such folder: {', '.join(missing)})"
                   if missing else ""))
        return None
    if not all(folders.values()) or args.annotations:
        raise CommandError(
            "expected either --annotations with --split NAME=FILE split "
            "files, or --split NAME=DIR folders of images with their .xml "
            f"files and no --annotations; got --split {' '.join(args.split)}"
            + (" with --annotations" if args.annotations else ""))
    if args.images or args.format not in (None, "voc"):
        raise CommandError("--images and --format do not apply to split "
                           "folders: they hold the images and VOC .xml")
    return pairs


def _write_generated(args):
    from keras_boxloss.data.conversion import LABEL_MAP_FILE
    from keras_boxloss.data.generated import (DEFAULT_SPLITS,
                                              write_generated_dataset)
    from keras_boxloss.data.output_folder import replacing_folder
    from keras_boxloss.data.records import records_glob

    with replacing_folder(args.output_dir, args.overwrite) as temp:
        write_generated_dataset(temp, seed=args.seed,
                                num_shards=args.num_shards)
    print("Wrote the generated shapes dataset:")
    for name in DEFAULT_SPLITS:
        print(f"  {name}: {records_glob(args.output_dir, name)}")
    print(f"  label_map: {os.path.join(args.output_dir, LABEL_MAP_FILE)}")
    return 0


def run(args: argparse.Namespace) -> int:
    from keras_boxloss.data.cleaning import CleaningPolicy
    from keras_boxloss.data.conversion import (convert_annotations,
                                               read_split_folders,
                                               unannotated_images)
    from keras_boxloss.data.label_map import read_label_map
    from keras_boxloss.data.statistics import PLOT_FILE, DatasetStatistics
    from keras_boxloss.data.output_folder import (check_inputs_outside,
                                                  check_output_folder)

    if args.num_shards < 1:
        raise CommandError(f"--num-shards must be positive, got "
                           f"{args.num_shards}")
    check_output_folder(args.output_dir, args.overwrite)  # before slow reading
    folders = _split_folders(args)
    if not args.annotations and not folders:
        return _write_generated(args)
    check_inputs_outside(args.output_dir, [
        *(args.annotations or ()), *_pairs(args.split or (), "").values(),
        *(p for p in (args.images, args.label_map) if p)])
    policy = CleaningPolicy(args.min_box_size, args.duplicate_iou,
                            args.exif_unclear)
    fractions = _fractions(args.fractions)
    splits, unannotated, annotations, label_map, split_files = (
        None, [], None, None, None)
    if folders:
        splits, unannotated = read_split_folders(folders)
    else:
        annotations, label_map = read_annotations(args)
        split_files = _pairs(args.split, "--split") if args.split else None
        unannotated = unannotated_images(annotations)
    if args.label_map:
        label_map = read_label_map(args.label_map)
    statistics = DatasetStatistics()
    paths, report = convert_annotations(
        annotations, args.output_dir, label_map=label_map,
        split_files=split_files, fractions=fractions, seed=args.seed,
        num_shards=args.num_shards, policy=policy, progress=args.progress,
        overwrite=args.overwrite, splits=splits, unannotated=unannotated,
        statistics=statistics, plot=args.plot)
    print(report.format_summary())
    print(statistics.format_summary())
    if args.plot:
        print(f"Plot: {os.path.join(args.output_dir, PLOT_FILE)}")
    if unannotated:
        more = (f" (+{len(unannotated) - 20} more)"
                if len(unannotated) > 20 else "")
        print(f"Not written, no annotation names them: {len(unannotated)} "
              f"images: {', '.join(unannotated[:20])}{more}")
    print("Records:")
    for name, path in paths.items():
        print(f"  {name}: {path}")
    return 0
