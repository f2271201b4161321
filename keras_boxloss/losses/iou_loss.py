"""IoU loss: 1 - IoU, or -ln(IoU) (UnitBox)."""

import typing

import keras
from keras import ops

from keras_boxloss.boxes import box_iou
from keras_boxloss.losses import validation
from keras_boxloss.losses.box_loss import IoUFamilyLoss, prepare_boxes

IOU_MODES = ("linear", "log")


def iou(y_true, y_pred, mode: str = "linear", box_format: str = "xyxy",
        scale_factors: typing.Optional[typing.Sequence[float]] = None,
        anchors=None, anchor_format: str = "yxyx", eps: float = 1e-7):
    """IoU loss per box: `1 - IoU` ("linear") or `-ln(IoU + eps)` ("log").

    `IoU = |A n B| / (|A u B| + eps)`. The log form is UnitBox's (Yu et al.,
    2016); `eps` keeps it finite for disjoint boxes (at most `-ln(eps)`).
    Disjoint boxes have zero gradient in both modes: use GIoU, DIoU or CIoU
    where that matters.

    Args:
        y_true: `(..., 4)` target boxes in `box_format`.
        y_pred: `(..., 4)` predicted boxes in `box_format`.
        mode: "linear" or "log".
        box_format: "xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw",
            "yxhw", or "deltas" (`[ty, tx, th, tw]` of the Faster R-CNN box
            coder, compared as the boxes they decode to against one anchor;
            IoU is invariant under that anchor, so none is needed).
        scale_factors: deltas mode only: the coder's `(sy, sx, sh, sw)`,
            default (10, 10, 5, 5); SSD variances are their inverses.
        anchors: deltas mode only: anchors to decode against (not needed).
        anchor_format: the format of `anchors`.
        eps: added to every denominator, > 0.

    Returns:
        `(...)` loss per box.

    Example:
    >>> round(float(iou([[0., 0., 10., 10.]], [[5., 5., 15., 15.]])[0]), 6)
    0.857143
    """
    validation.check_choice("mode", mode, IOU_MODES)
    y_true, y_pred = prepare_boxes(y_true, y_pred, box_format, scale_factors,
                                   anchors, anchor_format, eps)
    overlap = box_iou(y_true, y_pred, eps)
    if mode == "log":
        return -ops.log(overlap + eps)
    return 1.0 - overlap


@keras.saving.register_keras_serializable(package="keras_boxloss")
class IoU(IoUFamilyLoss):
    """IoU loss: `1 - IoU` (mode="linear") or `-ln(IoU)` (mode="log").

    See `keras_boxloss.losses.iou` for the formula and the arguments
    (`mode`, `box_format`, `scale_factors`, `anchors`, `anchor_format`,
    `eps`), plus Keras' `reduction`, `name` and `dtype`.

    Example:
    >>> loss = IoU()
    >>> round(float(loss([[0., 0., 10., 10.]], [[5., 5., 15., 15.]])), 6)
    0.857143
    """

    fn = staticmethod(iou)

    def __init__(self, mode: str = "linear", box_format: str = "xyxy",
                 scale_factors: typing.Optional[typing.Sequence[float]] = None,
                 anchors=None, anchor_format: str = "yxyx", eps: float = 1e-7,
                 reduction: typing.Optional[str] = "sum_over_batch_size",
                 name: typing.Optional[str] = None, dtype=None):
        validation.check_choice("mode", mode, IOU_MODES)
        super().__init__(box_format=box_format, scale_factors=scale_factors,
                         anchors=anchors, anchor_format=anchor_format,
                         eps=eps, reduction=reduction, name=name, dtype=dtype)
        self.fn_kwargs["mode"] = mode
