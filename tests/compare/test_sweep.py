"""`compare` with a sweep of a config value, evaluated on the validation
split: runs `<loss>-w<value>-seed<k>`, each loss's value chosen by
validation mAP@.5 (and what mean IoU would have chosen)."""

import json
import os

import pytest

from keras_boxloss.compare import compare as compare_lib
from keras_boxloss.compare import keras_runner
from keras_boxloss.compare.data import DataSplits
from keras_boxloss.compare.plan import (Run, Sweep, parse_sweep, plan_runs,
                                        variants)
from keras_boxloss.compare.summary import choose_values, sweep_markdown


def test_parse_sweep_one_or_several_keys():
    assert parse_sweep("loss.alpha=1,2,5") == Sweep(("loss.alpha",),
                                                    ("1", "2", "5"))
    both = parse_sweep("task.losses.rpn_box_weight+"
                       "task.losses.frcnn_box_weight=1,2,5,10")
    assert both.keys == ("task.losses.rpn_box_weight",
                         "task.losses.frcnn_box_weight")
    assert both.values == ("1", "2", "5", "10")


@pytest.mark.parametrize("text", ["loss.alpha=1", "loss.alpha=1,1",
                                  "=1,2", "loss.alpha", "loss.alpha=a/b,2"])
def test_parse_sweep_rejects(text):
    with pytest.raises(ValueError, match="Expected `sweep`"):
        parse_sweep(text)


def test_sweep_runs_and_rows():
    sweep = Sweep(("a.b", "c.d"), ("1", "5"))
    runs = plan_runs(["huber", "giou"], [0, 1], sweep)
    assert [r.name for r in runs[:4]] == [
        "huber-w1-seed0", "giou-w1-seed0", "huber-w5-seed0", "giou-w5-seed0"]
    assert len(runs) == 8 and runs[-1].name == "giou-w5-seed1"
    assert runs[2].overrides == ["a.b=5", "c.d=5"]
    assert variants(["huber", "giou"], sweep) == [
        "huber-w1", "huber-w5", "giou-w1", "giou-w5"]
    # without a sweep: the folders of comparisons made before sweeps
    assert [r.name for r in plan_runs(["huber"], [0])] == ["huber-seed0"]
    assert Run("huber", 0).overrides == []


def _row(mean):
    return {"mean": mean, "std": 0.0, "n": 1, "by_seed": {0: mean}}


def test_choose_values_by_map50_and_reports_the_mean_iou_choice():
    summary = {"metrics": {
        "AP50": {"giou-w1": _row(0.30), "giou-w2": _row(0.40),
                 "giou-w5": _row(0.40), "huber-w1": _row(0.2)},
        "mean_iou_every_prediction": {
            "giou-w1": _row(0.7), "giou-w2": _row(0.5),
            "giou-w5": _row(0.6), "huber-w1": _row(0.1)}}}
    choices = choose_values(summary, ["giou", "huber", "ciou"],
                            ("1", "2", "5"))
    assert choices["giou"]["value"] == "2"  # tie with 5: the first value
    assert choices["giou"]["by_mean_iou"] == "1"
    assert choices["giou"]["AP50"] == {"1": 0.30, "2": 0.40, "5": 0.40}
    assert choices["huber"]["value"] == "1"
    assert "ciou" not in choices  # no results
    text = sweep_markdown({"keys": ["loss.alpha"], "values": ["1", "2", "5"],
                           "choices": choices}, "validation")
    assert "| giou | 2 | 0.400 | 1 |" in text
    assert "on the validation split" in text


def test_validation_is_refused_when_the_only_held_out_split_is_test():
    only_test = DataSplits("d/train-*.tfrecord", "d/test-*.tfrecord",
                           "d/test-*.tfrecord", None, "x")
    with pytest.raises(ValueError, match="validation split .*test-"):
        compare_lib.validation_splits(only_test)
    both = DataSplits("d/train-*", "d/test-*", "d/val-*", None, "x")
    assert compare_lib.validation_splits(both).evaluation == "d/val-*"


