"""The Model Garden Faster R-CNN in `compare`: per-run configs, chunked
training that resumes from checkpoints, curves and evaluation."""

import json
from pathlib import Path

import pytest

pytest.importorskip("official.vision")

from keras_boxloss.compare import garden_runner  # noqa: E402
from keras_boxloss.compare.data import prepare_data  # noqa: E402
from keras_boxloss.compare.plan import Run  # noqa: E402

CONFIGS = Path(__file__).resolve().parents[2] / "model_garden_configs"
SMALL = CONFIGS / "faster_rcnn" / "generated_cpu.yaml"


@pytest.fixture(scope="module")
def splits(tmp_path_factory):
    from keras_boxloss.data.generated import write_generated_dataset

    folder = tmp_path_factory.mktemp("garden_compare_data")
    write_generated_dataset(str(folder), {"train": 8, "val": 4})
    return prepare_data(str(folder), str(folder))


def test_tells_model_garden_configs_from_ours():
    from keras_boxloss.compare.runner import detector_of, read_config

    assert detector_of(read_config(SMALL)) == "faster_rcnn"
    assert detector_of(read_config(
        CONFIGS / "ssd" / "ssd_tiny_generated.yaml")) == "ssd"


def test_chunk_ends():
    assert garden_runner.chunk_ends(200, 70) == [70, 140, 200]
    assert garden_runner.chunk_ends(5, None) == [5]
    assert garden_runner.chunk_ends(5, 50) == [5]


def test_run_params_set_loss_data_classes_and_chunk_seed(splits):
    params = garden_runner.run_params(SMALL, Run("giou", 2), splits,
                                      "trainer.steps_per_loop=1", 7, chunk=3)
    task = params.task
    assert task.rpn_box_loss.type == task.frcnn_box_loss.type == "giou"
    assert task.frcnn_box_loss.delta is None  # Huber's delta dropped
    assert task.train_data.input_path == splits.train
    assert task.train_data.seed == 2003
    assert task.model.num_classes == 4  # 3 shapes + background
    assert params.trainer.train_steps == 7
    assert params.trainer.steps_per_loop == 1


def test_run_params_reject_a_misspelt_override(splits):
    with pytest.raises(KeyError, match="steps_per_lop"):
        garden_runner.run_params(SMALL, Run("huber", 0), splits,
                                 "trainer.steps_per_lop=1")


def test_trains_in_chunks_records_curves_and_evaluates(splits, tmp_path):
    steps = []
    folder = tmp_path / "run"
    overrides = ("trainer.steps_per_loop=1,trainer.summary_interval=1,"
                 "trainer.checkpoint_interval=1")
    metrics = garden_runner.train_and_evaluate(
        SMALL, Run("smooth_iou", 0), splits, str(folder), overrides,
        steps=2, on_steps=steps.append, curve_every=1)
    assert sum(steps) == 2 and len(steps) == 2
    assert (metrics["loss"], metrics["detector"]) == ("smooth_iou",
                                                      "faster_rcnn")
    assert 0.0 <= metrics["AP50"] <= 1.0
    curves = json.loads((folder / "curves.json").read_text())
    assert [p["step"] for p in curves] == [1, 2]
    assert all(p["box_loss"] is not None and p["rpn_box_loss"] is not None
               for p in curves)
    # cumulative training time, evaluation not included
    assert 0 < curves[0]["train_seconds"] < curves[1]["train_seconds"]
    assert metrics["train_seconds"] == curves[1]["train_seconds"]
    assert (folder / "ckpt-2.index").exists()
    assert json.loads((folder / "metrics.json").read_text())["steps"] == 2
    # A finished chunk is not trained again; evaluation alone re-runs.
    steps.clear()
    garden_runner.train_and_evaluate(
        SMALL, Run("smooth_iou", 0), splits, str(folder), overrides,
        steps=2, on_steps=steps.append, curve_every=1)
    assert steps == [2]  # the progress bar catches up, no training


@pytest.mark.parametrize("evaluation, evaluations", [
    ("val-*", [("val-*", 1), ("val-*", 2)]),  # the last point is reused
    ("test-*", [("val-*", 1), ("val-*", 2), ("test-*", 2)])])
