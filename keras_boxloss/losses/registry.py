"""Losses by config name ("smooth_iou"), for CLIs and config files."""

import math

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


# Arguments that are lengths in the boxes' units, with their defaults in
# pixels (NWD's C: 12.8 pixels, AI-TOD's mean object size in the paper).
PIXEL_LENGTH_DEFAULTS = {"nwd": {"constant": 12.8}}


def get_normalized_box_loss(name, image_size, **kwargs):
    """`get_box_loss` for a detector whose boxes are normalised to [0, 1]
    (the SSD's anchors, YOLOv1's boxes) on `image_size` pixel images (an
    int or `(height, width)`).

    A length argument left at its pixel default (`PIXEL_LENGTH_DEFAULTS`:
    NWD's `constant`, 12.8) is divided by the image size (the geometric
    mean of height and width), so that it is the same 12.8 pixels: on
    normalised boxes the raw default would be 12.8 image widths, and NWD
    nearly linear and tiny. An argument given is used as given, in the
    boxes' (normalised) units. MPDIoU's default image (1, 1) is already the
    normalised image.
    """
    sizes = ((image_size, image_size) if isinstance(image_size, (int, float))
             else tuple(image_size))
    if len(sizes) != 2 or not all(isinstance(s, (int, float)) and s > 0
                                  for s in sizes):
        raise ValueError(
            "Expected `image_size` to be a number > 0 or (height, width). "
            f"Received: image_size={image_size!r}")
    scale = math.sqrt(sizes[0] * sizes[1])
    for argument, pixels in PIXEL_LENGTH_DEFAULTS.get(name, {}).items():
        kwargs.setdefault(argument, pixels / scale)
    return get_box_loss(name, **kwargs)
