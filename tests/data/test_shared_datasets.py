"""The converters on the real datasets of ../shared/datasets, with their
known defects (see its README): skipped when the folder is absent."""

from pathlib import Path

import pytest

from keras_boxloss.data.conversion import convert_annotations
from keras_boxloss.data.converters import (read_csv_annotations,
                                           read_voc_annotations)
from keras_boxloss.data.records import read_records

DATASETS = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets"


def _dataset(name):
    folder = DATASETS / name
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent: the shared real datasets are not "
                    f"on this machine")
    return folder


def test_bccd_zero_area_and_duplicate_boxes(tmp_path):
    root = _dataset("bccd") / "BCCD"
    annotations = read_voc_annotations(str(root / "Annotations"))
    splits = {s: root / "ImageSets" / "Main" / f"{s}.txt"
              for s in ("train", "val", "test")}
    paths, report = convert_annotations(annotations, str(tmp_path),
                                        split_files=splits)
    assert report.files("degenerate_box") == ["BloodImage_00338.jpg",
                                              "BloodImage_00343.jpg"]
    assert report.count("duplicate_box") == 8
    assert report.images_written == 364
    assert report.boxes_written == 4888 - 2 - 8
    assert len(list(read_records(paths["val"]))) == 87


def test_raccoon_greyscale_images(tmp_path):
    data = _dataset("raccoon") / "data"
    csvs = [str(data / "train_labels.csv"), str(data / "test_labels.csv")]
    paths, report = convert_annotations(
        read_csv_annotations(csvs), str(tmp_path),
        split_files={"train": csvs[0], "test": csvs[1]})
    assert report.count("greyscale") == 3
    assert report.images_written == 200 and report.boxes_written == 217
    test = list(read_records(paths["test"]))
    assert len(test) == 40
    assert all(len(r.boxes) and r.classes.min() == 1 for r in test)
