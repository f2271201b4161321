"""DIoU loss (Zheng et al., 2020): 1 - IoU + rho^2 / c^2."""

import typing

import keras

from keras_boxloss.boxes import distance_box_iou
from keras_boxloss.losses.box_loss import IoUFamilyLoss, prepare_boxes


def diou(y_true, y_pred, box_format: str = "xyxy",
         scale_factors: typing.Optional[typing.Sequence[float]] = None,
         anchors=None, anchor_format: str = "yxyx", eps: float = 1e-7):
    """DIoU loss per box: `1 - IoU + rho^2(b, b_gt) / c^2`, in [0, 2].

    `rho` is the distance between the box centres and `c` the diagonal of the
    smallest enclosing box. The centre term is not invariant under the
    anchor, so deltas need `anchors`; without them this raises.

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
    >>> round(float(diou([[0., 0., 10., 10.]], [[5., 5., 15., 15.]])[0]), 6)
    0.968254
    """
    y_true, y_pred = prepare_boxes(y_true, y_pred, box_format, scale_factors,
                                   anchors, anchor_format, eps,
                                   requires_anchors=True, loss_name="DIoU")
    return 1.0 - distance_box_iou(y_true, y_pred, eps)


@keras.saving.register_keras_serializable(package="keras_boxloss")
class DIoU(IoUFamilyLoss):
    """DIoU loss: `1 - IoU + rho^2 / c^2` (Zheng et al., 2020).

    See `keras_boxloss.losses.diou` for the formula and the arguments, plus
    Keras' `reduction`, `name` and `dtype`. In deltas mode, pass fixed
    `anchors` here (SSD default boxes) or call `diou` with per-batch anchors.

    Example:
    >>> loss = DIoU()
    >>> round(float(loss([[0., 0., 10., 10.]], [[20., 20., 30., 30.]])), 6)
    1.444444
    """

    fn = staticmethod(diou)
    requires_anchors = True
