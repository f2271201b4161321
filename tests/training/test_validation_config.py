"""The validation-while-training fields of `trainer` (config.py) and what a
resumed run may change of them (run_state)."""

import pytest

from keras_boxloss.training import run_state
from keras_boxloss.training.config import config_to_dict, load_config


def test_defaults_evaluate_every_epoch_on_ap50_without_early_stopping():
    trainer = load_config(None).trainer
    assert (trainer.eval_every_steps, trainer.best_metric,
            trainer.early_stopping_patience) == (0, "AP50", 0)


def test_best_metric_takes_the_evaluators_names():
    for name in ("AP", "AP75", "AR100", "mean_iou_every_prediction",
                 "mean_iou_matched_detections"):
        assert load_config(None, [f"trainer.best_metric={name}"]
                           ).trainer.best_metric == name
    with pytest.raises(ValueError) as error:
        load_config(None, ["trainer.best_metric=ap50"])
    message = str(error.value)
    assert "Expected `trainer.best_metric` to be one of" in message
    assert "'AP50'" in message and "'mean_iou_matched_detections'" in message
    assert "Received: trainer.best_metric='ap50'" in message


@pytest.mark.parametrize("overrides, match", [
    (["trainer.eval_every_steps=-2"], "eval_every_steps >= -1"),
    (["trainer.early_stopping_patience=-1"],
     "early_stopping_patience >= 0"),
    (["trainer.eval_every_steps=-1", "trainer.early_stopping_patience=3"],
     "Expected evaluations"),
    (["data.train=a.tfrecord", "trainer.eval_every_steps=10"],
     "Expected data.validation"),
    (["data.train=a.tfrecord", "trainer.early_stopping_patience=2"],
     "Expected data.validation"),
    (["trainer.eval_every_steps=often"], "Expected int"),
])
def test_bad_validation_settings_are_refused(overrides, match):
    with pytest.raises(ValueError, match=match):
        load_config(None, overrides)


def test_records_without_validation_train_unevaluated_by_default():
    # the default (each epoch) is skipped with a line, not refused
    config = load_config(None, ["data.train=a.tfrecord"])
    assert config.trainer.eval_every_steps == 0
    assert load_config(None, ["data.train=a.tfrecord",
                              "trainer.eval_every_steps=-1"])


def test_a_resumed_run_may_change_when_it_evaluates_only():
    old = config_to_dict(load_config(None))
    when = config_to_dict(load_config(None, ["trainer.eval_every_steps=5"]))
    assert run_state.config_differences(old, when) == []
    for override in ("trainer.best_metric=AP", "trainer."
                     "early_stopping_patience=2"):
        new = config_to_dict(load_config(None, [override]))
        (difference,) = run_state.config_differences(old, new)
        assert difference.startswith(override.split("=")[0])


def test_overwrite_removes_best(tmp_path):
    config = load_config(None)
    run_state.apply_plan(run_state.plan_run(config, tmp_path), config)
    (tmp_path / "best").mkdir()
    (tmp_path / "best" / "model.weights.h5").write_text("old")
    plan = run_state.plan_run(config, tmp_path, overwrite=True)
    assert tmp_path / "best" in plan.remove


def test_compare_runs_do_not_evaluate_twice():
    # compare's CurveRecorder evaluates each epoch and times training
    # without it: its runs turn train's own evaluations off
    from keras_boxloss.cli.compare import default_config
    from keras_boxloss.compare import keras_runner
    from keras_boxloss.compare.data import DataSplits
    from keras_boxloss.compare.plan import Run

    splits = DataSplits("train-*", "val-*", "val-*", None, "x")
    config = keras_runner.run_config(default_config(), Run("giou", 0), splits)
    assert config.trainer.eval_every_steps == -1
