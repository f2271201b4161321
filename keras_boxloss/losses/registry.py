"""Losses by config name ("smooth_iou"), for CLIs and config files."""

from keras_boxloss.losses.alpha_iou_loss import AlphaIoU
from keras_boxloss.losses.balanced_l1_loss import BalancedL1
from keras_boxloss.losses.ciou_loss import CIoU
from keras_boxloss.losses.diou_loss import DIoU
from keras_boxloss.losses.eiou_loss import EIoU, FocalEIoU
from keras_boxloss.losses.giou_loss import GIoU
from keras_boxloss.losses.huber_box_loss import HuberBox
from keras_boxloss.losses.inner_iou_loss import InnerIoU
from keras_boxloss.losses.iou_loss import IoU
from keras_boxloss.losses.mpdiou_loss import MPDIoU
from keras_boxloss.losses.nwd_loss import NWD
from keras_boxloss.losses.shape_iou_loss import ShapeIoU
from keras_boxloss.losses.siou_loss import SIoU
from keras_boxloss.losses.smooth_iou_loss import SmoothIoU
from keras_boxloss.losses.validation import check_choice
from keras_boxloss.losses.wiou_loss import WIoU

BOX_LOSSES = {
    "huber": HuberBox,
    "iou": IoU,
    "giou": GIoU,
    "diou": DIoU,
    "ciou": CIoU,
    "smooth_iou": SmoothIoU,
    "eiou": EIoU,
    "focal_eiou": FocalEIoU,
    "alpha_iou": AlphaIoU,
    "siou": SIoU,
    "wiou": WIoU,
    "mpdiou": MPDIoU,
    "inner_iou": InnerIoU,
    "shape_iou": ShapeIoU,
    "nwd": NWD,
    "balanced_l1": BalancedL1,
}


def get_box_loss(name, **kwargs):
    """Builds the box loss registered as `name` with its keyword arguments."""
    check_choice("loss", name, tuple(BOX_LOSSES))
    return BOX_LOSSES[name](**kwargs)
