"""SIoU loss (Gevorgyan, "SIoU Loss: More Powerful Learning for Bounding Box
Regression", arXiv 2205.12740)."""

import keras

from keras_boxloss.boxes import scylla_box_iou
from keras_boxloss.losses import validation
from keras_boxloss.losses.box_loss import IoUFamilyLoss, prepare_boxes


def siou(y_true, y_pred, theta: float = 4.0, box_format: str = "xyxy",
         scale_factors=None, anchors=None, anchor_format: str = "yxyx",
         eps: float = 1e-7):
    """SIoU loss per box: `1 - IoU + (Delta + Omega) / 2`, in [0, 3].

    Gevorgyan, arXiv 2205.12740, eqs. (1)-(13), with `(dx, dy)` the offset
    between the box centres, `sigma` its length and `C_w`, `C_h` the
    enclosing box's width and height:

    - angle cost `Lambda = 1 - 2 sin^2(arcsin(|dy| / sigma) - pi / 4)`,
      which equals `sin(2 alpha) = 2 |dx| |dy| / sigma^2` (computed so: no
      arcsin or sqrt, whose gradients are infinite at 1 and 0); 0 when the
      centres align on an axis, 1 on a diagonal;
    - distance cost `Delta = sum_{t = x, y} (1 - exp(-gamma rho_t))`,
      `rho_x = (dx / C_w)^2`, `rho_y = (dy / C_h)^2`, `gamma = 2 - Lambda`;
    - shape cost `Omega = sum_{t = w, h} (1 - exp(-omega_t))^theta`,
      `omega_w = |w - w_gt| / max(w, w_gt)` (likewise h).

    No term is held constant: the paper detaches nothing. Public
    implementations compute the angle through sqrt and arcsin with eps
    inside; the closed form here is the paper's value without that eps. The
    angle and distance costs are not invariant under per-axis scaling, so
    deltas need `anchors`.

    Args:
        y_true: `(..., 4)` target boxes in `box_format`.
        y_pred: `(..., 4)` predicted boxes in `box_format`.
        theta: the shape cost's exponent, > 0 (the paper: 2 to 6, 4).
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
    >>> # same sizes (Omega = 0), centres offset along x only (Lambda = 0,
    >>> # gamma = 2): IoU 1/3, Delta = 1 - exp(-2 (5 / 15)^2)
    >>> round(float(siou([[0., 0., 10., 10.]], [[5., 0., 15., 10.]])[0]), 6)
    0.766298
    """
    theta = validation.check_positive("theta", theta)
    y_true, y_pred = prepare_boxes(y_true, y_pred, box_format, scale_factors,
                                   anchors, anchor_format, eps,
                                   requires_anchors=True, loss_name="SIoU")
    return 1.0 - scylla_box_iou(y_true, y_pred, theta, eps)


@keras.saving.register_keras_serializable(package="keras_boxloss")
class SIoU(IoUFamilyLoss):
    """SIoU loss: `1 - IoU + (Delta + Omega) / 2` (Gevorgyan, arXiv
    2205.12740): angle-aware distance cost plus shape cost.

    See `keras_boxloss.losses.siou` for the formula and the arguments, plus
    Keras' `reduction`, `name` and `dtype`.

    Example:
    >>> loss = SIoU(theta=1.0)
    >>> # same centre, half the width: IoU 1/2, Omega = 1 - exp(-1/2)
    >>> round(float(loss([[0., 0., 10., 10.]], [[2.5, 0., 7.5, 10.]])), 6)
    0.696735
    """

    fn = staticmethod(siou)
    requires_anchors = True

    def __init__(self, theta: float = 4.0, box_format: str = "xyxy",
                 scale_factors=None, anchors=None, anchor_format: str = "yxyx",
                 eps: float = 1e-7, reduction="sum_over_batch_size",
                 name=None, dtype=None):
        theta = validation.check_positive("theta", theta)
        super().__init__(box_format=box_format, scale_factors=scale_factors,
                         anchors=anchors, anchor_format=anchor_format,
                         eps=eps, reduction=reduction, name=name, dtype=dtype)
        self.fn_kwargs["theta"] = theta
