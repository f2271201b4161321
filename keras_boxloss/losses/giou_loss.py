"""GIoU loss (Rezatofighi et al., 2019): 1 - GIoU."""

import typing

import keras

from keras_boxloss.boxes import generalized_box_iou
from keras_boxloss.losses.box_loss import IoUFamilyLoss, prepare_boxes


def giou(y_true, y_pred, box_format: str = "xyxy",
         scale_factors: typing.Optional[typing.Sequence[float]] = None,
         anchors=None, anchor_format: str = "yxyx", eps: float = 1e-7):
    """GIoU loss per box: `1 - IoU + |C \\ (A u B)| / |C|`, in [0, 2].

    `C` is the smallest box enclosing both, so disjoint boxes still get a
    gradient that pulls them together. Invariant under translation and
    per-axis scaling, so deltas need no anchor.

    Args:
        y_true: `(..., 4)` target boxes in `box_format`.
        y_pred: `(..., 4)` predicted boxes in `box_format`.
        box_format: "xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw",
            "yxhw", or "deltas" (see `keras_boxloss.losses.iou`).
        scale_factors: deltas mode only: `(sy, sx, sh, sw)`, default
            (10, 10, 5, 5).
        anchors: deltas mode only: anchors to decode against (not needed).
        anchor_format: the format of `anchors`.
        eps: added to every denominator, > 0.

    Returns:
        `(...)` loss per box.

    Example:
    >>> round(float(giou([[0., 0., 10., 10.]], [[5., 5., 15., 15.]])[0]), 6)
    1.079365
    """
    y_true, y_pred = prepare_boxes(y_true, y_pred, box_format, scale_factors,
                                   anchors, anchor_format, eps)
    return 1.0 - generalized_box_iou(y_true, y_pred, eps)


@keras.saving.register_keras_serializable(package="keras_boxloss")
class GIoU(IoUFamilyLoss):
    """GIoU loss: `1 - GIoU` (Rezatofighi et al., 2019).

    See `keras_boxloss.losses.giou` for the formula and the arguments, plus
    Keras' `reduction`, `name` and `dtype`.

    Example:
    >>> loss = GIoU()
    >>> round(float(loss([[0., 0., 10., 10.]], [[20., 20., 30., 30.]])), 6)
    1.777778
    """

    fn = staticmethod(giou)
