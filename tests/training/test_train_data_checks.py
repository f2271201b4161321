"""`train`'s one pass over the training labels before anything is written,
and what `--overwrite` removes. Each test builds its input in tmp_path;
no training runs."""

import shutil
import struct

import numpy as np
import pytest

from keras_boxloss.cli.main import main
from keras_boxloss.data import records as records_module
from keras_boxloss.data.records import (image_keys, list_record_files,
                                        read_records)
from keras_boxloss.evaluation.predictions import save_predictions
from keras_boxloss.training import run_state
from keras_boxloss.training.config import load_config


def config_for(train, *overrides):
    return load_config(None, [f"data.train={train}", *overrides])


def copy_shard(generated, folder):
    shard = folder / "train-00000-of-00001.tfrecord"
    folder.mkdir()
    shutil.copy(list_record_files(generated["train"])[0], shard)
    return shard


def record_starts(path):
    """Where each record starts, from the TFRecord framing: length
    (uint64), its CRC (4 bytes), data, the data's CRC (4 bytes)."""
    data, starts, at = path.read_bytes(), [], 0
    while at < len(data):
        starts.append(at)
        (length,) = struct.unpack("<Q", data[at:at + 8])
        at += 12 + length + 4
    return starts


@pytest.mark.parametrize("into_header", [1, 6, 11])
def test_a_file_cut_inside_a_record_header_names_the_record(
        generated, tmp_path, into_header):
    # TensorFlow reads such a file as ending after record 4, no error: the
    # records before the cut would train and the rest be lost silently.
    shard = copy_shard(generated, tmp_path / "data")
    cut = record_starts(shard)[5] + into_header
    shard.write_bytes(shard.read_bytes()[:cut])
    with pytest.raises(ValueError, match=rf"{shard}\. Received: record 5 "
                                         rf".*truncated: the file ends "
                                         rf"{into_header} bytes into it"):
        run_state.check_training_data(config_for(shard))


def test_labels_are_read_once_and_checked_against_the_label_map(
        generated, tmp_path, monkeypatch):
    scans = []
    real_scan = records_module.scan_labels

    def counting_scan(*args, **kwargs):
        scans.append(args[0])
        return real_scan(*args, **kwargs)

    monkeypatch.setattr(records_module, "scan_labels", counting_scan)
    run_state.check_training_data(config_for(generated["train"]))
    assert scans == [generated["train"]]
    # the same pass checks class/text against the label map's names
    wrong = tmp_path / "wrong.pbtxt"
    wrong.write_text("".join(f"item {{ id: {i} name: 'c{i}' }}\n"
                             for i in (1, 2, 3)))
    with pytest.raises(ValueError, match=r"Expected class/text to name the "
                                         rf"class/label in the label map "
                                         rf"{wrong}.* record \d+ object \d+"):
        run_state.check_training_data(config_for(
            generated["train"], f"data.label_map={wrong}"))


def test_overwrite_removes_every_file_evaluate_wrote(generated, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    truth = list(read_records(generated["val"]))
    save_predictions([{"source_id": key, "boxes": record.boxes,
                       "scores": np.full(len(record.boxes), 0.9),
                       "classes": record.classes}
                      for key, record in zip(image_keys(truth), truth)],
                     run / "predictions.json")
    assert main(["evaluate", "--predictions", str(run / "predictions.json"),
                 "--data", generated["val"], "--visualize", "1",
                 "--no-progress"]) == 0
    written = sorted(p.name for p in run.iterdir())
    assert len(written) > 3  # metrics, per-class table, curves, drawings
    plan = run_state.plan_run(config_for(generated["train"]), run,
                              overwrite=True)
    assert sorted(p.name for p in plan.remove) == written
