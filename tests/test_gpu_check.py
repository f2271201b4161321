"""`benchmarks/gpu_check.sh`: the GPU check, run at its `--smoke` size on CPU
so that it still works the day a GPU is lent.

The default suite runs the SSD and loss-throughput sections (the Model Garden
section traces four Faster R-CNN train steps, minutes on 2 cores: the slow
test runs everything) and a time cap that hits.
"""

import importlib.metadata
import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "gpu_check.sh"
# loss_throughput.py times every registered box loss.
OUR_LOSSES = {cls.__name__ for cls in __import__(
    "keras_boxloss.losses.registry", fromlist=["BOX_LOSSES"]
).BOX_LOSSES.values()}


def load_module():
    spec = importlib.util.spec_from_file_location(
        "gpu_check", REPO / "benchmarks" / "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_check(tmp_path, *args, env=None):
    output = tmp_path / "gpu_check.json"
    completed = subprocess.run(
        [str(SCRIPT), "--smoke", "--output", str(output), *args],
        env=dict(os.environ, PYTHON=sys.executable, **(env or {})),
        capture_output=True, text=True, timeout=900)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return json.loads(output.read_text())


def positive(value):
    return isinstance(value, float) and math.isfinite(value) and value > 0


def check_meta(report):
    meta = report["meta"]
    assert meta["plan"] == "smoke"
    assert meta["device"] == "CPU"
    assert meta["versions"]["tensorflow"] == importlib.metadata.version(
        "tensorflow")
    assert meta["versions"]["keras"] == importlib.metadata.version("keras")
    assert positive(meta["wall_s"])
    assert set(report["sections"]) == {"ssd", "garden", "loss_throughput"}
    # Every skipped unit of a section is also in the top-level list.
    flat = [{"section": name, **row}
            for name, data in report["sections"].items()
            for row in data["skipped"]]
    assert report["skipped"] == flat


def check_ssd(section, module):
    assert section["status"] == "done", section["skipped"]
    assert section["device"] == "CPU"
    assert "set_dtype_policy" in section["settings"]["mixed_precision"]
    assert "compute_loss" in section["settings"]["multibox_method"]
    rows = section["results"]
    assert [(r["policy"], r["xla"]) for r in rows] == list(
        module.SMOKE.ssd_variants)
    for row in rows:
        assert row["jit_compile"] == row["xla"]
        assert row["batch_size"] == 2 and row["image_size"] == 64
        assert row["head_dtype"] == ("bfloat16" if row["policy"] ==
                                     "mixed_bfloat16" else "float32")
        for key in ("compile_s", "step_ms", "multibox_compile_s",
                    "multibox_ms", "images_per_s"):
            assert positive(row[key]), (key, row)
        assert len(row["steps_ms"]) == module.SMOKE.steps
        assert all(positive(t) for t in row["steps_ms"])
        assert 0 < row["multibox_share"] <= 1
        # The first step traces: slower than the median step.
        assert row["compile_s"] * 1e3 > row["step_ms"]


def check_throughput(section):
    assert section["status"] == "done", section["skipped"]
    rows = section["results"]
    assert {r["n"] for r in rows} == {1000}
    assert {r["unit"] for r in rows} == {"n=1000"}
    ours = {(r["loss"], r["mode"]) for r in rows
            if r["impl"] == "keras_boxloss"}
    assert ours == {(loss, mode) for loss in OUR_LOSSES
                    for mode in ("eager", "tf.function", "xla")}
    assert any(r["loss"] == "floor (copy)" for r in rows)
    assert all(positive(r["ms"]) for r in rows)


def test_full_plan_is_the_issue_s_gpu_check():
    """The GPU sizes, checked here because no GPU runs them in CI."""
    module = load_module()
    full = module.FULL
    assert full.ssd_overrides == () and full.ssd_batch == 24
    assert "image_size: 300" in module.SSD_CONFIG.read_text()
    assert {xla for _, xla in full.ssd_variants} == {False, True}
    assert {p for p, _ in full.ssd_variants} == {"float32", "mixed_bfloat16"}
    assert full.garden_dtype == "bfloat16"
    assert set(full.garden_xla) == {False, True}
    assert "smooth_iou" in full.garden_losses
    assert min(full.sizes) == 1_000_000 and max(full.sizes) == 10_000_000
    assert full.steps >= 5 and full.warmup >= 1
    assert set(full.caps) == set(module.SECTIONS)
    assert sum(full.caps.values()) <= full.budget_s <= 8 * 60


def test_smoke_ssd_and_loss_throughput(tmp_path):
    module = load_module()
    report = run_check(tmp_path, "--sections", "ssd", "loss_throughput")
    check_meta(report)
    check_ssd(report["sections"]["ssd"], module)
    check_throughput(report["sections"]["loss_throughput"])
    garden = report["sections"]["garden"]
    assert garden["status"] == "skipped" and garden["results"] == []
    assert [(r["unit"], r["reason"]) for r in garden["skipped"]] == [
        ("float32", "not selected (--sections)"),
        ("float32+xla", "not selected (--sections)")]


def test_a_time_cap_that_hits_is_recorded(tmp_path):
    # The section's process is killed while it imports TensorFlow.
    report = run_check(tmp_path, "--sections", "loss_throughput",
                       "--cap", "loss_throughput=1")
    section = report["sections"]["loss_throughput"]
    assert section["status"] == "skipped" and section["results"] == []
    assert section["skipped"] == [
        {"unit": "n=1000", "reason": "time cap (1 s) hit"}]
    assert section["wall_s"] < 30


def test_unknown_cap_section_is_an_error(tmp_path):
    completed = subprocess.run(
        [str(SCRIPT), "--smoke", "--cap", "ssdd=5"],
        env=dict(os.environ, PYTHON=sys.executable), capture_output=True,
        text=True, timeout=60)
    assert completed.returncode == 2
    assert "unknown section 'ssdd'" in completed.stderr


def test_a_machine_without_tensorflow_is_told_what_to_run(monkeypatch,
                                                          capsys):
    # The first GPU machine lent had JAX but no TensorFlow.
    module = load_module()
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None
                        if name == "tensorflow" else find_spec(name, *a))
    with pytest.raises(SystemExit) as exit_info:
        module.main(["--sections", "loss_throughput"])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "Expected TensorFlow 2.20" in error
    assert "no module named tensorflow" in error
    assert "gpu_losses_jax.sh" in error


@pytest.mark.slow
def test_smoke_every_section(tmp_path, generated):
    module = load_module()
    cache = Path(generated["train"]).parents[1]  # default_dataset's folder
    report = run_check(tmp_path, env={"KERAS_BOXLOSS_CACHE": str(cache)})
    check_meta(report)
    assert report["skipped"] == []
    check_ssd(report["sections"]["ssd"], module)
    check_throughput(report["sections"]["loss_throughput"])
    garden = report["sections"]["garden"]
    assert garden["status"] == "done", garden["skipped"]
    rows = garden["results"]
    assert {(r["loss"], r["xla"]) for r in rows} == {
        (loss, xla) for loss in ("huber (Model Garden's own)", "smooth_iou")
        for xla in (False, True)}
    for row in rows:
        assert row["dtype"] == "float32" and row["batch_size"] == 2
        assert positive(row["compile_s"]) and positive(row["step_ms"])
        assert positive(row["ratio_to_huber"])
        if row["loss"].startswith("huber"):
            assert row["ratio_to_huber"] == 1.0
