"""Validation while training: TensorBoard scalars and images, best/,
early stopping, resume (training/validation.py)."""

import json

import keras
import numpy as np
import pytest

from keras_boxloss.data.generated import write_generated_dataset
from keras_boxloss.training import run_state, validation
from keras_boxloss.training.config import load_config
from keras_boxloss.training.run_state import DONE
from keras_boxloss.training.train import load_trained, train

TINY = ["model.image_size=64", "model.num_layers=3", "data.batch_size=4",
        "data.max_boxes=8", "trainer.jit_compile=false"]


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A small generated dataset: 16 train and 4 validation images of
    64 px (cheap evaluations)."""
    return write_generated_dataset(
        str(tmp_path_factory.mktemp("small")),
        splits={"train": 16, "val": 4}, image_size=64)


def config_for(data, *overrides):
    return load_config(None, [f"data.train={data['train']}",
                              f"data.validation={data['val']}", *TINY,
                              *overrides])


def script_ap50(monkeypatch, values):
    """Replaces the evaluation with AP50s `values`, in turn; returns the
    list of the model's weights at each evaluation."""
    seen, values = [], iter(values)

    def evaluate_model(model, config, pattern, ground_truth, label_map):
        seen.append([w.copy() for w in model.get_weights()])
        metrics = dict.fromkeys(validation.BEST_METRICS, 0.0)
        metrics["AP50"] = next(values)
        return metrics, []

    monkeypatch.setattr(validation, "evaluate_model", evaluate_model)
    return seen


def events(model_dir):
    """`{tag: [(step, value), ...]}` of the run's validation event files;
    scalars as floats, images as their encoded strings."""
    import tensorflow as tf

    found = {}
    for path in sorted((model_dir / "logs" / "validation").glob("events*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                found.setdefault(value.tag, []).append(
                    (event.step, tf.make_ndarray(value.tensor)))
    return found


def assert_same_weights(actual, expected):
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        np.testing.assert_array_equal(a, e)


@pytest.fixture(scope="module")
def model():
    """A tiny SSD of `TINY` (the callback tests drive the callback by hand,
    with the weights set to the step's number: no training)."""
    from keras_boxloss.training.train import build_model

    return build_model(load_config(None, TINY))


def make_callback(small, model_dir, model, *overrides, start_step=0):
    from keras_boxloss.training import run_state

    config = config_for(small, *overrides)
    if start_step == 0:  # the run's config.yaml, which best/ copies
        run_state.apply_plan(run_state.plan_run(config, model_dir), config)
    callback = validation.Validation(config, model_dir, small["val"], None,
                                     start_step=start_step)
    model.stop_training = False
    callback.set_model(model)
    callback.on_train_begin()
    return callback


def drive(callback, model, first, last):
    """Steps `first`..`last` as `fit` reports them, the weights set to the
    step's number before each; returns the steps after which training was
    told to stop."""
    per_epoch = callback.config.trainer.steps_per_epoch
    stops = []
    for step in range(first, last + 1):
        epoch, batch = divmod(step - 1, per_epoch)
        if batch == 0:
            callback.on_epoch_begin(epoch)
        model.set_weights([np.full_like(w, step) for w in
                           model.get_weights()])
        callback.on_train_batch_end(batch)
        if model.stop_training:
            stops.append(step)
            break
    callback.on_train_end()
    return stops


def weights_step(seen):
    """The step whose number the weights `seen` hold (all the same)."""
    values = {float(v) for w in seen for v in np.unique(w)}
    assert len(values) == 1, values
    return values.pop()


def test_best_is_kept_and_patience_stops(small, tmp_path, model,
                                         monkeypatch, capsys):
    seen = script_ap50(monkeypatch, [0.1, 0.5, 0.3, 0.9])
    callback = make_callback(small, tmp_path, model, "trainer.steps=10",
                             "trainer.steps_per_epoch=2",
                             "trainer.early_stopping_patience=1")
    # evaluations at steps 2, 4, 6 (each epoch's end); the 3rd does not
    # improve on the 2nd's 0.5 and patience 1 stops there
    assert drive(callback, model, 1, 10) == [6]
    assert [weights_step(w) for w in seen] == [2, 4, 6]
    assert callback.stopped_at == 6
    best = json.loads((tmp_path / "best" / "metrics.json").read_text())
    assert (best["step"], best["best_metric"], best["value"]) == (4, "AP50",
                                                                 0.5)
    _, loaded = load_trained(tmp_path, "best")
    assert weights_step(loaded.get_weights()) == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "best", "config.yaml", "logs"]  # no temporary folders left
    printed = capsys.readouterr().out
    assert "Validation at step 4: AP 0.0000, AP50 0.5000" in printed
    assert "new best AP50" in printed
    assert "Early stopping at step 6" in printed
    assert printed.count("Validation at step") == 3
    # the scripted values as TensorBoard scalars, at their steps
    scalars = events(tmp_path)
    assert [(s, float(v)) for s, v in scalars["AP50"]] == [
        (2, pytest.approx(0.1)), (4, pytest.approx(0.5)),
        (6, pytest.approx(0.3))]
    assert set(validation.LOGGED) <= set(scalars)


