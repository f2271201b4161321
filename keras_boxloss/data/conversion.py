"""Annotations -> cleaned, split, sharded TFRecords with a label map.

`convert_annotations` is what `keras-boxloss convert` runs after a reader of
`keras_boxloss.data.converters` has parsed the annotations. It writes, in
`output_dir`:

- `{split}-0000i-of-0000n.tfrecord` for each split,
- `label_map.pbtxt`,
- `conversion_summary.json`: the `CleaningReport` and the split sizes.
"""

import csv
import json
import os

import numpy as np

from keras_boxloss.data.cleaning import (CleaningPolicy, CleaningReport,
                                         build_record)
from keras_boxloss.data.label_map import (label_map_from_names,
                                          validate_label_map, write_label_map)
from keras_boxloss.data.records import records_glob, write_records

DEFAULT_FRACTIONS = {"train": 0.8, "val": 0.2}
SUMMARY_FILE = "conversion_summary.json"
LABEL_MAP_FILE = "label_map.pbtxt"


def read_split_file(path):
    """Image names of one split: a text file with one name or stem per line
    (VOC `ImageSets`), or a CSV with a `filename` column."""
    if str(path).lower().endswith(".csv"):
        with open(path, newline="", encoding="utf-8") as file:
            reader = csv.DictReader(file)
            if "filename" not in (reader.fieldnames or []):
                raise ValueError(f"Expected a 'filename' column in split file"
                                 f" {path}. Received: {reader.fieldnames}")
            return [row["filename"].strip() for row in reader]
    with open(path, encoding="utf-8") as file:
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


def convert_annotations(annotations, output_dir, label_map=None,
                        split_files=None, fractions=None, seed=0,
                        num_shards=1, policy=None, progress=False):
    """Cleans, splits and writes `annotations` as TFRecords.

    Args:
        annotations: `cleaning.Annotation`s from a reader.
        output_dir: the folder to write.
        label_map: `{id: name}`; `None` numbers the class names found 1..K
            in sorted order.
        split_files: `{split: path}` of split files to honour; images in
            none of them are reported, not written.
        fractions: `{split: fraction}` for a seeded split when `split_files`
            is not given (default `DEFAULT_FRACTIONS`).
        seed: the seed of that split.
        num_shards: shards per split.
        policy: a `CleaningPolicy` (default thresholds when `None`).
        progress: show a progress bar per split.

    Returns:
        `(paths, report)`: `paths` maps each split to its records glob and
        `"label_map"` to the label map; `report` is the `CleaningReport`.
    """
    policy = policy or CleaningPolicy()
    if label_map is None:
        label_map = label_map_from_names(
            box.name for a in annotations for box in a.objects)
    validate_label_map(label_map)
    # Source ids: the format's own (COCO) or the 1-based position in file
    # name order, so they do not depend on the split.
    source_ids = {a.filename: a.source_id or str(i + 1)
                  for i, a in enumerate(sorted(annotations,
                                               key=lambda a: a.filename))}
    if len(set(source_ids.values())) != len(source_ids):
        raise ValueError("Expected unique source ids. Received: repeated "
                         "image ids or file names in the annotations")
    if split_files:
        splits, unassigned = split_from_files(annotations, split_files)
    else:
        splits = seeded_split(annotations, fractions or DEFAULT_FRACTIONS,
                              seed)
        unassigned = []

    report = CleaningReport()
    report.not_in_split = unassigned
    paths = {}
    os.makedirs(output_dir, exist_ok=True)
    for split, members in splits.items():
        if progress:
            from tqdm import tqdm
            members = tqdm(members, desc=f"convert {split}", unit="image")
        records = (build_record(a, source_ids[a.filename], label_map, policy,
                                report) for a in members)
        write_records((r for r in records if r is not None), output_dir,
                      split, num_shards)
        paths[split] = records_glob(output_dir, split)
    paths["label_map"] = write_label_map(
        label_map, os.path.join(output_dir, LABEL_MAP_FILE))
    summary = report.to_dict()
    summary["splits"] = {split: len(members)
                         for split, members in splits.items()}
    with open(os.path.join(output_dir, SUMMARY_FILE), "w") as file:
        json.dump(summary, file, indent=1)
    return paths, report
