"""CIoU loss (Zheng et al., 2020): DIoU plus an aspect-ratio term."""

import typing

import keras

from keras_boxloss.boxes import complete_box_iou
from keras_boxloss.losses.box_loss import IoUFamilyLoss, prepare_boxes


def ciou(y_true, y_pred, box_format: str = "xyxy",
         scale_factors: typing.Optional[typing.Sequence[float]] = None,
         anchors=None, anchor_format: str = "yxyx", eps: float = 1e-7):
    """CIoU loss per box: `1 - IoU + rho^2 / c^2 + alpha v`.

    `v = 4 / pi^2 (atan(w_t / (h_t + eps)) - atan(w_p / (h_p + eps)))^2` and
    `alpha = v / (1 - IoU + v + eps)`, held constant (stop-gradient) as in the
    paper. Always >= DIoU. Deltas need `anchors`; without them this raises.

    Args:
        y_true: `(..., 4)` target boxes in `box_format`.
        y_pred: `(..., 4)` predicted boxes in `box_format`.
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
    >>> round(float(ciou([[0., 0., 10., 20.]], [[2., 2., 12., 12.]])[0]), 6)
    0.662856
    """
    y_true, y_pred = prepare_boxes(y_true, y_pred, box_format, scale_factors,
                                   anchors, anchor_format, eps,
                                   requires_anchors=True, loss_name="CIoU")
    return 1.0 - complete_box_iou(y_true, y_pred, eps)


@keras.saving.register_keras_serializable(package="keras_boxloss")
class CIoU(IoUFamilyLoss):
    """CIoU loss: `1 - IoU + rho^2 / c^2 + alpha v` (Zheng et al., 2020).

    See `keras_boxloss.losses.ciou` for the formula and the arguments, plus
    Keras' `reduction`, `name` and `dtype`.

    Example:
    >>> loss = CIoU()
    >>> round(float(loss([[0., 0., 10., 20.]], [[2., 2., 12., 12.]])), 6)
    0.662856
    """

    fn = staticmethod(ciou)
    requires_anchors = True
