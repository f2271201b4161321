from pathlib import Path

import pytest

from keras_boxloss.training.config import DETECTORS, load_config
from keras_boxloss.training.train import build_model

ROOT = Path(__file__).resolve().parents[2] / "model_garden_configs"
CONFIGS = sorted([*ROOT.glob("ssd/*.yaml"), *ROOT.glob("yolo/*.yaml")])


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_shipped_configs_load(path):
    config = load_config(path)
    assert config.detector == path.parent.name.replace("yolo", "yolo_v1")
    assert config.detector in DETECTORS


@pytest.mark.parametrize("path", [p for p in CONFIGS if "tiny" in p.name],
                         ids=lambda p: p.name)
def test_small_configs_build_their_models(path):
    config = load_config(path)
    model = build_model(config)
    assert model.inputs[0].shape[1:3] == (config.model.image_size,) * 2


def test_misspelt_key_names_the_key_and_the_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("loss:\n  box_los: giou\n")
    with pytest.raises(ValueError, match=r"bad.yaml.*loss.box_los"):
        load_config(path)


def test_wrong_type_and_unknown_choice(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("trainer:\n  steps: many\n")
    with pytest.raises(ValueError, match=r"Expected int at trainer.steps"):
        load_config(path)
    path.write_text("loss:\n  box_loss: siou\n")
    with pytest.raises(ValueError,
                       match=r"loss.box_loss.*Received: loss.box_loss='siou'"):
        load_config(path)


def test_overrides_apply_last(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("loss:\n  box_loss: giou\n")
    config = load_config(path, ["loss.box_loss=smooth_iou",
                                "loss.box_loss_params={delta: 0.5}",
                                "optimizer.learning_rate=1"])
    assert config.loss.box_loss == "smooth_iou"
    assert config.loss.box_loss_params == {"delta": 0.5}
    assert config.optimizer.learning_rate == 1.0
    with pytest.raises(ValueError, match="key=value"):
        load_config(path, ["loss.box_loss"])
