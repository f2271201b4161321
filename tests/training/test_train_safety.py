"""`train` never loses or silently spoils a run: finished runs are left
alone or continued exactly, other configs are refused before any write,
step counts are exact, and bad input or a diverging loss is a clear error.
"""

import json
import re
import shutil
import struct
import warnings

import keras
import numpy as np
import pytest

from keras_boxloss.cli.main import main
from keras_boxloss.data.records import list_record_files, read_records
from keras_boxloss.training import run_state
from keras_boxloss.training.config import load_config
from keras_boxloss.training.train import build_model, train

# As small as the SSD gets: each training here compiles in a few seconds.
TINY = ["model.image_size=64", "model.num_layers=3", "data.batch_size=4",
        "data.max_boxes=12", "data.shuffle_buffer=8",
        "trainer.jit_compile=false", "optimizer.learning_rate=0.003"]


def tiny_config(generated, *overrides):
    return load_config(None, [f"data.train={generated['train']}", *TINY,
                              *overrides])


def snapshot(folder):
    """Every file under `folder` with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


class CountSteps(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.batches = 0

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1


@pytest.fixture(scope="module")
def finished(generated, tmp_path_factory):
    """A run finished at 4 steps (2 epochs of 2), never modified: tests
    copy it."""
    folder = tmp_path_factory.mktemp("finished") / "run"
    config = tiny_config(generated, "trainer.steps=4",
                         "trainer.steps_per_epoch=2")
    model, _ = train(config, folder, verbose=0)
    return folder, config, [w.numpy() for w in model.weights]


def copy_of(finished, tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(finished[0], folder)
    return folder


def test_a_finished_run_is_left_alone(finished, tmp_path, capsys):
    folder = copy_of(finished, tmp_path)
    before = snapshot(folder)
    assert json.loads((folder / run_state.DONE).read_text()) == {"steps": 4}
    assert not (folder / "backup").exists()
    model, history = train(finished[1], folder, verbose=0)
    assert history is None
    for weight, expected in zip(model.weights, finished[2]):
        np.testing.assert_array_equal(weight.numpy(), expected)
    (tmp_path / "c.yaml").write_text("")
    argv = ["train", "--config", str(tmp_path / "c.yaml"), "--model-dir",
            str(folder), "--set", f"data.train={finished[1].data.train}",
            *(f"--set={o}" for o in TINY), "--set", "trainer.steps=4",
            "--set", "trainer.steps_per_epoch=2"]
    assert main(argv) == 0
    assert "is complete (4 steps)" in capsys.readouterr().out
    assert snapshot(folder) == before


@pytest.fixture(scope="module")
def continued(finished, generated, tmp_path_factory):
    """The finished 4-step run continued to 6 steps."""
    folder = tmp_path_factory.mktemp("continued") / "run"
    shutil.copytree(finished[0], folder)
    config = tiny_config(generated, "trainer.steps=6",
                         "trainer.steps_per_epoch=2")
    counter = CountSteps()
    model, history = train(config, folder, verbose=0, callbacks=[counter])
    return folder, config, model, history, counter.batches


def test_a_larger_steps_continues_with_the_missing_steps(continued):
    folder, _, model, history, batches = continued
    assert batches == 2 and history.epoch == [2]
    assert int(model.optimizer.iterations) == 6  # 4 restored + 2
    assert json.loads((folder / run_state.DONE).read_text()) == {"steps": 6}
    assert load_config(folder / "config.yaml").trainer.steps == 6


@pytest.mark.slow  # one more training: ~15 s on 2 busy cores
def test_a_continued_run_equals_an_uninterrupted_one(continued, tmp_path):
    # 4 steps then 2 more = 6 steps straight: the same batches, optimizer
    # state and weights.
    _, config, model, _, _ = continued
    straight, _ = train(config, tmp_path / "straight", verbose=0)
    for a, b in zip(model.weights, straight.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5,
                                   atol=1e-6)


def test_a_different_config_is_refused_before_any_write(finished, generated,
                                                        tmp_path):
    folder = copy_of(finished, tmp_path)
    before = snapshot(folder)
    config = tiny_config(generated, "trainer.steps=4",
                         "trainer.steps_per_epoch=2",
                         "optimizer.learning_rate=0.01", "model.num_layers=4")
    with pytest.raises(ValueError) as error:
        train(config, folder, verbose=0)
    message = str(error.value)
    assert "model.num_layers: 3 -> 4" in message
    assert "optimizer.learning_rate: 0.003 -> 0.01" in message
    assert "trainer.steps:" not in message and "--overwrite" in message
    fewer = tiny_config(generated, "trainer.steps=2",
                        "trainer.steps_per_epoch=2")
    with pytest.raises(ValueError, match=r"trainer.steps >= 4.*"
                                         r"Received: trainer.steps=2"):
        train(fewer, folder, verbose=0)
    assert snapshot(folder) == before


@pytest.mark.parametrize("override, field", [
    ("trainer.steps_per_epoch=0", "trainer.steps_per_epoch"),
    ("trainer.steps_per_epoch=-2", "trainer.steps_per_epoch"),
    ("trainer.steps=-5", "trainer.steps"),
    ("trainer.steps=0", "trainer.steps"),
])
def test_step_counts_must_be_positive(override, field):
    with pytest.raises(ValueError, match=rf"`{field}` to be a positive "
                                         rf"integer.*Received: {field}=-?\d"):
        load_config(None, [override])


def test_overwrite_retrains_exactly_the_steps_asked_once_checks_pass(
        finished, generated, tmp_path, capsys, monkeypatch):
    from keras_boxloss.training import train as train_module

    folder = copy_of(finished, tmp_path)
    (folder / "predictions.json").write_text("[]")  # made from the old run
    (folder / "notes.txt").write_text("mine")       # not the run's: kept
    before = snapshot(folder)
    bad = tiny_config(generated, "trainer.steps=2",
                      "trainer.steps_per_epoch=2", "model.num_classes=2")
    with pytest.raises(ValueError, match="model.num_classes"):
        train(bad, folder, verbose=0, overwrite=True)
    assert snapshot(folder) == before
    models = []
    real_train = train_module.train

    def recording_train(*args, **kwargs):
        models.append(real_train(*args, **kwargs))
        return models[-1]

    monkeypatch.setattr(train_module, "train", recording_train)
    (tmp_path / "c.yaml").write_text("")
    # 5 steps of 2 per epoch: epochs of 2, 2 and 1, 5 optimizer updates.
    argv = ["train", "--config", str(tmp_path / "c.yaml"), "--model-dir",
            str(folder), "--set", f"data.train={generated['train']}",
            *(f"--set={o}" for o in TINY), "--set", "trainer.steps=5",
            "--set", "trainer.steps_per_epoch=2", "--set", "trainer.seed=1",
            "--no-progress"]
    assert main(argv) == 2  # a changed config without --overwrite
    assert "trainer.seed: 0 -> 1" in capsys.readouterr().err
    assert snapshot(folder) == before
    assert main([*argv, "--overwrite"]) == 0
    (model, history), = models
    assert int(model.optimizer.iterations) == 5
    assert history.epoch == [0, 1, 2]
    assert "Trained 5 steps, 5 in all" in capsys.readouterr().out
    assert not (folder / "predictions.json").exists()
    assert (folder / "notes.txt").read_text() == "mine"
    assert load_config(folder / "config.yaml").trainer.seed == 1
    assert json.loads((folder / run_state.DONE).read_text()) == {"steps": 5}


def write_label_map(path, ids):
    path.write_text("".join(f"item {{\n  id: {i}\n  name: 'c{i}'\n}}\n"
                            for i in ids))
    return path


def first_record_with(pattern, class_id):
    for path in list_record_files(pattern):
        for index, record in enumerate(read_records(path)):
            if class_id in record.classes:
                return f"{path} record {index}"


def test_num_classes_is_checked_against_label_map_and_data(generated,
                                                           tmp_path):
    largest = max(int(c) for r in read_records(generated["train"])
                  for c in r.classes)
    assert largest == 3  # the generated data's classes are 1..3
    label_map = write_label_map(tmp_path / "five.pbtxt", [1, 2, 3, 4, 5])
    config = tiny_config(generated, f"data.label_map={label_map}",
                         "model.num_classes=4")
    with pytest.raises(ValueError, match=rf"model.num_classes >= 5.*"
                                         rf"{label_map}.*num_classes=4"):
        run_state.check_training_data(config)
    config = tiny_config(generated, "model.num_classes=2")
    where = first_record_with(generated["train"], 3)
    with pytest.raises(ValueError) as error:
        run_state.check_training_data(config)
    assert "model.num_classes >= 3" in str(error.value)
    assert where in str(error.value) and "num_classes=2" in str(error.value)
    assert "(model.ssd.num_classes in a pipeline.config)" in str(error.value)
    # before any file is written
    with pytest.raises(ValueError, match="num_classes"):
        train(config, tmp_path / "run", verbose=0)
    assert not (tmp_path / "run").exists()
    with pytest.warns(UserWarning, match=r"num_classes=4 is larger than 3"):
        run_state.check_training_data(tiny_config(generated,
                                                  "model.num_classes=4"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run_state.check_training_data(tiny_config(generated,
                                                  "model.num_classes=3"))


def record_offsets(path):
    """(start, data start, end) of each record, from the TFRecord framing:
    length (uint64), its CRC (4 bytes), data, the data's CRC (4 bytes)."""
    data, offsets, at = path.read_bytes(), [], 0
    while at < len(data):
        (length,) = struct.unpack("<Q", data[at:at + 8])
        offsets.append((at, at + 12, at + 12 + length + 4))
        at += 12 + length + 4
    return offsets


