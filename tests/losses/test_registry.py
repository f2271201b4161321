import pytest

from keras_boxloss import CIoU, HuberBox, SmoothIoU
from keras_boxloss.losses.registry import BOX_LOSSES, get_box_loss


def test_names_build_their_losses_with_arguments():
    assert isinstance(get_box_loss("huber"), HuberBox)
    assert isinstance(get_box_loss("ciou"), CIoU)
    loss = get_box_loss("smooth_iou", delta=0.5)
    assert isinstance(loss, SmoothIoU) and loss.fn_kwargs["delta"] == 0.5
    assert set(BOX_LOSSES) >= {"huber", "iou", "giou", "diou", "ciou",
                               "smooth_iou", "mpdiou", "inner_iou",
                               "shape_iou", "nwd", "balanced_l1"}


def test_unknown_name_lists_the_choices():
    with pytest.raises(ValueError, match="'smooth_iou'.*Received: loss='siou'"):
        get_box_loss("siou")