def test_a_comparison_made_before_sweeps_still_resumes(tmp_path):
    old = {"config": "/c.yaml", "data": {"train": "t"}, "steps": 2,
           "overrides": []}
    (tmp_path / "compare.json").write_text(json.dumps(old))
    compare_lib._check_invocation(str(tmp_path), {
        **old, "sweep": None, "evaluate_on": None})
    with pytest.raises(ValueError, match="Expected the same sweep"):
        compare_lib._check_invocation(str(tmp_path), {
            **old, "sweep": {"keys": ["loss.alpha"], "values": ["1", "2"]},
            "evaluate_on": None})


def test_sweep_sets_the_value_after_the_users_overrides():
    from keras_boxloss.cli.compare import default_config

    splits = DataSplits("train-*", "val-*", "val-*", None, "x")
    run = Run("giou", 3, "2.5", ("loss.alpha",))
    config = keras_runner.run_config(default_config(), run, splits,
                                     ["loss.alpha=9"])
    assert config.loss.alpha == 2.5
    assert (config.loss.box_loss, config.trainer.seed) == ("giou", 3)


@pytest.mark.slow  # minutes on 2 CPU cores: CI budget
def test_ssd_sweep_on_validation_end_to_end(tmp_path):
    from keras_boxloss.cli.compare import default_config

    sweep = parse_sweep("loss.alpha=1,4")
    # one loss: two runs keep it short; the rows and choice are per loss
    summary = compare_lib.compare(
        default_config(), ["giou"], [0], str(tmp_path / "out"),
        overrides=["trainer.steps_per_epoch=2", "trainer.jit_compile=false",
                   "data.batch_size=4"], steps=2, progress=False,
        cache_dir=str(tmp_path / "cache"), sweep=sweep,
        evaluate_on="validation")
    runs = tmp_path / "out" / "runs"
    assert sorted(p.name for p in runs.iterdir()) == [
        "giou-w1-seed0", "giou-w4-seed0"]
    metrics = json.loads((runs / "giou-w4-seed0" / "metrics.json")
                         .read_text())
    assert (metrics["loss"], metrics["value"]) == ("giou", "4")
    assert metrics["keys"] == ["loss.alpha"]
    assert summary["evaluate_on"] == "validation"
    assert summary["data"]["evaluation"] == summary["data"]["curve"]
    assert "val" in summary["data"]["evaluation"]
    choices = summary["sweep"]["choices"]
    assert set(choices) == {"giou"}
    assert set(summary["metrics"]["AP50"]) == {"giou-w1", "giou-w4"}
    for loss, choice in choices.items():
        ap50 = summary["metrics"]["AP50"]
        best = max(ap50[f"{loss}-w{v}"]["mean"] for v in ("1", "4"))
        assert ap50[f"{loss}-w{choice['value']}"]["mean"] == best
    assert "Sweep of `loss.alpha`" in (tmp_path / "out" / "results.md") \
        .read_text()


def test_the_config_is_recorded_relative_to_the_working_directory(
        tmp_path, monkeypatch):
    # A sweep saved in one checkout resumes in another (issue 19 spreads
    # it over sessions): inside the working directory the path is relative,
    # like the data paths; outside it, absolute.
    (tmp_path / "work" / "configs").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "work")
    assert compare_lib._portable_path("configs/a.yaml") == os.path.join(
        "configs", "a.yaml")
    assert compare_lib._portable_path(
        str(tmp_path / "work" / "configs" / "a.yaml")) == os.path.join(
        "configs", "a.yaml")
    assert compare_lib._portable_path("../b.yaml") == str(tmp_path / "b.yaml")


def test_a_comparison_recorded_with_an_absolute_config_still_resumes(
        tmp_path, monkeypatch):
    (tmp_path / "configs").mkdir()
    (tmp_path / "out").mkdir()
    monkeypatch.chdir(tmp_path)
    old = {"config": str(tmp_path / "configs" / "a.yaml"),
           "data": {"train": "t"}, "steps": 2, "overrides": []}
    (tmp_path / "out" / "compare.json").write_text(json.dumps(old))
    current = {**old, "config": compare_lib._portable_path("configs/a.yaml")}
    compare_lib._check_invocation(str(tmp_path / "out"), current)
    with pytest.raises(ValueError, match="Expected the same config"):
        compare_lib._check_invocation(str(tmp_path / "out"),
                                      {**old, "config": "configs/b.yaml"})