def test_every_n_steps_and_at_the_last_step(small, tmp_path, model,
                                            monkeypatch):
    # 3 steps an epoch, evaluations every 2 steps and at the last (7th)
    seen = script_ap50(monkeypatch, [0.2, 0.1, 0.3, 0.4])
    callback = make_callback(small, tmp_path, model, "trainer.steps=7",
                             "trainer.steps_per_epoch=3",
                             "trainer.eval_every_steps=2")
    assert drive(callback, model, 1, 7) == []
    assert [weights_step(w) for w in seen] == [2, 4, 6, 7]
    assert [s for s, _ in events(tmp_path)["AP50"]] == [2, 4, 6, 7]
    assert json.loads((tmp_path / "best" / "metrics.json").read_text())[
        "step"] == 7


def test_a_resumed_run_keeps_its_best_and_its_patience(small, tmp_path,
                                                       model, monkeypatch):
    overrides = ("trainer.steps=12", "trainer.steps_per_epoch=2",
                 "trainer.early_stopping_patience=2")
    script_ap50(monkeypatch, [0.1, 0.5, 0.3])
    assert drive(make_callback(small, tmp_path, model, *overrides), model,
                 1, 6) == []
    # resumed at step 6 (its last backup): best 0.5 of step 4 and one
    # evaluation since, so the next without improvement (step 8) uses up
    # the patience (one that forgot it would go on to step 10); a worse
    # value leaves best/ as it was
    seen = script_ap50(monkeypatch, [0.45, 0.2])
    resumed = make_callback(small, tmp_path, model, *overrides,
                            start_step=6)
    assert drive(resumed, model, 7, 12) == [8]
    assert len(seen) == 1
    best = json.loads((tmp_path / "best" / "metrics.json").read_text())
    assert (best["step"], best["value"]) == (4, 0.5)
    _, loaded = load_trained(tmp_path, "best")
    assert weights_step(loaded.get_weights()) == 4
    # a better value than the stored best replaces it
    script_ap50(monkeypatch, [0.7])
    better = make_callback(small, tmp_path, model, *overrides,
                           start_step=6)
    assert drive(better, model, 7, 8) == []
    assert json.loads((tmp_path / "best" / "metrics.json").read_text())[
        "step"] == 8


def test_a_non_finite_metric_is_never_the_best(small, tmp_path, model,
                                               monkeypatch, capsys):
    seen = script_ap50(monkeypatch, [float("nan"), 0.2])
    callback = make_callback(small, tmp_path, model, "trainer.steps=4",
                             "trainer.steps_per_epoch=2")
    callback.on_epoch_begin(0)
    callback.on_train_batch_end(0)
    callback.on_train_batch_end(1)
    assert len(seen) == 1 and not (tmp_path / "best").exists()
    assert "best AP50 none yet at step 0, 1 evaluation(s) without " \
           "improvement" in capsys.readouterr().out
    assert drive(callback, model, 3, 4) == []
    assert json.loads((tmp_path / "best" / "metrics.json").read_text())[
        "step"] == 4


