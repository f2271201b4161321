"""The issue-19 experiment scripts (experiments/*.sh), run with a stub
`keras-boxloss` that records its arguments: which weight each loss is run
at, what is kept between sessions and restored, and the errors."""

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"
pytestmark = pytest.mark.skipif(shutil.which("bash") is None,
                                reason="needs bash")


@pytest.fixture
def tree(tmp_path):
    """A checkout-shaped folder: the scripts, converted data markers, and a
    stub keras-boxloss that appends its arguments to calls.txt."""
    shutil.copytree(EXPERIMENTS, tmp_path / "experiments",
                    ignore=shutil.ignore_patterns("sweep-bccd",
                                                  "chosen-weights"))
    for name in ("bccd", "raccoon"):
        (tmp_path / "data" / name).mkdir(parents=True)
        (tmp_path / "data" / name / "label_map.pbtxt").write_text("")
    stub = tmp_path / "bin" / "keras-boxloss"
    stub.parent.mkdir()
    stub.write_text('#!/usr/bin/env bash\necho "$*" >> "$CALLS"\n')
    stub.chmod(stub.stat().st_mode | stat.S_IXUSR)
    return tmp_path


def run(tree, script, *args):
    env = {**os.environ, "CALLS": str(tree / "calls.txt"),
           "PATH": f"{tree / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(["bash", str(tree / "experiments" / script),
                             *args], env=env, capture_output=True,
                            text=True, cwd=tree)
    calls = (tree / "calls.txt").read_text().splitlines() if (
        tree / "calls.txt").exists() else []
    return result, calls


def write_sweep_summary(tree, loss, chosen):
    folder = tree / "experiments" / "sweep-bccd" / loss
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text(json.dumps({"sweep": {"choices": {
        loss: {"value": chosen, "by_mean_iou": "1"}}}}))


def test_chosen_weights_runs_each_loss_at_its_sweeps_choice(tree):
    write_sweep_summary(tree, "smooth_iou", "5")
    write_sweep_summary(tree, "huber", "0.5")
    result, calls = run(tree, "chosen_weights.sh", "raccoon", "huber",
                        "smooth_iou")
    assert result.returncode == 0, result.stderr
    assert len(calls) == 2
    for call, loss, weight in zip(calls, ("huber", "smooth_iou"),
                                  ("0.5", "5")):
        assert f"--losses {loss} --seeds 3" in call
        assert (f"--set task.losses.rpn_box_weight={weight} --set "
                f"task.losses.frcnn_box_weight={weight}") in call
        assert "--data data/raccoon --steps 1500" in call
        assert call.endswith(f"--output-dir runs/chosen-weights/"
                             f"raccoon-{loss}")


def test_chosen_weights_refuses_a_loss_without_a_finished_sweep(tree):
    result, calls = run(tree, "chosen_weights.sh", "bccd", "giou")
    assert result.returncode == 2 and calls == []
    assert "Expected giou's finished sweep" in result.stderr
    result, _ = run(tree, "chosen_weights.sh", "coco", "giou")
    assert result.returncode == 2
    assert "Expected a dataset, bccd or raccoon. Received: coco" in (
        result.stderr)
    result, _ = run(tree, "chosen_weights.sh", "bccd")
    assert result.returncode == 2
    assert "Expected losses after the dataset" in result.stderr
    folder = tree / "experiments" / "sweep-bccd" / "giou"
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text('{"sweep": {"choices": {}}}')
    result, calls = run(tree, "chosen_weights.sh", "bccd", "giou")
    assert result.returncode == 2 and calls == []
    assert "Expected a chosen weight for giou" in result.stderr
    assert "Traceback" not in result.stderr


def test_bracketed_overrides_are_not_globbed(tree):
    """A file named like a glob match of "boundaries=[600]" in the working
    folder must not replace the override."""
    (tree / "trainer.optimizer_config.learning_rate.stepwise.boundaries=6"
     ).write_text("")
    write_sweep_summary(tree, "huber", "1")
    _, calls = run(tree, "chosen_weights.sh", "bccd", "huber")
    _, more = run(tree, "sweep_bccd.sh", "huber")
    assert len(more) == 2
    for call in more:
        assert "stepwise.boundaries=[600]" in call


def test_sweep_runs_the_asked_losses_at_their_weights(tree):
    result, calls = run(tree, "sweep_bccd.sh", "huber", "giou")
    assert result.returncode == 0, result.stderr
    assert "--losses huber --sweep task.losses.rpn_box_weight+task.losses" \
        ".frcnn_box_weight=0.5,1,2" in calls[0]
    assert "--losses giou" in calls[1] and calls[1].count("=1,2,5,10") == 1
    assert all("--evaluate-on validation" in call for call in calls)
    result, _ = run(tree, "sweep_bccd.sh", "focal")
    assert result.returncode == 2
    assert "Received: focal" in result.stderr


def test_finished_runs_are_kept_without_checkpoints_and_restored(tree):
    runs = tree / "runs" / "sweep-bccd" / "giou"
    done, unfinished = runs / "runs" / "giou-w1-seed0", runs / "runs" / "w2"
    for folder in (done, unfinished):
        folder.mkdir(parents=True)
        (folder / "curves.json").write_text("[]")
        (folder / "ckpt-200.index").write_text("checkpoint")
    (done / "metrics.json").write_text('{"AP50": 0.5}')
    (runs / "compare.json").write_text("{}")
    result, _ = run(tree, "sweep_bccd.sh", "save")
    assert result.returncode == 0, result.stderr
    kept = tree / "experiments" / "sweep-bccd" / "giou"
    assert sorted(p.name for p in (kept / "runs").iterdir()) == [
        "giou-w1-seed0"]
    assert sorted(p.name for p in (kept / "runs" / "giou-w1-seed0")
                  .iterdir()) == ["curves.json", "metrics.json"]
    shutil.rmtree(tree / "runs")
    result, calls = run(tree, "sweep_bccd.sh", "giou")
    assert result.returncode == 0, result.stderr
    assert (done / "metrics.json").read_text() == '{"AP50": 0.5}'
    assert (runs / "compare.json").exists() and not unfinished.exists()
