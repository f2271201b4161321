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
    path.write_text("loss:\n  box_loss: xiou\n")
    with pytest.raises(ValueError,
                       match=r"loss.box_loss.*Received: loss.box_loss='xiou'"):
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


def test_exponent_numbers_are_floats(tmp_path):
    # PyYAML reads 1e-4 and 1e12 as strings (it wants 1.0e-4): a float
    # field takes them, from the file and from --set.
    path = tmp_path / "c.yaml"
    path.write_text("optimizer:\n  learning_rate: 1e-4\n"
                    "  schedule: manual_step\n  boundaries: [10]\n"
                    "  rates: [1E-3, 5e-5]\n")
    config = load_config(path, ["optimizer.epsilon=1e12"])
    assert config.optimizer.learning_rate == 1e-4
    assert config.optimizer.rates == [1e-3, 5e-5]
    assert config.optimizer.epsilon == 1e12
    with pytest.raises(ValueError, match=r"Expected float at "
                                         r"optimizer.learning_rate\. "
                                         r"Received: '1e'"):
        load_config(None, ["optimizer.learning_rate=1e"])
    with pytest.raises(ValueError, match=r"Expected int at trainer.steps"):
        load_config(None, ["trainer.steps=1e3"])


def test_focal_parameters_reach_multibox_through_its_checks():
    tiny = ["model.image_size=64", "model.num_layers=3",
            "loss.classification=sigmoid_focal"]
    model = build_model(load_config(None, [*tiny, "loss.focal_alpha=0.5",
                                           "loss.focal_gamma=1.5"]))
    assert (model.multibox.focal_alpha, model.multibox.focal_gamma) == (
        0.5, 1.5)
    with pytest.raises(ValueError, match=r"loss.focal_gamma >= 0, finite.*"
                                         r"focal_gamma=inf"):
        load_config(None, [*tiny, "loss.focal_gamma=.inf"])
    from keras_boxloss.ssd.model import SSD

    with pytest.raises(ValueError, match=r"Expected `focal_gamma` to be a "
                                         r"finite number >= 0\. Received: "
                                         r"focal_gamma='2'"):
        SSD(3, image_size=64, backbone="tiny", num_layers=3,
            focal_gamma="2")


def test_an_empty_text_field_is_unset(tmp_path):
    # YAML reads `label_map:` and `--set data.label_map=` as null; "" is
    # what every text field uses for "not set".
    path = tmp_path / "c.yaml"
    path.write_text("data:\n  train: a.record\n  label_map:\n")
    config = load_config(path, ["data.validation="])
    assert (config.data.label_map, config.data.validation) == ("", "")
    with pytest.raises(ValueError, match=r"Expected int at trainer.steps"):
        load_config(None, ["trainer.steps="])
