"""`compare` end to end on the generated dataset with the SSD: outputs,
identical initialisation and data order per seed, resume and refusal."""

import json

import numpy as np
import pytest

from keras_boxloss.compare import compare as compare_lib
from keras_boxloss.compare import keras_runner
from keras_boxloss.compare.plan import Run

# learning rate 0: weights stay at their initial values, batch-norm moving
# statistics follow the data, so equal weights mean equal init and batches.
OVERRIDES = ["trainer.steps_per_epoch=2", "trainer.jit_compile=false",
             "data.batch_size=4", "optimizer.learning_rate=0.0"]
LOSSES, SEEDS = ["huber", "giou"], [0, 1]


def _compare(out_dir, cache_dir, **kwargs):
    from keras_boxloss.cli.compare import default_config

    options = dict(overrides=OVERRIDES, steps=2, progress=False,
                   cache_dir=cache_dir)
    options.update(kwargs)
    return compare_lib.compare(default_config(), LOSSES, SEEDS, out_dir,
                               **options)


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    out = tmp_path_factory.mktemp("compare")
    cache = tmp_path_factory.mktemp("cache")
    return out, cache, _compare(str(out), str(cache))


def _weights(out, run):
    from keras_boxloss.training.train import load_trained

    _, model = load_trained(Run(*run).folder(str(out)))
    return model.get_weights()


def test_writes_tables_json_and_plots(compared, capsys):
    out, _, summary = compared
    assert set(summary["metrics"]["AP50"]) == set(LOSSES)
    assert summary["metrics"]["AP50"]["giou"]["n"] == 2
    saved = json.loads((out / "summary.json").read_text())
    assert saved["losses"] == LOSSES and saved["seeds"] == SEEDS
    assert saved["environment"]["op_determinism"] is True  # runs set it
    assert saved["environment"]["tensorflow"].startswith("2.")
    assert "| huber |" in (out / "results.md").read_text()
    for name in ("metrics.png", "curves.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for loss in LOSSES:
        for seed in SEEDS:
            folder = out / "runs" / f"{loss}-seed{seed}"
            metrics = json.loads((folder / "metrics.json").read_text())
            assert (metrics["loss"], metrics["seed"]) == (loss, seed)
            assert 0.0 <= metrics["mean_iou_every_prediction"] <= 1.0
            (point,) = json.loads((folder / "curves.json").read_text())
            assert point["step"] == 2
            assert np.isfinite([point["loss"], point["box_loss"]]).all()
            # training time, kept in the curve so a resumed run adds to it
            assert point["train_seconds"] > 0
            assert metrics["train_seconds"] == point["train_seconds"]


def test_same_seed_same_init_and_data_across_losses(compared):
    out, _, _ = compared
    huber, giou = _weights(out, ("huber", 0)), _weights(out, ("giou", 0))
    for a, b in zip(huber, giou):
        np.testing.assert_array_equal(a, b)
    other_seed = _weights(out, ("huber", 1))
    assert any(not np.array_equal(a, b) for a, b in zip(huber, other_seed))


def test_losses_differ_within_a_seed(compared):
    out, _, _ = compared
    points = [json.loads((out / "runs" / f"{loss}-seed0" / "curves.json")
                         .read_text())[0]["box_loss"] for loss in LOSSES]
    assert points[0] != points[1]


def test_rerun_resumes_only_unfinished_runs(compared, monkeypatch):
    out, cache, summary = compared
    calls = []
    real = keras_runner.train_and_evaluate

    def counting(config, run, *args, **kwargs):
        calls.append(run)
        return real(config, run, *args, **kwargs)

    monkeypatch.setattr(keras_runner, "train_and_evaluate", counting)
    assert _compare(str(out), str(cache))["metrics"] == summary["metrics"]
    assert calls == []
    (out / "runs" / "giou-seed1" / "metrics.json").unlink()  # interrupted
    _compare(str(out), str(cache))
    assert calls == [Run("giou", 1)]


def test_changed_settings_are_refused(compared):
    out, cache, _ = compared
    with pytest.raises(ValueError, match="Expected the same steps .*"
                                         "steps=3 \\(was 2\\)"):
        _compare(str(out), str(cache), steps=3)


def test_yolo_refuses_huber_before_training(tmp_path):
    from pathlib import Path

    config = (Path(__file__).resolve().parents[2] / "model_garden_configs"
              / "yolo" / "yolo_v1_tiny_generated.yaml")
    with pytest.raises(ValueError, match="IoU-family loss for the yolo_v1"):
        compare_lib.compare(str(config), ["huber", "ciou"], [0],
                            str(tmp_path), progress=False,
                            cache_dir=str(tmp_path))
    assert not (tmp_path / "runs").exists()


def test_yolo_compares_iou_family_losses(tmp_path):
    from pathlib import Path

    config = (Path(__file__).resolve().parents[2] / "model_garden_configs"
              / "yolo" / "yolo_v1_tiny_generated.yaml")
    summary = compare_lib.compare(
        str(config), ["giou", "smooth_iou"], [0], str(tmp_path),
        overrides=["trainer.steps_per_epoch=2", "trainer.jit_compile=false",
                   "data.batch_size=4"], steps=2, progress=False,
        cache_dir=str(tmp_path / "cache"))
    assert set(summary["metrics"]["AP50"]) == {"giou", "smooth_iou"}
    metrics = json.loads((tmp_path / "runs" / "smooth_iou-seed0" /
                          "metrics.json").read_text())
    assert metrics["detector"] == "yolo_v1"


def test_progress_counts_the_epochs_a_resumed_run_had_done():
    counted = []
    progress = keras_runner.StepProgress(counted.append, steps_per_epoch=50)
    progress.on_epoch_begin(3)        # fit restarted at epoch 3 of a backup
    progress.on_train_batch_end(0)
    progress.on_epoch_begin(4)
    assert counted == [150, 1]
    fresh = []
    progress = keras_runner.StepProgress(fresh.append, steps_per_epoch=50)
    progress.on_epoch_begin(0)
    progress.on_epoch_begin(1)
    assert fresh == []
