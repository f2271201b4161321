"""benchmarks/loss_throughput.py runs, covers every registered loss, and its
plain keras.ops baselines compute the same losses as ours (otherwise "never
slower than plain keras.ops" would compare different work). No timing is
asserted. Runs on TensorFlow and JAX (the benchmark times the modes of the
backend it runs on)."""

import importlib.util
import json
from pathlib import Path

import keras
import numpy as np
import pytest


_PATH = (Path(__file__).resolve().parents[1] / "benchmarks"
         / "loss_throughput.py")


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("loss_throughput", _PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_registered_loss_is_benchmarked(bench):
    from keras_boxloss.losses.registry import BOX_LOSSES
    assert set(bench.OURS) == {cls.__name__ for cls in BOX_LOSSES.values()}


@pytest.mark.parametrize("name", ["HuberBox", "IoU", "GIoU", "DIoU", "CIoU"])
def test_plain_baseline_is_the_same_formula(bench, name):
    y_true, y_pred = bench.make_boxes(257, seed=3)
    ours = bench.OURS[name](reduction="sum")(y_true, y_pred)
    plain = bench.plain_loss(bench.PLAIN[name])(y_true, y_pred)
    np.testing.assert_allclose(float(plain), float(ours), rtol=1e-5)


def test_tiny_run_writes_a_row_per_loss_and_mode(bench, tmp_path):
    out = tmp_path / "result.json"
    bench.main(["--sizes", "16", "--repeats", "1", "--modes", "xla",
                "--losses", "IoU", "GIoU", "--keras-cv-max-n", "0",
                "--out", str(out)])
    result = json.loads(out.read_text())
    ours = {(r["loss"], r["impl"]) for r in result["rows"]
            if r["impl"] != "keras_cv 0.9"}
    assert ours == {("floor (copy)", "-"),
                    ("IoU", "keras_boxloss"), ("IoU", "plain keras.ops"),
                    ("GIoU", "keras_boxloss"), ("GIoU", "plain keras.ops")}
    assert "| 2e+01 | GIoU |" in result["table"]
    assert result["meta"]["backend"] == keras.backend.backend()
    assert {r["mode"] for r in result["rows"]} == {"xla"}


@pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                    reason="loss_before_after.py times TensorFlow modes")
def test_before_after_runs_both_trees(tmp_path):
    """benchmarks/loss_before_after.py, with this tree on both sides, in a
    process of its own (it re-imports the package)."""
    import re
    import subprocess
    import sys

    root = _PATH.parents[1]
    result = subprocess.run(
        [sys.executable, str(root / "benchmarks" / "loss_before_after.py"),
         str(root), "CIoU", "--size", "64", "--rounds", "1"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [line for line in result.stdout.splitlines() if "floor" in line]
    assert [line.split(":")[0] for line in lines] == ["CIoU"]
    assert re.search(r"before [\d.]+x, after [\d.]+x the floor, plain / "
                     r"after [\d.]+", lines[0])


@pytest.mark.skipif(keras.backend.backend() != "jax",
                    reason="--kernels reads jax.jit's compiled program")
def test_kernels_are_counted_per_xla_row(bench, tmp_path):
    out = tmp_path / "result.json"
    bench.main(["--sizes", "16", "--repeats", "1", "--modes", "eager", "xla",
                "--losses", "IoU", "SIoU", "--kernels", "--out", str(out)])
    rows = json.loads(out.read_text())["rows"]
    counts = {(r["loss"], r["impl"]): r["kernels"] for r in rows
              if r["mode"] == "xla" and "kernels" in r}
    assert set(counts) == {("IoU", "keras_boxloss"),
                           ("IoU", "plain keras.ops"),
                           ("SIoU", "keras_boxloss")}
    # At least the value's and the gradient's (the exact count depends on
    # the device: SIoU has 19 on a CPU, 4 on an H200).
    assert all(isinstance(c, int) and c >= 2 for c in counts.values())
    assert not any("kernels" in r for r in rows if r["mode"] == "eager")


@pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                    reason="the TensorFlow refusal")
def test_kernels_need_jax(bench, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        bench.main(["--sizes", "16", "--kernels",
                    "--out", str(tmp_path / "r.json")])
    assert exit_info.value.code == 2
    assert ("Expected KERAS_BACKEND=jax with --kernels"
            in capsys.readouterr().err)
    assert not (tmp_path / "r.json").exists()
