"""Losses by config name ("smooth_iou"), for CLIs and config files."""

from keras_boxloss.losses.ciou_loss import CIoU
from keras_boxloss.losses.diou_loss import DIoU
from keras_boxloss.losses.giou_loss import GIoU
from keras_boxloss.losses.huber_box_loss import HuberBox
from keras_boxloss.losses.iou_loss import IoU
from keras_boxloss.losses.smooth_iou_loss import SmoothIoU
from keras_boxloss.losses.validation import check_choice

BOX_LOSSES = {
    "huber": HuberBox,
    "iou": IoU,
    "giou": GIoU,
    "diou": DIoU,
    "ciou": CIoU,
    "smooth_iou": SmoothIoU,
}


def get_box_loss(name, **kwargs):
    """Builds the box loss registered as `name` with its keyword arguments."""
    check_choice("loss", name, tuple(BOX_LOSSES))
    return BOX_LOSSES[name](**kwargs)
