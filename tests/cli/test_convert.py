import json

import pytest

from keras_boxloss.cli.main import build_parser, main
from keras_boxloss.data.records import read_records
from tests.data.conftest import messy_images  # noqa: F401 (fixture)
from tests.data.converters.test_csv import write_csv
from tests.data.converters.test_voc import write_voc


def test_help_explains_each_flag(capsys):
    with pytest.raises(SystemExit):
        main(["convert", "--help"])
    text = capsys.readouterr().out
    for flag in ("--format", "--annotations", "--images", "--output-dir",
                 "--label-map", "--split", "--fractions", "--seed",
                 "--num-shards", "--min-box-size", "--duplicate-iou",
                 "--exif-unclear", "--overwrite",
                 "--no-progress", "--debug"):
        assert flag in text
    assert "convert" in build_parser().format_help()


def test_voc_with_split_files(messy_images, tmp_path, capsys):
    images_dir, images = messy_images
    write_voc(tmp_path / "Annotations", images)
    # an image no .xml names: reported, not written, not passed over
    (images_dir / "no_xml.png").write_bytes((images_dir / "good.png")
                                            .read_bytes())
    (tmp_path / "train.txt").write_text("good\ngrey\nrotated\n")
    (tmp_path / "val.txt").write_text("messy_boxes\n")
    out = tmp_path / "out"
    code = main(["convert", "--annotations", str(tmp_path / "Annotations"),
                 "--images", str(images_dir), "--output-dir", str(out),
                 "--split", f"train={tmp_path / 'train.txt'}",
                 "--split", f"val={tmp_path / 'val.txt'}", "--no-progress"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "Wrote 4 images" in printed
    assert "greyscale: 1" in printed and "grey.jpg" in printed
    assert "in no split file: 6 images" in printed
    train = list(read_records(str(out / "train-*.tfrecord")))
    assert sorted(r.filename for r in train) == ["good.png", "grey.jpg",
                                                "rotated.jpg"]
    summary = json.loads((out / "conversion_summary.json").read_text())
    assert summary["events"]["clipped"]["items"][0]["file"] == \
        "messy_boxes.jpg"
    assert "no annotation names them: 1 images" in printed
    assert summary["unannotated"] == [str(images_dir / "no_xml.png")]


def test_csv_seeded_split_and_label_map(messy_images, tmp_path, capsys):
    images_dir, images = messy_images
    write_csv(tmp_path / "labels.csv", images)
    (tmp_path / "map.pbtxt").write_text(
        "item { id: 1 name: 'cat' }\nitem { id: 2 name: 'dog' }\n")
    out = tmp_path / "out"
    assert main(["convert", "--annotations", str(tmp_path / "labels.csv"),
                 "--images", str(images_dir), "--output-dir", str(out),
                 "--label-map", str(tmp_path / "map.pbtxt"),
                 "--fractions", "a=0.5,b=0.5", "--seed", "1",
                 "--no-progress"]) == 0
    assert "unknown_class: 1" in capsys.readouterr().out
    a = list(read_records(str(out / "a-*.tfrecord")))
    b = list(read_records(str(out / "b-*.tfrecord")))
    assert len(a) + len(b) == 7  # the written images of the fixture
    assert {n for r in a + b for n in r.class_names} == {"cat", "dog"}


def test_without_annotations_writes_the_generated_dataset(tmp_path, capsys):
    assert main(["convert", "--output-dir", str(tmp_path)]) == 0
    assert "generated shapes dataset" in capsys.readouterr().out
    assert len(list(read_records(str(tmp_path / "val-*.tfrecord")))) == 64


@pytest.mark.parametrize("extra, message", [
    (["--split", "train"], "expected --split NAME=VALUE, got 'train'"),
    (["--fractions", "train=x"], "expected numbers in --fractions"),
    (["--num-shards", "0"], "--num-shards must be positive"),
])
def test_bad_flags_are_one_line_errors(tmp_path, capsys, extra, message):
    write_csv(tmp_path / "labels.csv", [])
    code = main(["convert", "--annotations", str(tmp_path / "labels.csv"),
                 "--output-dir", str(tmp_path / "out"), *extra])
    assert code == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and message in error
    assert error.startswith("keras-boxloss convert: error: ")


def test_missing_input_is_one_line_and_debug_raises(tmp_path, capsys):
    args = ["convert", "--annotations", str(tmp_path / "nope.csv"),
            "--output-dir", str(tmp_path / "out")]
    assert main(args) == 2
    assert "No such annotations path" in capsys.readouterr().err
    with pytest.raises(FileNotFoundError):
        main(["--debug", *args])
