"""MPDIoU loss (Ma and Xu, 2023): IoU minus the corner distances over the
image's diagonal."""

import keras
import numpy as np

from keras_boxloss.boxes import mpd_box_iou
from keras_boxloss.losses import validation
from keras_boxloss.losses.box_loss import IoUFamilyLoss, prepare_boxes


def check_image_size(image_size):
    """(height, width): 2 finite numbers > 0, returned as a tuple of floats."""
    if (not isinstance(image_size, (list, tuple, np.ndarray))
            or np.ndim(image_size) != 1 or len(image_size) != 2
            or not all(validation.is_number(s) and s > 0
                       for s in image_size)):
        raise ValueError(
            "Expected `image_size` to be 2 finite numbers > 0 "
            f"(height, width). Received: image_size={image_size!r}")
    return tuple(float(s) for s in image_size)


def mpdiou(y_true, y_pred, image_size=(1.0, 1.0), box_format: str = "xyxy",
           scale_factors=None, anchors=None, anchor_format: str = "yxyx",
           eps: float = 1e-7):
    """MPDIoU loss per box: `1 - IoU + (d1^2 + d2^2) / (w^2 + h^2)`.

    Ma and Xu, "MPDIoU: A Loss for Efficient and Accurate Bounding Box
    Regression" (arXiv 2307.07662): `d1` and `d2` are the distances between
    the two boxes' top-left corners and between their bottom-right corners,
    `(h, w) = image_size` the input image's height and width. The loss is 0
    only for identical boxes and, unlike IoU, has a gradient for disjoint
    ones. It is translation invariant but not scale invariant: `image_size`
    must be in the boxes' units. The default (1, 1) is an image in
    normalised coordinates, as the SSD's anchors and YOLOv1's boxes are;
    give `(height, width)` in pixels for pixel boxes.

    In deltas mode the boxes are decoded against `anchors` (required), so
    "the image" is the frame the anchors are in: `image_size` is in the
    anchors' units ((1, 1) for normalised anchors, the image's pixel size for
    pixel anchors such as Model Garden's).

    Args:
        y_true: `(..., 4)` target boxes in `box_format`.
        y_pred: `(..., 4)` predicted boxes in `box_format`.
        image_size: `(height, width)` of the image, 2 numbers > 0, in the
            boxes' (or the anchors') units.
        box_format: "xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw",
            "yxhw", or "deltas" (then `anchors` is required).
        scale_factors: deltas mode only: `(sy, sx, sh, sw)`, default
            (10, 10, 5, 5).
        anchors: deltas mode: `(..., 4)` anchors broadcastable to the boxes.
        anchor_format: the format of `anchors`, default "yxyx".
        eps: added to every denominator, > 0.

    Returns:
        `(...)` loss per box.

    Example:
    >>> # IoU 1/7; d1^2 = d2^2 = 50; image 20 x 20: 1 - 1/7 + 100 / 800
    >>> round(float(mpdiou([[0., 0., 10., 10.]], [[5., 5., 15., 15.]],
    ...                    image_size=(20, 20))[0]), 6)
    0.982143
    """
    image_size = check_image_size(image_size)
    y_true, y_pred = prepare_boxes(y_true, y_pred, box_format, scale_factors,
                                   anchors, anchor_format, eps,
                                   requires_anchors=True, loss_name="MPDIoU")
    return 1.0 - mpd_box_iou(y_true, y_pred, image_size, eps)


@keras.saving.register_keras_serializable(package="keras_boxloss")
class MPDIoU(IoUFamilyLoss):
    """MPDIoU loss: `1 - IoU + (d1^2 + d2^2) / (w^2 + h^2)` (Ma and Xu,
    arXiv 2307.07662).

    See `keras_boxloss.losses.mpdiou` for the formula and the arguments
    (`image_size`, `box_format`, `scale_factors`, `anchors`,
    `anchor_format`, `eps`), plus Keras' `reduction`, `name` and `dtype`.

    Example:
    >>> loss = MPDIoU(image_size=(20, 20))
    >>> round(float(loss([[0., 0., 10., 10.]], [[20., 20., 30., 30.]])), 6)
    3.0
    """

    fn = staticmethod(mpdiou)
    requires_anchors = True

    def __init__(self, image_size=(1.0, 1.0), box_format: str = "xyxy",
                 scale_factors=None, anchors=None, anchor_format: str = "yxyx",
                 eps: float = 1e-7, reduction="sum_over_batch_size",
                 name=None, dtype=None):
        image_size = check_image_size(image_size)
        super().__init__(box_format=box_format, scale_factors=scale_factors,
                         anchors=anchors, anchor_format=anchor_format,
                         eps=eps, reduction=reduction, name=name, dtype=dtype)
        self.fn_kwargs["image_size"] = image_size
