"""What `convert` leaves on disk when things go wrong: each test builds its
bad input in tmp_path. The two process tests run a real `keras-boxloss
convert` and synchronise on the temporary folder it creates."""

import glob
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from PIL import Image

from keras_boxloss.cli.main import main
from keras_boxloss.data.records import read_records, records_glob

HEADER = "filename,width,height,class,xmin,ymin,xmax,ymax\n"


def _dataset(folder, count, missing=0):
    """`count` small JPEGs (the first `missing` not written) and a CSV of one
    box each; returns the CSV path and the images folder."""
    images = folder / "images"
    images.mkdir(parents=True)
    rows = [HEADER]
    for i in range(count):
        name = f"im{i:04d}.jpg"
        if i >= missing:
            Image.new("RGB", (32, 24), (i % 256, 80, 120)).save(images / name)
        rows.append(f"{name},32,24,{'cat' if i % 2 else 'dog'},2,3,20,18\n")
    (folder / "labels.csv").write_text("".join(rows))
    return folder / "labels.csv", images


def _convert(csv, images, out, *extra):
    return main(["convert", "--annotations", str(csv), "--images",
                 str(images), "--output-dir", str(out), "--no-progress",
                 *extra])


def _snapshot(folder):
    return {name: (folder / name).read_bytes()
            for name in sorted(os.listdir(folder))}


def _count(out, splits=("train", "val")):
    return sum(len(list(read_records(records_glob(str(out), split))))
               for split in splits)


def _leftovers(out):
    return sorted(glob.glob(glob.escape(str(out)) + ".*"))


def test_rerun_needs_overwrite_and_leaves_no_stale_shards(tmp_path, capsys):
    csv, images = _dataset(tmp_path / "src", 10)
    out = tmp_path / "out"
    assert _convert(csv, images, out, "--num-shards", "3") == 0
    first = _snapshot(out)
    assert len(glob.glob(str(out / "train-*"))) == 3
    assert _convert(csv, images, out, "--num-shards", "1") == 2
    assert "--overwrite" in capsys.readouterr().err
    assert _snapshot(out) == first
    assert main(["convert", "--output-dir", str(out)]) == 2  # generated too
    assert _convert(csv, images, out, "--num-shards", "1",
                    "--fractions", "train=0.5,test=0.5", "--overwrite") == 0
    assert sorted(os.listdir(out)) == [
        "conversion_summary.json", "label_map.pbtxt",
        "test-00000-of-00001.tfrecord", "train-00000-of-00001.tfrecord"]
    assert _count(out, ("train", "test")) == 10
    summary = json.loads((out / "conversion_summary.json").read_text())
    assert summary["splits"] == {"train": 5, "test": 5}
    assert {s: w["images"] for s, w in summary["written"].items()} == {
        "train": 5, "test": 5}
    assert _leftovers(out) == []


def test_failed_run_leaves_previous_output_byte_identical(tmp_path, capsys):
    csv, images = _dataset(tmp_path / "src", 6)
    out = tmp_path / "out"
    assert _convert(csv, images, out) == 0
    before = _snapshot(out)
    bad = tmp_path / "bad.csv"
    bad.write_text(csv.read_text().replace(",2,3,20,18\n", ",2,nan,20,18\n",
                                           1))
    assert _convert(bad, images, out, "--overwrite", "--num-shards", "2") == 2
    assert "Expected finite box coordinates" in capsys.readouterr().err
    assert _snapshot(out) == before
    assert _leftovers(out) == []  # no temp folder, no lock