class InterruptAfterEpoch(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:  # after BackupAndRestore saved the epoch
            raise KeyboardInterrupt("simulated kill")


@pytest.mark.slow
def test_train_resumes_and_stops_early(small, tmp_path, monkeypatch):
    """Through `fit`: an interrupted run resumes with its best and its
    patience, early stopping ends `fit` and finishes the run."""
    config = config_for(small, "trainer.steps=12",
                        "trainer.steps_per_epoch=2",
                        "trainer.early_stopping_patience=2")
    seen = script_ap50(monkeypatch, [0.1, 0.5, 0.3])
    with pytest.raises(KeyboardInterrupt):
        train(config, tmp_path, verbose=0,
              callbacks=[InterruptAfterEpoch(2)])
    assert len(seen) == 3
    resumed = script_ap50(monkeypatch, [0.45, 0.2, 0.9])
    _, history = train(config, tmp_path, verbose=0)
    assert history.epoch == [3] and len(resumed) == 1
    _, model = load_trained(tmp_path, "best")
    assert_same_weights(model.get_weights(), seen[1])
    _, last = load_trained(tmp_path)
    assert_same_weights(last.get_weights(), resumed[0])
    # finished (a rerun does nothing), stopped at step 8
    assert json.loads((tmp_path / DONE).read_text()) == {
        "steps": 12, "stopped_early_at": 8}
    _, again = train(config, tmp_path, verbose=0)
    assert again is None


def test_no_validation_split_is_said_and_skipped(small, tmp_path, capsys):
    from keras_boxloss.training.run_state import plan_run
    from keras_boxloss.training.train import validation_callback

    config = load_config(None, [f"data.train={small['train']}", *TINY])
    plan = plan_run(config, tmp_path)
    assert validation_callback(config, tmp_path, plan, verbose=1) is None
    assert "No validation while training" in capsys.readouterr().out
    off = config_for(small, "trainer.eval_every_steps=-1")
    assert validation_callback(off, tmp_path, plan, verbose=1) is None
    assert capsys.readouterr().out == ""


def test_real_evaluation_logs_what_evaluate_best_reports(small, tmp_path,
                                                          capsys):
    """End to end, nothing scripted: one evaluation after 2 steps; the
    TensorBoard scalars, best/metrics.json and `evaluate --checkpoint best`
    (run after training, on best/'s weights) agree, and the images show
    the true boxes."""
    import io

    from PIL import Image

    from keras_boxloss.cli.main import main
    from keras_boxloss.evaluation.visualize import GROUND_TRUTH_COLOUR

    config = config_for(small, "trainer.steps=2",
                        "trainer.steps_per_epoch=2")
    train(config, tmp_path / "run", verbose=0)
    run = tmp_path / "run"
    found = events(run)
    best = json.loads((run / "best" / "metrics.json").read_text())
    assert best["step"] == 2
    assert main(["evaluate", "--model-dir", str(run), "--checkpoint",
                 "best"]) == 0
    evaluated = json.loads(
        (run / "best" / "predictions.metrics.json").read_text())
    assert not (run / "predictions.json").exists()  # best/'s, not last's
    for name in validation.LOGGED:
        ((step, value),) = found[name]
        assert step == 2
        assert float(value) == pytest.approx(evaluated[name], abs=1e-6)
        assert best["metrics"][name] == pytest.approx(evaluated[name])
    images = [tag for tag in found if tag.startswith("detections_")]
    assert len(images) == 3
    (_, encoded), = found["detections_0"]
    # an image summary: width, height, then the PNG
    assert (int(encoded[0]), int(encoded[1])) == (64, 64)
    pixels = np.asarray(Image.open(io.BytesIO(encoded[2])).convert("RGB"))
    assert (pixels == GROUND_TRUTH_COLOUR).all(-1).any()


def test_read_best_restores_a_best_lost_between_the_renames(tmp_path):
    # a writer killed after renaming best/ aside, before renaming the new
    # one in: only best.old-* (and perhaps its best.tmp-*) is left
    old = tmp_path / "best.old-123-0123abcd"
    old.mkdir()
    (old / validation.METRICS_FILE).write_text(json.dumps(
        {"step": 4, "best_metric": "AP50", "value": 0.5, "metrics": {}}))
    (tmp_path / "best.tmp-123-0123abcd").mkdir()
    assert validation.read_best(tmp_path)["step"] == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best"]


def test_evaluations_replayed_after_a_resume_are_not_waits(
        small, tmp_path, model, monkeypatch, capsys):
    """best/ is written at its evaluation (step 10), the backup at the end
    of an epoch (step 8): resumed at 8, the run evaluates at 10 again; an
    equal value there is no evaluation without improvement, so the run
    stops where an uninterrupted one does (step 14)."""
    overrides = ("trainer.steps=20", "trainer.steps_per_epoch=4",
                 "trainer.eval_every_steps=2",
                 "trainer.early_stopping_patience=2")
    curve = [0.1, 0.2, 0.3, 0.5, 0.6, 0.55, 0.5, 0.7, 0.8, 0.9]  # 2, 4, ...
    script_ap50(monkeypatch, curve)
    assert drive(make_callback(small, tmp_path / "whole", model,
                               *overrides), model, 1, 20) == [14]
    script_ap50(monkeypatch, curve)
    drive(make_callback(small, tmp_path, model, *overrides), model, 1, 10)
    assert validation.read_best(tmp_path)["step"] == 10
    capsys.readouterr()
    seen = script_ap50(monkeypatch, curve[3:])  # from step 8's on
    resumed = make_callback(small, tmp_path, model, *overrides, start_step=8)
    assert drive(resumed, model, 9, 20) == [14]
    assert [weights_step(w) for w in seen] == [10, 12, 14]
    printed = capsys.readouterr().out
    assert "at step 10 (replayed after resuming)" in printed
    assert "Validation at step 10" in printed and \
        printed.count("without improvement") == 2  # steps 12 and 14


def test_a_continued_run_counts_its_final_evaluation(small, tmp_path, model,
                                                     monkeypatch):
    """A finished run of 5 steps evaluated at 2, 4 and its last step 5
    (off the every-2 grid); continued from step 5 with its best at 2, two
    evaluations are waits already, so patience 3 stops at the next (6)."""
    overrides = ("trainer.steps_per_epoch=5", "trainer.eval_every_steps=2",
                 "trainer.early_stopping_patience=3")
    seen = script_ap50(monkeypatch, [0.5, 0.3, 0.2])
    assert drive(make_callback(small, tmp_path, model, "trainer.steps=5",
                               *overrides), model, 1, 5) == []
    assert [weights_step(w) for w in seen] == [2, 4, 5]
    run_state.finish_run(tmp_path, 5)
    script_ap50(monkeypatch, [0.1, 0.1])
    continued = make_callback(small, tmp_path, model, "trainer.steps=10",
                              *overrides, start_step=5)
    assert continued.wait == 2
    assert drive(continued, model, 6, 10) == [6]


def test_an_early_stopped_run_is_complete_not_continued(small, tmp_path,
                                                        capsys):
    """Its final weights are those of the early stop (step 8), not of
    trainer.steps (12): a larger trainer.steps is refused rather than
    continued from step 12."""
    from keras_boxloss.cli.main import main

    config = config_for(small, "trainer.steps=12",
                        "trainer.steps_per_epoch=2")
    run_state.apply_plan(run_state.plan_run(config, tmp_path), config)
    (tmp_path / run_state.WEIGHTS).write_text("final weights")
    run_state.finish_run(tmp_path, 12, stopped_early_at=8)
    assert run_state.plan_run(config, tmp_path).complete
    more = config_for(small, "trainer.steps=20", "trainer.steps_per_epoch=2")
    with pytest.raises(ValueError, match=r"Expected trainer.steps=12.*"
                       r"--overwrite.*new --model-dir\. Received: "
                       r"trainer.steps=20, the run stopped early at step 8"):
        run_state.plan_run(more, tmp_path)
    assert run_state.plan_run(more, tmp_path, overwrite=True).start_step == 0
    (tmp_path.parent / "empty.yaml").write_text("")
    argv = ["train", "--config", str(tmp_path.parent / "empty.yaml"),
            "--model-dir", str(tmp_path),
            *(f"--set={o}" for o in [f"data.train={small['train']}",
                                     f"data.validation={small['val']}",
                                     *TINY, "trainer.steps=12",
                                     "trainer.steps_per_epoch=2"])]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "early stopping ended it at step 8" in printed
    assert "raise trainer.steps" not in printed
