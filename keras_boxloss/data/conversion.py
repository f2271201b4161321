"""Annotations -> cleaned, split, sharded TFRecords with a label map.

`convert_annotations` is what `keras-boxloss convert` runs after a reader of
`keras_boxloss.data.converters` has parsed the annotations. It writes, in
`output_dir`:

- `{split}-0000i-of-0000n.tfrecord` for each split,
- `label_map.pbtxt`,
- `conversion_summary.json`: the `CleaningReport`, the split sizes, what
  each split wrote and `statistics` of the written boxes
  (`keras_boxloss.data.statistics`),
- `statistics.png` with `plot=True`.

The folder is written whole or not at all (`output_folder.replacing_folder`):
a failed or killed conversion leaves the previous `output_dir` as it was.
"""

import csv
import glob
import json
import os

import numpy as np

from keras_boxloss.data.cleaning import (IMAGE_SKIPS, CleaningPolicy,
                                         CleaningReport, build_record)
from keras_boxloss.data.label_map import (LABEL_MAP_FILE,
                                          label_map_from_names,
                                          validate_label_map, write_label_map)
from keras_boxloss.data.output_folder import (check_inputs_outside,
                                              replacing_folder)
from keras_boxloss.data.records import records_glob, write_records
from keras_boxloss.data.statistics import PLOT_FILE, DatasetStatistics

DEFAULT_FRACTIONS = {"train": 0.8, "val": 0.2}
SUMMARY_FILE = "conversion_summary.json"


def read_split_file(path):
    """Image names of one split: a text file with one name or stem per line
    (VOC `ImageSets`), or a CSV with a `filename` column (a byte-order mark,
    as Excel saves, is not text)."""
    if str(path).lower().endswith(".csv"):
        with open(path, newline="", encoding="utf-8-sig") as file:
            reader = csv.DictReader(file)
            if "filename" not in (reader.fieldnames or []):
                raise ValueError(f"Expected a 'filename' column in split file"
                                 f" {path}. Received: {reader.fieldnames}")
            return [row["filename"].strip() for row in reader]
    with open(path, encoding="utf-8-sig") as file:
        return [line.split()[0] for line in file if line.strip()]


def split_from_files(annotations, split_files):
    """`{split: [annotation, ...]}` from `{split: path}` of split files.

    A name matches an annotation's file name or its stem. Returns the splits
    and the file names in no split.
    """
    by_key = {}
    for annotation in annotations:
        by_key[annotation.filename] = annotation
        by_key.setdefault(os.path.splitext(annotation.filename)[0], annotation)
    splits, seen = {}, {}
    for split, path in split_files.items():
        splits[split] = []
        for name in dict.fromkeys(read_split_file(path)):
            annotation = by_key.get(name)
            if annotation is None:
                raise ValueError(f"Expected an annotation for {name!r} "
                                 f"listed in split file {path}. Received: "
                                 f"no such image in the annotations")
            if annotation.filename in seen:
                raise ValueError(
                    f"Expected each image in one split. Received: "
                    f"{annotation.filename!r} in {seen[annotation.filename]}"
                    f" and {split}")
            seen[annotation.filename] = split
            splits[split].append(annotation)
    unassigned = sorted(a.filename for a in annotations
                        if a.filename not in seen)
    return splits, unassigned


def seeded_split(annotations, fractions, seed=0):
    """`{split: [annotation, ...]}`: a seeded shuffle cut by `fractions`
    (which must sum to 1)."""
    if not fractions or any(f < 0 for f in fractions.values()) or abs(
            sum(fractions.values()) - 1.0) > 1e-6:
        raise ValueError(f"Expected non-negative split fractions that sum to"
                         f" 1. Received: fractions={fractions}")
    order = np.random.default_rng(seed).permutation(len(annotations))
    bounds = np.round(np.cumsum(list(fractions.values()))
                      * len(annotations)).astype(int)
    splits, start = {}, 0
    for split, stop in zip(fractions, bounds):
        splits[split] = sorted((annotations[i] for i in order[start:stop]),
                               key=lambda a: a.filename)
        start = stop
    return splits


IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif",
                    ".tiff", ".webp")


def read_split_folder(folder):
    """A split given as a folder of images with their VOC `.xml` files
    beside them (`images/train/*.jpg + *.xml`).

    Returns:
        `(annotations, unannotated)`: the XMLs' `Annotation`s (images looked
        up in `folder`) and the paths of the image files of `folder` that
        no XML names (`unannotated_images`), which are not written.
    """
    from keras_boxloss.data.converters.voc import parse_voc_xml

    folder = os.fspath(folder)
    paths = sorted(glob.glob(os.path.join(glob.escape(folder), "*.xml")))
    if not paths:
        others = sorted(os.listdir(folder))
        raise ValueError(
            f"Expected VOC .xml annotations beside the images in split "
            f"folder {folder} (CSV and COCO JSON: give --annotations and "
            f"split files). Received: no .xml among {len(others)} files "
            f"({', '.join(others[:3])})")
    annotations = [parse_voc_xml(path, folder) for path in paths]
    return annotations, unannotated_images(annotations)


def unannotated_images(annotations) -> list[str]:
    """The image files beside the annotated ones (in the folders that hold
    them, not below) that no annotation names: not written, as their boxes
    are unknown, and reported rather than passed over."""
    named = {os.path.realpath(a.image_path) for a in annotations}
    folders = sorted({os.path.dirname(a.image_path) for a in annotations})
    found = []
    for folder in folders:
        if not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            if (os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS
                    and os.path.realpath(path) not in named):
                found.append(path)
    return found


def read_split_folders(folders):
    """`read_split_folder` of each `{split: folder}`.

    Returns:
        `(splits, unannotated)`: `{split: [annotation, ...]}` and the
        paths of images that no XML names.

    Raises:
        ValueError: when one file name is in two splits (records and
            reports name images by file name).
    """
    splits, unannotated, seen = {}, [], {}
    for split, folder in folders.items():
        splits[split], loose = read_split_folder(folder)
        unannotated += loose
        for annotation in splits[split]:
            if annotation.filename in seen:
                raise ValueError(
                    f"Expected each image file name in one split folder. "
                    f"Received: {annotation.filename!r} in "
                    f"{seen[annotation.filename]} and {split}")
            seen[annotation.filename] = split
    return splits, unannotated


def _counted(records, statistics):
    """The records that are not `None`, each added to `statistics`."""
    for record in records:
        if record is not None:
            statistics.add(record)
            yield record


def _skips(report):
    return {c: report.count(c) for c in IMAGE_SKIPS}


def _check_written(split, members, written, report, skips_before):
    """An error when every image of a split was skipped: an empty split
    (all images missing, say) is never a result."""
    if not members or written:
        return
    skipped = {c: n - skips_before[c] for c, n in _skips(report).items()
               if n > skips_before[c]}
    missing = report.events.get("missing_image", [])[
        skips_before["missing_image"]:]
    hint = (f"; e.g. {missing[0][1]} not found: are the images "
            f"elsewhere?" if missing else "")
    raise ValueError(
        f"Expected images written in split {split!r}. Received: all "
        f"{len(members)} of its images skipped ({skipped}){hint}")


