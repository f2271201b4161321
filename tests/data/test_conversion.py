import json
import os

import pytest

from keras_boxloss.data.cleaning import AnnotatedBox, Annotation
from keras_boxloss.data.conversion import (SUMMARY_FILE, convert_annotations,
                                           seeded_split, split_from_files)
from keras_boxloss.data.records import list_record_files, read_records


def _annotations(count):
    return [Annotation(f"img{i:02d}.jpg", f"/nowhere/img{i:02d}.jpg",
                       [AnnotatedBox("cat", 0, 0, 1, 1)]) for i in range(count)]


def test_seeded_split_is_deterministic_disjoint_and_complete():
    annotations = _annotations(20)
    first = seeded_split(annotations, {"train": 0.75, "val": 0.25}, seed=3)
    again = seeded_split(annotations, {"train": 0.75, "val": 0.25}, seed=3)
    other = seeded_split(annotations, {"train": 0.75, "val": 0.25}, seed=4)
    names = {k: [a.filename for a in v] for k, v in first.items()}
    assert names == {k: [a.filename for a in v] for k, v in again.items()}
    assert names != {k: [a.filename for a in v] for k, v in other.items()}
    assert len(names["train"]) == 15 and len(names["val"]) == 5
    assert sorted(names["train"] + names["val"]) == [
        a.filename for a in annotations]
    with pytest.raises(ValueError, match="sum to 1"):
        seeded_split(annotations, {"train": 0.5})


def test_split_files_match_names_or_stems(tmp_path):
    annotations = _annotations(4)
    (tmp_path / "train.txt").write_text("img00\nimg01.jpg\n")
    (tmp_path / "test.csv").write_text("filename,class\nimg02.jpg,cat\n"
                                       "img02.jpg,cat\n")
    splits, unassigned = split_from_files(
        annotations, {"train": tmp_path / "train.txt",
                      "test": tmp_path / "test.csv"})
    assert [a.filename for a in splits["train"]] == ["img00.jpg", "img01.jpg"]
    assert [a.filename for a in splits["test"]] == ["img02.jpg"]
    assert unassigned == ["img03.jpg"]
    (tmp_path / "val.txt").write_text("img01\n")
    with pytest.raises(ValueError, match="img01.jpg' in train and val"):
        split_from_files(annotations, {"train": tmp_path / "train.txt",
                                       "val": tmp_path / "val.txt"})
    (tmp_path / "val.txt").write_text("img09\n")
    with pytest.raises(ValueError, match=r"'img09' listed in split file"):
        split_from_files(annotations, {"val": tmp_path / "val.txt"})


def test_conversion_writes_shards_summary_and_reports_unassigned(
        messy_images, tmp_path):
    images_dir, images = messy_images
    annotations = [Annotation(i.filename, str(images_dir / i.filename),
                              [AnnotatedBox(*o) for o in i.objects],
                              i.width, i.height) for i in images]
    (tmp_path / "train.txt").write_text("good\ngrey\nrgba\n")
    (tmp_path / "val.txt").write_text("bitmap\n")
    out = tmp_path / "out"
    paths, report = convert_annotations(
        annotations, str(out), split_files={"train": tmp_path / "train.txt",
                                            "val": tmp_path / "val.txt"},
        num_shards=2)
    assert len(list_record_files(paths["train"])) == 2
    train = list(read_records(paths["train"]))
    assert sorted(r.filename for r in train) == ["good.png", "grey.jpg",
                                                "rgba.png"]
    # Source ids: positions in file-name order, whatever the split.
    assert {r.filename: r.source_id for r in train} == {
        "good.png": "3", "grey.jpg": "4", "rgba.png": "8"}
    assert report.not_in_split == [
        "empty.jpg", "messy_boxes.jpg", "missing.jpg", "resized.jpg",
        "rotated.jpg", "truncated.jpg"]
    assert "in no split file: 6 images" in report.format_summary()
    summary = json.loads((out / SUMMARY_FILE).read_text())
    assert summary["splits"] == {"train": 3, "val": 1}
    assert summary["events"]["greyscale"]["items"] == [
        {"file": "grey.jpg", "detail": "mode L"}]
    assert os.path.exists(paths["label_map"])


def test_presplit_annotations_and_refusals(tmp_path):
    annotations = _annotations(3)
    with pytest.raises(ValueError, match="either annotations .* or splits"):
        convert_annotations(annotations, str(tmp_path / "out"),
                            splits={"train": annotations})
    with pytest.raises(ValueError, match="Expected annotations to convert"):
        convert_annotations([], str(tmp_path / "out"))
    # Images at /nowhere: the split is empty, an error unless allowed.
    split = {"a": annotations[:2], "b": annotations[2:]}
    with pytest.raises(ValueError, match=r"split 'a'. Received: all 2 of its "
                                         r"images skipped .*/nowhere/img00"):
        convert_annotations(None, str(tmp_path / "out"), splits=split)
    assert not (tmp_path / "out").exists()
    paths, report = convert_annotations(
        None, str(tmp_path / "out"), allow_empty_splits=True, splits=split)
    summary = json.loads((tmp_path / "out" / SUMMARY_FILE).read_text())
    assert summary["splits"] == {"a": 2, "b": 1}
    assert summary["written"]["a"] == {
        "images": 0, "boxes": 0, "shards": ["a-00000-of-00001.tfrecord"]}
    assert report.count("missing_image") == 3