def test_folder_splits_images_with_their_xml(tmp_path, capsys):
    root = tmp_path / "d[x]" / "images"  # glob characters on purpose
    for split, count in (("train", 3), ("test", 2)):
        folder = root / split
        folder.mkdir(parents=True)
        for i in range(count):
            name = f"{split}{i}"
            Image.new("RGB", (40, 30)).save(folder / f"{name}.jpg")
            (folder / f"{name}.xml").write_text(
                f"<annotation><filename>{name}.jpg</filename><size><width>40"
                f"</width><height>30</height></size><object><name>cell</name>"
                f"<bndbox><xmin>1</xmin><ymin>2</ymin><xmax>20</xmax><ymax>"
                f"25</ymax></bndbox></object></annotation>")
    Image.new("RGB", (8, 8)).save(root / "train" / "stray.png")
    out = tmp_path / "out"
    assert main(["convert", "--split", f"train={root / 'train'}", "--split",
                 f"test={root / 'test'}", "--output-dir", str(out),
                 "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "no annotation names them: 1 images" in printed
    assert "stray.png" in printed
    train = list(read_records(records_glob(str(out), "train")))
    assert sorted(r.filename for r in train) == ["train0.jpg", "train1.jpg",
                                                "train2.jpg"]
    assert _count(out, ("test",)) == 2
    summary = json.loads((out / "conversion_summary.json").read_text())
    assert summary["splits"] == {"train": 3, "test": 2}
    assert summary["written"]["test"]["boxes"] == 2
    assert summary["unannotated"] == [str(root / "train" / "stray.png")]
    # Errors: a folder without XML, folders mixed with --annotations.
    (tmp_path / "empty").mkdir()
    assert main(["convert", "--split", f"a={tmp_path / 'empty'}",
                 "--output-dir", str(tmp_path / "o2")]) == 2
    assert "Expected VOC .xml annotations beside the images" in \
        capsys.readouterr().err
    assert main(["convert", "--split", f"a={root / 'test'}", "--annotations",
                 str(root / "test"), "--output-dir",
                 str(tmp_path / "o2")]) == 2
    assert "either --annotations" in capsys.readouterr().err
    assert main(["convert", "--split", f"a={tmp_path / 'nope'}",
                 "--output-dir", str(tmp_path / "o2")]) == 2
    assert "no such folder" in capsys.readouterr().err
    # One file name in two split folders.
    (root / "test" / "train0.xml").write_bytes(
        (root / "train" / "train0.xml").read_bytes())
    assert main(["convert", "--split", f"train={root / 'train'}", "--split",
                 f"test={root / 'test'}", "--output-dir", str(tmp_path / "o2")
                 ]) == 2
    assert "'train0.jpg' in train and test" in capsys.readouterr().err
    assert not (tmp_path / "o2").exists()


def test_output_holding_the_inputs_is_refused(tmp_path, capsys):
    csv, images = _dataset(tmp_path / "src", 4)
    before = _snapshot(images)
    for out in (tmp_path / "src", images):  # --overwrite would delete them
        assert _convert(csv, images, out, "--overwrite") == 2
        assert "apart from the inputs" in capsys.readouterr().err
    # Images found through the annotations (not given) count too.
    from keras_boxloss.data.cleaning import AnnotatedBox, Annotation
    from keras_boxloss.data.conversion import convert_annotations

    annotation = Annotation("im0000.jpg", str(images / "im0000.jpg"),
                            [AnnotatedBox("cat", 1, 1, 9, 9)])
    with pytest.raises(ValueError, match="holds the input"):
        convert_annotations([annotation], str(tmp_path), overwrite=True)
    assert _snapshot(images) == before


@pytest.mark.parametrize("row, received", [
    ("im0000.jpg,32,24,cat\n", "Received: 4 columns"),
    ("im0000.jpg,32,24,cat,1,2,3,4,5\n", "Received: 9 columns")])
def test_csv_row_with_wrong_column_count(tmp_path, capsys, row, received):
    csv, images = _dataset(tmp_path / "src", 2)
    csv.write_text(csv.read_text() + row)
    assert _convert(csv, images, tmp_path / "out") == 2
    error = capsys.readouterr().err
    assert "Expected 8 columns" in error and received in error
    assert f"{csv} line 4" in error
    assert not (tmp_path / "out").exists()


def test_csv_with_all_images_missing_is_an_error(tmp_path, capsys):
    csv, images = _dataset(tmp_path / "src", 5, missing=5)
    out = tmp_path / "out"
    assert _convert(csv, images, out) == 2
    error = capsys.readouterr().err
    assert "Expected images written in split 'train'" in error
    assert "{'missing_image': 4}" in error and "im00" in error
    assert not out.exists() and _leftovers(out) == []
    # Some missing: written, and reported per file (the cleaning policy).
    csv, images = _dataset(tmp_path / "src2", 10, missing=1)
    assert _convert(csv, images, out) == 0
    printed = capsys.readouterr().out
    assert "missing_image: 1" in printed and "im0000.jpg" in printed
    assert _count(out) == 9


def test_output_path_with_glob_characters_reads_back(tmp_path, capsys):
    from keras_boxloss.data.pipeline import make_dataset

    csv, images = _dataset(tmp_path / "src", 6)
    out = tmp_path / "runs[x]" / "data[1]"
    assert _convert(csv, images, out, "--fractions", "train=1") == 0
    pattern = records_glob(str(out), "train")
    assert pattern in capsys.readouterr().out  # the printed glob works
    assert len(list(read_records(pattern))) == 6
    batch = next(iter(make_dataset(pattern, batch_size=6)))
    assert batch["images"].shape[0] == 6
    assert _convert(csv, images, tmp_path / "a,b") == 2
    assert "without ','" in capsys.readouterr().err


def _start(csv, images, out, log):
    """A real `keras-boxloss convert` writing `out` (stderr to `log`)."""
    return subprocess.Popen(
        [sys.executable, "-m", "keras_boxloss.cli.main", "convert",
         "--annotations", str(csv), "--images", str(images), "--output-dir",
         str(out), "--overwrite", "--no-progress"],
        stdout=subprocess.DEVNULL, stderr=log,
        env={**os.environ, "KERAS_BACKEND": "tensorflow"})


def _stop_while_writing(child, out, log_path):
    """Waits (bounded) for the child's temporary folder to hold its first
    shard, then stops the child there (SIGSTOP) and returns that folder."""
    deadline = time.monotonic() + 240
    pattern = glob.escape(str(out)) + ".tmp-*/train-*.tfrecord"
    while time.monotonic() < deadline:
        if child.poll() is not None:
            pytest.fail(f"convert exited {child.returncode} before writing: "
                        f"{log_path.read_text()[-2000:]}")
        shards = glob.glob(pattern)
        if shards:
            child.send_signal(signal.SIGSTOP)
            temp = os.path.dirname(shards[0])
            assert os.path.isdir(temp), "convert finished before the stop"
            return temp
        time.sleep(0.02)  # polling interval of the bounded wait
    child.kill()
    pytest.fail("convert did not start writing within 240 s")


def test_second_concurrent_writer_is_refused(tmp_path, capsys):
    big, big_images = _dataset(tmp_path / "big", 400)
    small, images = _dataset(tmp_path / "small", 4)
    out = tmp_path / "out"
    with open(tmp_path / "child.log", "w") as log:
        child = _start(big, big_images, out, log)
        try:
            _stop_while_writing(child, out, tmp_path / "child.log")
            assert _convert(small, images, out, "--overwrite") == 2
        finally:
            child.send_signal(signal.SIGCONT)
            child.wait(timeout=300)
    error = capsys.readouterr().err
    assert f"no other process writing {out}" in error
    assert f"held by process {child.pid}" in error
    assert child.returncode == 0, (tmp_path / "child.log").read_text()
    assert _count(out) == 400  # the first writer's output, whole
    assert _leftovers(out) == []


def test_kill_during_writing_keeps_previous_output(tmp_path):
    small, images = _dataset(tmp_path / "small", 6)
    out = tmp_path / "out"
    assert _convert(small, images, out) == 0
    before = _snapshot(out)
    big, big_images = _dataset(tmp_path / "big", 400)
    with open(tmp_path / "child.log", "w") as log:
        child = _start(big, big_images, out, log)
        try:
            temp = _stop_while_writing(child, out, tmp_path / "child.log")
        finally:
            child.kill()
            child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL
    assert os.path.isdir(temp)  # killed mid-write: its temp folder is left
    assert _snapshot(out) == before
    assert _count(out) == 6  # reads back whole
    # The next convert removes the dead writer's temp folder; its lock was
    # released by the OS.
    assert _convert(small, images, out, "--overwrite", "--num-shards",
                    "2") == 0
    assert _leftovers(out) == []
    assert _count(out) == 6 and len(glob.glob(str(out / "train-*"))) == 2
