"""The SSD and YOLOv1 built from a config get their box loss with
pixel-length defaults scaled to their normalised boxes (NWD's constant)."""

import pytest

from keras_boxloss.training.config import load_config
from keras_boxloss.training.train import build_model


@pytest.mark.parametrize("detector, extra", [
    ("ssd", ["model.backbone=tiny", "model.num_layers=3"]),
    ("yolo_v1", ["model.backbone=tiny", "model.grid_size=4"]),
])
def test_nwd_constant_is_12_8_pixels_of_the_image(detector, extra):
    config = load_config(overrides=[
        f"detector={detector}", "model.image_size=64", "model.num_classes=2",
        "loss.box_loss=nwd", *extra])
    model = build_model(config)
    loss = model.multibox if detector == "ssd" else model.yolo_loss
    # 12.8 pixels of a 64-pixel image, in the boxes' normalised units
    assert loss.box_loss.get_config()["constant"] == pytest.approx(0.2)


def test_a_given_constant_is_used_as_given():
    config = load_config(overrides=[
        "detector=ssd", "model.image_size=64", "model.num_classes=2",
        "model.backbone=tiny", "model.num_layers=3", "loss.box_loss=nwd",
        "loss.box_loss_params={constant: 0.5}"])
    box_loss = build_model(config).multibox.box_loss
    assert box_loss.get_config()["constant"] == 0.5
