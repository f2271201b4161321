"""The extras of pyproject.toml match what each path imports: the losses
need only Keras and a backend; the Keras detectors, data, evaluation,
compare (SSD/YOLOv1) and the CLI never import Model Garden (`official`,
`tf_keras`: the `garden` extra), which `detection` does not install."""

import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Makes `import <name>` (and its submodules) fail as if not installed.
BLOCKER = textwrap.dedent("""
    import sys

    class Blocker:
        def __init__(self, names):
            self.names = set(names)

        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in self.names:
                raise ModuleNotFoundError(f"No module named {name!r} "
                                          f"(blocked)", name=name)
            return None

    sys.meta_path.insert(0, Blocker(BLOCKED))
""")


def _run_blocked(blocked, code, backend="tensorflow"):
    script = (BLOCKER.replace("BLOCKED", repr(sorted(blocked)))
              + textwrap.dedent(code))
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3",
               PYTHONPATH=os.pathsep.join(
                   [str(ROOT), os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT,
                            env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def _extras():
    with open(ROOT / "pyproject.toml", "rb") as file:
        project = tomllib.load(file)["project"]
    return project["dependencies"], project["optional-dependencies"]


def _names(requirements):
    import re

    return {re.split(r"[\[<>=~!; ]", r, maxsplit=1)[0].lower()
            for r in requirements}


def test_keras_paths_and_the_cli_never_import_model_garden():
    out = _run_blocked({"official", "tf_keras"}, """
        import keras_boxloss
        import keras_boxloss.ssd, keras_boxloss.yolo, keras_boxloss.data
        import keras_boxloss.evaluation, keras_boxloss.training
        from keras_boxloss.compare import (compare, garden_runner,
                                           keras_runner, plots, runner,
                                           summary)
        from keras_boxloss.cli.main import build_parser

        build_parser()  # imports every command's module
        leaked = sorted(name for name in sys.modules
                        if name.split(".")[0] in ("official", "tf_keras"))
        print("leaked:", leaked)
    """)
    assert "leaked: []" in out


def test_compare_with_a_garden_config_names_the_garden_extra(tmp_path):
    config = tmp_path / "faster_rcnn.yaml"
    config.write_text("task:\n  model:\n    num_classes: 4\n")
    out = _run_blocked({"official", "tf_keras"}, f"""
        from keras_boxloss.compare.data import DataSplits
        from keras_boxloss.compare.plan import Run
        from keras_boxloss.compare.runner import runner_for

        splits = DataSplits("a", "b", "c", None, "stub")
        try:
            runner_for({str(config)!r}, splits).prepare([Run("giou", 0)])
        except ValueError as error:
            print("error:", error)
    """)
    assert "pip install keras-boxloss[garden]" in out
    assert str(config) in out


def test_losses_need_only_keras_and_a_backend():
    pytest.importorskip("jax")
    dependencies, _ = _extras()
    # the detection and garden extras blocked (scipy stays: jax needs it)
    heavy = {"tensorflow", "official", "tf_keras", "keras_cv", "keras_hub",
             "pycocotools", "matplotlib", "PIL", "tqdm", "yaml"}
    out = _run_blocked(heavy, """
        import keras
        import numpy as np

        import keras_boxloss
        from keras_boxloss.losses.registry import BOX_LOSSES, get_box_loss

        y_true = np.array([[[0.1, 0.1, 0.5, 0.5]]], "float32")
        y_pred = np.array([[[0.2, 0.1, 0.6, 0.4]]], "float32")
        for name in BOX_LOSSES:
            value = float(get_box_loss(name)(y_true, y_pred))
            assert np.isfinite(value) and value > 0, (name, value)
        print("backend:", keras.backend.backend(), len(BOX_LOSSES))
    """, backend="jax")
    assert "backend: jax" in out
    assert _names(dependencies) == {"keras", "numpy"}


def test_extras_keep_model_garden_apart_from_detection():
    dependencies, extras = _extras()
    assert "tf-models-official" not in _names(extras["detection"])
    assert "tf-models-official" in _names(extras["garden"])
    for name in ("detection", "garden"):
        assert f"keras-boxloss[{name}]" in extras["all"]
    for name in ("tensorflow", "keras-cv", "pycocotools", "scipy",
                 "matplotlib", "pillow", "tqdm", "pyyaml"):
        assert name in _names(extras["detection"]), name