def convert_annotations(annotations, output_dir, label_map=None,
                        split_files=None, fractions=None, seed=0,
                        num_shards=1, policy=None, progress=False,
                        overwrite=False, splits=None, unannotated=(),
                        allow_empty_splits=False, statistics=None,
                        plot=False):
    """Cleans, splits and writes `annotations` as TFRecords.

    Args:
        annotations: `cleaning.Annotation`s from a reader; `None` when
            `splits` gives them.
        output_dir: the folder to write; written whole or not at all.
        label_map: `{id: name}`; `None` numbers the class names found 1..K
            in sorted order.
        split_files: `{split: path}` of split files to honour; images in
            none of them are reported, not written.
        fractions: `{split: fraction}` for a seeded split when neither
            `split_files` nor `splits` is given (default
            `DEFAULT_FRACTIONS`).
        seed: the seed of that split.
        num_shards: shards per split.
        policy: a `CleaningPolicy` (default thresholds when `None`).
        progress: show a progress bar per split.
        overwrite: replace a non-empty `output_dir` whole.
        splits: `{split: [annotation, ...]}` already split (e.g.
            `read_split_folders`), instead of `annotations`.
        unannotated: image paths without annotations, reported in the
            summary (not written).
        allow_empty_splits: write a split whose images were all skipped
            (by default an error: all images missing, say).
        statistics: a `statistics.DatasetStatistics` to fill with the
            written boxes (a new one when `None`); saved in the summary.
        plot: also write `statistics.PLOT_FILE`, a PNG of them.

    Returns:
        `(paths, report)`: `paths` maps each split to its records glob and
        `"label_map"` to the label map; `report` is the `CleaningReport`.

    Raises:
        ValueError: bad input, a split whose images were all skipped, a
            non-empty `output_dir` without `overwrite`, or another process
            writing `output_dir`. `output_dir` is then left as it was.
    """
    policy = policy or CleaningPolicy()
    if splits is not None:
        if annotations is not None or split_files:
            raise ValueError("Expected either annotations (with split_files"
                             " or fractions) or splits. Received: both")
        annotations = [a for members in splits.values() for a in members]
    if not annotations:
        raise ValueError("Expected annotations to convert. Received: none "
                         "(an empty annotations file or folder?)")
    if label_map is None:
        label_map = label_map_from_names(
            box.name for a in annotations for box in a.objects)
    validate_label_map(label_map)
    # Source ids: the format's own (COCO) or the 1-based position in file
    # name order, so they do not depend on the split.
    source_ids = {a.filename: a.source_id or str(i + 1)
                  for i, a in enumerate(sorted(annotations,
                                               key=lambda a: a.filename))}
    if len(set(source_ids.values())) != len(source_ids) or len(
            source_ids) != len(annotations):
        raise ValueError("Expected unique source ids. Received: repeated "
                         "image ids or file names in the annotations")
    check_inputs_outside(output_dir, {os.path.dirname(a.image_path)
                                      for a in annotations})
    unassigned = []
    if split_files:
        splits, unassigned = split_from_files(annotations, split_files)
    elif splits is None:
        splits = seeded_split(annotations, fractions or DEFAULT_FRACTIONS,
                              seed)

    report = CleaningReport()
    report.not_in_split = unassigned
    statistics = DatasetStatistics() if statistics is None else statistics
    written = {}
    with replacing_folder(output_dir, overwrite) as temp:
        for split, members in splits.items():
            if progress:
                from tqdm import tqdm
                members = tqdm(members, desc=f"convert {split}",
                               unit="image")
            before = (report.images_written, report.boxes_written)
            skips_before = _skips(report)
            records = (build_record(a, source_ids[a.filename], label_map,
                                    policy, report) for a in members)
            shards = write_records(_counted(records, statistics),
                                   temp, split, num_shards)
            written[split] = {
                "images": report.images_written - before[0],
                "boxes": report.boxes_written - before[1],
                "shards": [os.path.basename(path) for path in shards]}
            if not allow_empty_splits:
                _check_written(split, splits[split],
                               written[split]["images"], report,
                               skips_before)
        write_label_map(label_map, os.path.join(temp, LABEL_MAP_FILE))
        summary = report.to_dict()
        summary["splits"] = {split: len(members)
                             for split, members in splits.items()}
        summary["written"] = written
        summary["unannotated"] = list(unannotated)
        summary["statistics"] = statistics.to_dict()
        if plot:  # inside the temporary folder: written whole or not at all
            statistics.plot(os.path.join(temp, PLOT_FILE))
        with open(os.path.join(temp, SUMMARY_FILE), "w") as file:
            json.dump(summary, file, indent=1)
    paths = {split: records_glob(output_dir, split) for split in splits}
    paths["label_map"] = os.path.join(output_dir, LABEL_MAP_FILE)
    return paths, report
