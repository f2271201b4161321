import pytest

from keras_boxloss import CIoU, HuberBox, SmoothIoU
from keras_boxloss.losses.registry import BOX_LOSSES, get_box_loss


def test_names_build_their_losses_with_arguments():
    assert isinstance(get_box_loss("huber"), HuberBox)
    assert isinstance(get_box_loss("ciou"), CIoU)
    loss = get_box_loss("smooth_iou", delta=0.5)
    assert isinstance(loss, SmoothIoU) and loss.get_config()["delta"] == 0.5
    assert set(BOX_LOSSES) >= {"huber", "iou", "giou", "diou", "ciou",
                               "smooth_iou", "mpdiou", "inner_iou",
                               "shape_iou", "nwd", "balanced_l1", "eiou",
                               "focal_eiou", "alpha_iou", "siou", "wiou"}


def test_unknown_name_lists_the_choices():
    with pytest.raises(ValueError,
                       match="'smooth_iou'.*Received: loss='xiou'"):
        get_box_loss("xiou")


def test_zoo_losses_reach_every_consumer_of_the_registry():
    """compare --losses, the SSD/YOLOv1 training configs, the detectors'
    box loss and the Model Garden plug-in's `type:` take the new names."""
    from keras_boxloss.compare.plan import parse_losses
    from keras_boxloss.losses import MultiBox
    from keras_boxloss.training.config import load_config

    names = ["eiou", "focal_eiou", "alpha_iou", "siou", "wiou"]
    assert parse_losses(",".join(names)) == names
    for name in names:
        config = load_config(overrides=(f"loss.box_loss={name}",))
        assert config.loss.box_loss == name
        MultiBox(2, box_loss=get_box_loss(name),
                 anchors=[[0.0, 0.0, 1.0, 1.0]])
    configs = pytest.importorskip("keras_boxloss.model_garden.configs")
    for name in names:
        loss = configs.build_box_loss(configs.BoxLossConfig(type=name), 1.0)
        assert type(loss) is BOX_LOSSES[name]
    assert {"eiou", "focal_eiou", "siou", "wiou"} <= set(
        configs.ANCHORED_TYPES)
