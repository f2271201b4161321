"""The one data resolver (`keras_boxloss.data.resolve`) that the CLI's
`--data`, training's `data.train` and `compare` share."""

import argparse
import glob
import shutil

import pytest

from keras_boxloss.cli.options import resolve_data
from keras_boxloss.data.generated import CLASSES, write_generated_dataset
from keras_boxloss.data.label_map import find_label_map
from keras_boxloss.data.resolve import label_map_beside, resolve_records


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    folder = tmp_path_factory.mktemp("records")
    return write_generated_dataset(str(folder), splits={"train": 2})


def test_label_map_beside_the_records(records, tmp_path):
    assert label_map_beside(records["train"]) == records["label_map"]
    assert resolve_records(records["train"]) == (records["train"],
                                                 records["label_map"])
    other = tmp_path / "other.pbtxt"
    shutil.copy(records["label_map"], other)
    assert resolve_records(records["train"], label_map=str(other)) == (
        records["train"], str(other))
    # every reader of a label map finds the same one
    assert find_label_map(records["train"])[1] == records["label_map"]
    args = argparse.Namespace(data=records["train"], label_map=None,
                              cache_dir=None)
    assert resolve_data(args, "train") == (records["train"], CLASSES)


def test_records_without_label_map(records, tmp_path):
    lone = tmp_path / "lone"
    lone.mkdir()
    shutil.copy(glob.glob(records["train"])[0], lone)
    pattern = str(lone / "*.tfrecord")
    assert resolve_records(pattern) == (pattern, None)
    assert find_label_map(pattern) == (None, None)


def test_no_records_is_an_error_naming_the_glob(tmp_path):
    pattern = str(tmp_path / "nope-*.tfrecord")
    with pytest.raises((ValueError, FileNotFoundError), match="nope-"):
        resolve_records(pattern)


def test_generated_dataset_splits(tmp_path):
    train, label_map = resolve_records(None, "train", cache_dir=str(tmp_path))
    val, same = resolve_records(None, "val", cache_dir=str(tmp_path))
    assert str(tmp_path) in train and train != val and label_map == same
    with pytest.raises(ValueError, match="split='test'"):
        resolve_records(None, "test", cache_dir=str(tmp_path))
