"""`predict --saved-model` through an `export` SavedModel's serving
signature gives what `predict --model-dir` gives with the same weights (the
export stretches images as a `resize_mode: fixed` run does)."""

import json

import keras
import numpy as np
import pytest
from PIL import Image

from keras_boxloss.cli.main import main
from keras_boxloss.training import train as train_module
from keras_boxloss.training.config import load_config
from keras_boxloss.training.export import export_saved_model
from keras_boxloss.training.train import build_model

OVERRIDES = ["model.image_size=64", "model.num_layers=3"]


@pytest.fixture(scope="module")
def tiny():
    keras.utils.set_random_seed(1)
    config = load_config(None, OVERRIDES)
    return config, build_model(config)


@pytest.fixture(scope="module")
def image_path(tmp_path_factory):
    """A 120 x 90 image of flat rectangles (PNG: lossless)."""
    rng = np.random.default_rng(0)
    pixels = np.full((90, 120, 3), 40, np.uint8)
    for _ in range(4):
        y, x = rng.integers(0, 60), rng.integers(0, 90)
        pixels[y:y + 25, x:x + 25] = rng.integers(80, 255, 3)
    path = tmp_path_factory.mktemp("images") / "scene.png"
    Image.fromarray(pixels).save(path)
    return path


def entry(folder):
    [image] = json.loads((folder / "predictions.json").read_text())["images"]
    return image


@pytest.mark.parametrize("input_type", [
    "image_tensor",
    # ~10 s each (an export): the string inputs in the slow run
    pytest.param("encoded_image_string_tensor", marks=pytest.mark.slow),
    pytest.param("tf_example", marks=pytest.mark.slow)])
def test_saved_model_matches_the_run(tiny, image_path, tmp_path,
                                     monkeypatch, input_type):
    config, model = tiny
    saved = export_saved_model(model, config, tmp_path / "saved" / "1",
                               input_type=input_type)
    (tmp_path / "saved" / "label_map.pbtxt").write_text(
        "item { id: 1 name: 'a' }\nitem { id: 2 name: 'b' }\n"
        "item { id: 3 name: 'c' }\n")
    monkeypatch.setattr(train_module, "load_trained",
                        lambda model_dir, checkpoint: (config, model))
    flags = ["--score-threshold", "0.2"]
    assert main(["predict", str(image_path), "--saved-model", saved,
                 "--output-dir", str(tmp_path / "a"), *flags]) == 0
    assert main(["predict", str(image_path), "--model-dir", "run",
                 "--output-dir", str(tmp_path / "b"), *flags]) == 0
    served, run = entry(tmp_path / "a"), entry(tmp_path / "b")
    # the SavedModel's own K, the run's postprocess' (export's default)
    recorded = json.loads((tmp_path / "a" / "predictions.json").read_text())
    assert recorded["max_detections"] == json.loads(
        (tmp_path / "b" / "predictions.json").read_text())["max_detections"]
    assert recorded["max_detections"] == config.postprocess \
        .max_total_detections
    top = config.postprocess.max_total_detections
    for asked, applied in ((3, 3), (top + 50, top)):  # at most its own K
        out = tmp_path / f"k{asked}"
        assert main(["predict", str(image_path), "--saved-model", saved,
                     "--output-dir", str(out), "--max-detections",
                     str(asked), "--score-threshold", "0"]) == 0
        recorded = json.loads((out / "predictions.json").read_text())
        assert recorded["max_detections"] == applied
        assert recorded["images"][0]["num_detections"] <= applied
    assert (served["width"], served["height"]) == (120, 90)
    assert run["num_detections"] > 0  # something to compare
    assert served["num_detections"] == run["num_detections"]
    np.testing.assert_allclose(served["boxes"], run["boxes"], atol=0.05)
    np.testing.assert_allclose(served["scores"], run["scores"], atol=1e-4)
    assert served["classes"] == run["classes"]
    # names from the label map above the SavedModel's folder
    names = {1: "a", 2: "b", 3: "c"}
    assert served["class_names"] == [names[c] for c in served["classes"]]


def test_odapi_layout_and_float_input(tiny, image_path, tmp_path):
    """The folder `exporter_main_v2.py` writes (the SavedModel in its
    `saved_model/`) and a float_image_tensor SavedModel both predict as
    the uint8 export does."""
    config, model = tiny
    uint8 = export_saved_model(model, config, tmp_path / "uint8")
    export_saved_model(model, config, tmp_path / "odapi" / "saved_model",
                       input_type="float_image_tensor")
    flags = ["--score-threshold", "0.2"]
    for name, source in (("a", uint8), ("b", tmp_path / "odapi")):
        assert main(["predict", str(image_path), "--saved-model",
                     str(source), "--output-dir", str(tmp_path / name),
                     *flags]) == 0
    want, got = entry(tmp_path / "a"), entry(tmp_path / "b")
    assert want["num_detections"] > 0
    assert got["classes"] == want["classes"]
    np.testing.assert_allclose(got["boxes"], want["boxes"], atol=0.05)
    np.testing.assert_allclose(got["scores"], want["scores"], atol=1e-4)


@pytest.mark.parametrize("flag, value", [
    ("--score-threshold", "1.5"), ("--score-threshold", "-0.1"),
    ("--max-detections", "0")])
def test_export_checks_its_numbers_before_loading(tmp_path, capsys, flag,
                                                  value):
    # no run folder at all: the numbers are refused before the model loads
    assert main(["export", "--model-dir", str(tmp_path / "missing"),
                 "--output-dir", str(tmp_path / "out"), flag, value]) == 2
    err = capsys.readouterr().err
    assert "Expected" in err and value in err and flag in err
    assert not (tmp_path / "out").exists()