def test_the_last_curve_point_is_not_evaluated_twice(
        monkeypatch, tmp_path, evaluation, evaluations):
    """The loop without Model Garden: with `--evaluate-on validation` the
    curve's last point already evaluated the final checkpoint on the same
    records; a held-out split of its own is evaluated apart."""
    from types import SimpleNamespace

    from keras_boxloss.compare.data import DataSplits

    calls = []
    monkeypatch.setattr(garden_runner, "run_params",
                        lambda *a, **k: SimpleNamespace(step=a[4]))
    monkeypatch.setattr(garden_runner, "train_chunk", lambda *a: None)
    monkeypatch.setattr(garden_runner, "train_summaries", lambda d: {})

    def evaluate(params, model_dir, pattern, label_map):
        calls.append((pattern, params.step))
        return ({"AP": 0.3, "AP50": 0.5, "mean_iou_every_prediction": 0.4,
                 "step": params.step},
                [{"source_id": "x", "boxes": [], "scores": [], "classes": []}])

    monkeypatch.setattr(garden_runner, "evaluate", evaluate)
    splits = DataSplits("train-*", evaluation, "val-*", None, "x")
    metrics = garden_runner.train_and_evaluate(
        SMALL, Run("giou", 0), splits, str(tmp_path), steps=2,
        curve_every=1)
    assert calls == evaluations
    assert metrics["step"] == 2 and metrics["steps"] == 2


def test_same_seed_same_initial_weights_across_losses(splits, tmp_path):
    import numpy as np

    def initial_weights(loss, seed):
        params = garden_runner.run_params(SMALL, Run(loss, seed), splits)
        _, task = garden_runner.build_task(params, str(tmp_path), seed)
        model = task.build_model()
        return model.get_weights()

    huber, ciou = initial_weights("huber", 0), initial_weights("ciou", 0)
    assert len(huber) == len(ciou) > 0
    for a, b in zip(huber, ciou):
        np.testing.assert_array_equal(a, b)
    other = initial_weights("huber", 1)
    assert any(not np.array_equal(a, b) for a, b in zip(huber, other))


def _save_checkpoints(folder, steps):
    import tensorflow as tf

    step = tf.Variable(0, dtype=tf.int64)
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(step=step),
                                         str(folder), max_to_keep=None)
    for value in steps:
        step.assign(value)
        manager.save(checkpoint_number=value)


def _checkpoint_steps(folder):
    import tensorflow as tf

    state = tf.train.get_checkpoint_state(str(folder))
    return [int(p.rsplit("-", 1)[1]) for p in state.all_model_checkpoint_paths]


def test_rewinds_a_checkpoint_inside_a_chunk_to_the_chunk_start(tmp_path):
    import tensorflow as tf

    _save_checkpoints(tmp_path, [100, 250, 350, 450])
    starts = [0, 250, 500, 750]
    assert garden_runner.rewind_to_chunk_start(str(tmp_path), starts) == 250
    assert _checkpoint_steps(tmp_path) == [100, 250]
    assert tf.train.latest_checkpoint(str(tmp_path)).endswith("ckpt-250")
    assert not list(tmp_path.glob("ckpt-350.*"))
    assert not list(tmp_path.glob("ckpt-450.*"))
    # At a chunk start there is nothing to rewind.
    assert garden_runner.rewind_to_chunk_start(str(tmp_path), starts) == 250
    assert _checkpoint_steps(tmp_path) == [100, 250]


def test_rewinds_to_zero_without_a_chunk_start_checkpoint(tmp_path):
    _save_checkpoints(tmp_path, [100, 200])
    assert garden_runner.rewind_to_chunk_start(str(tmp_path), [0, 250]) == 0
    assert not (tmp_path / "checkpoint").exists()
    assert not list(tmp_path.glob("ckpt-*"))
    assert garden_runner.rewind_to_chunk_start(str(tmp_path), [0, 250]) == 0


# Two minutes of Model Garden training on 2 cores; the rewind it relies on
# is tested directly above (`rewind_to_chunk_start`).
@pytest.mark.slow
def test_an_interrupted_chunk_is_trained_again_from_its_start(splits,
                                                             tmp_path):
    folder = tmp_path / "run"
    overrides = ("trainer.steps_per_loop=1,trainer.summary_interval=1,"
                 "trainer.checkpoint_interval=1")
    run = Run("huber", 0)
    # Stopped after step 1 of the chunk 0 -> 2.
    params = garden_runner.run_params(SMALL, run, splits, overrides, 1)
    garden_runner.train_chunk(params, str(folder), run.seed)
    assert (folder / "ckpt-1.index").exists()
    steps = []
    garden_runner.train_and_evaluate(SMALL, run, splits, str(folder),
                                     overrides, steps=2,
                                     on_steps=steps.append, curve_every=2)
    assert steps == [2]  # from step 0; resuming at 1 would report [1, 1]
    assert (folder / "ckpt-2.index").exists()
