"""`compare` drives both detector families through one `Runner`: the
Model Garden runner checks every run's config before any run trains, as
the Keras one does (stubbed Model Garden: no `official` needed)."""

import json
import types

import pytest

from keras_boxloss.compare import compare as compare_lib
from keras_boxloss.compare import garden_runner, keras_runner, runner
from keras_boxloss.compare.data import DataSplits
from keras_boxloss.compare.plan import Run, plan_runs

GARDEN_YAML = "task:\n  model:\n    num_classes: 4\ntrainer:\n  train_steps: 8\n"
SPLITS = DataSplits("train-*", "test-*", "val-*", None, "stub data")


@pytest.fixture
def garden_config(tmp_path):
    path = tmp_path / "garden.yaml"
    path.write_text(GARDEN_YAML)
    return str(path)


@pytest.fixture
def stub_garden(monkeypatch):
    """Model Garden stubbed: `run_params` records the runs it builds and
    rejects `ciou` (a config error of one run); training records the
    run and writes its metrics."""
    calls = []

    def run_params(config, run, splits, overrides="", train_steps=None,
                   chunk=0):
        calls.append(("params", run, train_steps))
        if run.loss == "ciou":
            raise ValueError(f"Expected a supported loss. Received: "
                             f"loss={run.loss}")
        return types.SimpleNamespace(
            trainer=types.SimpleNamespace(train_steps=train_steps or 8))

    def train_and_evaluate(config, run, splits, run_dir, overrides="",
                           steps=None, on_steps=None, curve_every=None):
        calls.append(("train", run, steps, curve_every))
        metrics = {"loss": run.loss, "seed": run.seed, "steps": steps,
                   "AP50": 0.5, "mean_iou_every_prediction": 0.5}
        import os

        os.makedirs(run_dir, exist_ok=True)
        with open(os.path.join(run_dir, "metrics.json"), "w") as file:
            json.dump(metrics, file)
        return metrics

    monkeypatch.setattr(garden_runner, "require_model_garden",
                        lambda config: None)
    monkeypatch.setattr(garden_runner, "run_params", run_params)
    monkeypatch.setattr(garden_runner, "train_and_evaluate",
                        train_and_evaluate)
    return calls


def test_runner_for_picks_the_family_of_the_config(garden_config):
    from keras_boxloss.cli.compare import default_config

    assert isinstance(runner.runner_for(garden_config, SPLITS),
                      garden_runner.GardenRunner)
    assert isinstance(runner.runner_for(default_config(), SPLITS),
                      keras_runner.KerasRunner)


def test_garden_runner_checks_every_run_before_training(garden_config,
                                                        stub_garden):
    runs = plan_runs(["huber", "giou", "smooth_iou"], [0, 1])
    garden = runner.runner_for(garden_config, SPLITS,
                               ["trainer.steps_per_loop=1"])
    assert garden.prepare(runs) == 8  # the config's steps
    checked = [call[1] for call in stub_garden if call[2] == 8]
    assert checked == runs
    assert garden.curve_every == 2  # a quarter of the run


def test_garden_runner_fails_on_a_later_run_before_any_trains(
        garden_config, stub_garden, tmp_path, monkeypatch):
    monkeypatch.setattr(compare_lib, "prepare_data",
                        lambda *args, **kwargs: SPLITS)
    out = tmp_path / "out"
    with pytest.raises(ValueError, match="loss=ciou"):
        compare_lib.compare(garden_config, ["huber", "ciou"], [0, 1],
                            str(out), steps=4, progress=False)
    assert Run("ciou", 0) in [call[1] for call in stub_garden]
    assert not [call for call in stub_garden if call[0] == "train"]
    assert not (out / "runs").exists()


def test_garden_runs_train_with_the_prepared_steps(garden_config, stub_garden,
                                                   tmp_path, monkeypatch):
    monkeypatch.setattr(compare_lib, "prepare_data",
                        lambda *args, **kwargs: SPLITS)
    monkeypatch.setattr(compare_lib, "write_outputs",
                        lambda out_dir, results, *args, **kwargs: results)
    results = compare_lib.compare(garden_config, ["huber", "giou"], [0],
                                  str(tmp_path), curve_every=3,
                                  progress=False)
    trained = [call for call in stub_garden if call[0] == "train"]
    assert trained == [("train", Run("huber", 0), 8, 3),
                       ("train", Run("giou", 0), 8, 3)]
    assert [r["loss"] for r in results] == ["huber", "giou"]
    # finished runs are read back, not trained again
    stub_garden.clear()
    compare_lib.compare(garden_config, ["huber", "giou"], [0],
                        str(tmp_path), curve_every=3, progress=False)
    assert not [call for call in stub_garden if call[0] == "train"]


def test_missing_model_garden_names_the_extra(garden_config, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "official", None)  # import fails
    monkeypatch.delitem(sys.modules, "official.core", raising=False)
    with pytest.raises(ValueError, match=r"keras-boxloss\[garden\]"):
        garden_runner.require_model_garden(garden_config)


def test_keras_runner_evaluates_with_the_configs_nms(monkeypatch):
    """compare's SSD / YOLOv1 runs make their detections with the config's
    `postprocess` settings, as `keras-boxloss evaluate` does."""
    from keras_boxloss.evaluation import evaluate
    from keras_boxloss.training import predict
    from keras_boxloss.training.config import (DetectorConfig,
                                               PostprocessConfig)

    config = DetectorConfig(postprocess=PostprocessConfig(
        score_threshold=0.3, iou_threshold=0.45, max_detections_per_class=5,
        max_total_detections=7))
    seen = {}
    monkeypatch.setattr(predict, "predict_records",
                        lambda model, cfg, pattern, **kw: seen.update(kw)
                        or [])
    monkeypatch.setattr(evaluate, "evaluate_detections",
                        lambda *args: {"AP50": 0.0})
    keras_runner.evaluate_model(None, config, "records", [], {})
    assert seen == {"score_threshold": 0.3, "iou_threshold": 0.45,
                    "max_per_class": 5, "max_detections": 7}