@pytest.mark.parametrize("damage", ["truncated", "garbled"])
def test_a_corrupt_record_names_file_and_record(generated, tmp_path, damage):
    shard = tmp_path / "data" / "train-00000-of-00001.tfrecord"
    shard.parent.mkdir()
    shutil.copy(list_record_files(generated["train"])[0], shard)
    offsets = record_offsets(shard)
    bad = 5
    start, data_start, end = offsets[bad]
    content = bytearray(shard.read_bytes())
    if damage == "truncated":
        content = content[:(data_start + end) // 2]
    else:
        content[data_start + 10] ^= 0xFF
    shard.write_bytes(bytes(content))
    config = tiny_config(generated, f"data.train={shard}")
    with pytest.raises(ValueError, match=rf"{shard}.*record {bad} "):
        train(config, tmp_path / "run", verbose=0)
    assert not (tmp_path / "run").exists()


class PoisonAtStep(keras.callbacks.Callback):
    """Sets every weight to NaN after global step `step` (1-based)."""

    def __init__(self, step, steps_per_epoch):
        super().__init__()
        self.step, self.steps_per_epoch = step, steps_per_epoch

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.epoch * self.steps_per_epoch + batch + 1 == self.step:
            for weight in self.model.trainable_weights:
                weight.assign(np.full(weight.shape, np.nan, "float32"))


def test_a_nan_loss_stops_training_and_keeps_the_last_good_checkpoint(
        generated, tmp_path):
    config = tiny_config(generated, "trainer.steps=6",
                         "trainer.steps_per_epoch=2")
    folder = tmp_path / "run"
    # poisoned after step 3: step 4's loss is NaN
    with pytest.raises(ValueError, match=re.escape(
            "loss=nan at step 4 (epoch 2)") + r".*the checkpoint of step 2 "
            r"is kept"):
        train(config, folder, verbose=0, callbacks=[PoisonAtStep(3, 2)])
    assert not (folder / run_state.DONE).exists()
    assert run_state.backup_epochs(folder) == 1
    for path in (folder / "model.weights.h5",
                 folder / "backup" / "latest.weights.h5"):
        model = build_model(config)
        model.load_weights(path)
        assert all(np.all(np.isfinite(w.numpy())) for w in model.weights)


def test_nan_weights_at_an_epoch_end_are_never_checkpointed(tmp_path):
    # Poisoned after an epoch's last step: its loss was finite, but the
    # epoch's checkpoints would save NaN weights. A Dense model stands in
    # for the detector: the guard only sees weights and logs.
    from keras_boxloss.training.guards import StopOnNaN

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((8, 3), "float32"), np.zeros((8, 2), "float32")
    path = tmp_path / "model.weights.h5"
    with pytest.raises(ValueError, match=r"non-finite value in weight "
                                         r".*at the end of epoch 2"):
        model.fit(x, y, batch_size=2, epochs=3, verbose=0, callbacks=[
            StopOnNaN(4, tmp_path),
            keras.callbacks.ModelCheckpoint(str(path),
                                            save_weights_only=True),
            PoisonAtStep(8, 4)])
    model.load_weights(path)  # epoch 1's
    assert all(np.all(np.isfinite(w.numpy())) for w in model.weights)
