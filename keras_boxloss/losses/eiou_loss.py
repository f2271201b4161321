"""EIoU and Focal-EIoU losses (Zhang et al., "Focal and Efficient IOU Loss
for Accurate Bounding Box Regression", arXiv 2101.08158)."""

import keras
from keras import ops

from keras_boxloss.boxes import _power, box_iou, efficient_box_iou
from keras_boxloss.losses import validation
from keras_boxloss.losses.box_loss import IoUFamilyLoss, prepare_boxes


def eiou(y_true, y_pred, box_format: str = "xyxy", scale_factors=None,
         anchors=None, anchor_format: str = "yxyx", eps: float = 1e-7):
    """EIoU loss per box:
    `1 - IoU + rho^2(b, b_gt) / c^2 + (w - w_gt)^2 / C_w^2 + (h - h_gt)^2 / C_h^2`.

    Zhang et al., arXiv 2101.08158, eq. (8): DIoU's centre term (`rho` the
    centre distance, `c` the enclosing box's diagonal) plus the width and
    height differences over the enclosing box's width `C_w` and height `C_h`
    (CIoU's aspect-ratio term split into two that vanish only when the sizes
    match). In [0, 4). The centre term is not invariant under per-axis
    scaling, so deltas need `anchors`; without them this raises.

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
    >>> # IoU 80/220; rho^2 / c^2 = 13/544; widths equal; (10/20)^2
    >>> round(float(eiou([[0., 0., 10., 20.]], [[2., 2., 12., 12.]])[0]), 6)
    0.910261
    """
    y_true, y_pred = prepare_boxes(y_true, y_pred, box_format, scale_factors,
                                   anchors, anchor_format, eps,
                                   requires_anchors=True, loss_name="EIoU")
    return 1.0 - efficient_box_iou(y_true, y_pred, eps)


def check_weight_gradient(weight_gradient):
    if not isinstance(weight_gradient, bool):
        raise ValueError(
            "Expected `weight_gradient` to be True or False. "
            f"Received: weight_gradient={weight_gradient!r}")
    return weight_gradient


def focal_eiou(y_true, y_pred, gamma: float = 0.5,
               weight_gradient: bool = False, box_format: str = "xyxy",
               scale_factors=None, anchors=None, anchor_format: str = "yxyx",
               eps: float = 1e-7):
    """Focal-EIoU loss per box: `IoU^gamma * L_EIoU`.

    Zhang et al., arXiv 2101.08158, eq. (13): the EIoU loss weighted by
    `IoU^gamma`, so that high-overlap boxes dominate the box regression.

    Gradient: by default the weight `IoU^gamma` is held constant
    (stop-gradient): it reweights each box's EIoU gradient and adds no
    gradient of its own. The paper writes only the product; differentiated
    as a whole (`weight_gradient=True`), the weight's own term points the
    other way: `IoU^gamma (1 - IoU)` increases with IoU below
    `IoU = gamma / (1 + gamma)` (1/3 for gamma = 0.5), so descending it
    pushes poorly overlapping boxes apart. `weight_gradient=True` gives that
    literal product; its gradient is finite (`IoU^gamma` continues linearly
    below `eps`), and disjoint boxes (IoU 0) get loss 0 and gradient 0
    either way, as in the paper.

    Args:
        y_true: `(..., 4)` target boxes in `box_format`.
        y_pred: `(..., 4)` predicted boxes in `box_format`.
        gamma: the weight's exponent, > 0; the paper's default 0.5.
        weight_gradient: let gradients flow through `IoU^gamma`.
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
    >>> # sqrt(80/220) * 0.910261
    >>> round(float(focal_eiou([[0., 0., 10., 20.]],
    ...                        [[2., 2., 12., 12.]])[0]), 6)
    0.548908
    """
    gamma = validation.check_positive("gamma", gamma)
    check_weight_gradient(weight_gradient)
    y_true, y_pred = prepare_boxes(y_true, y_pred, box_format, scale_factors,
                                   anchors, anchor_format, eps,
                                   requires_anchors=True,
                                   loss_name="FocalEIoU")
    weight = _power(box_iou(y_true, y_pred, eps), gamma, eps)
    if not weight_gradient:
        weight = ops.stop_gradient(weight)
    return weight * (1.0 - efficient_box_iou(y_true, y_pred, eps))


@keras.saving.register_keras_serializable(package="keras_boxloss")
class EIoU(IoUFamilyLoss):
    """EIoU loss: `1 - IoU + rho^2 / c^2 + (w - w_gt)^2 / C_w^2 +
    (h - h_gt)^2 / C_h^2` (Zhang et al., arXiv 2101.08158).

    See `keras_boxloss.losses.eiou` for the formula and the arguments, plus
    Keras' `reduction`, `name` and `dtype`. In deltas mode, pass fixed
    `anchors` here or call `eiou` with per-batch anchors.

    Example:
    >>> loss = EIoU()
    >>> # disjoint: 1 - 0 + 800/1800 + 0 + 0
    >>> round(float(loss([[0., 0., 10., 10.]], [[20., 20., 30., 30.]])), 6)
    1.444444
    """

    fn = staticmethod(eiou)
    requires_anchors = True


@keras.saving.register_keras_serializable(package="keras_boxloss")
class FocalEIoU(IoUFamilyLoss):
    """Focal-EIoU loss: `IoU^gamma * L_EIoU` (Zhang et al., arXiv
    2101.08158), `IoU^gamma` held constant unless `weight_gradient=True`.

    See `keras_boxloss.losses.focal_eiou` for the formula, the gradient
    choice and the arguments, plus Keras' `reduction`, `name` and `dtype`.

    Example:
    >>> loss = FocalEIoU(gamma=1.0)
    >>> # IoU 1/7 times EIoU 1 - 1/7 + 50/450
    >>> round(float(loss([[0., 0., 10., 10.]], [[5., 5., 15., 15.]])), 6)
    0.138322
    """

    fn = staticmethod(focal_eiou)
    requires_anchors = True

    def __init__(self, gamma: float = 0.5, weight_gradient: bool = False,
                 box_format: str = "xyxy", scale_factors=None, anchors=None,
                 anchor_format: str = "yxyx", eps: float = 1e-7,
                 reduction="sum_over_batch_size", name=None, dtype=None):
        gamma = validation.check_positive("gamma", gamma)
        check_weight_gradient(weight_gradient)
        super().__init__(box_format=box_format, scale_factors=scale_factors,
                         anchors=anchors, anchor_format=anchor_format,
                         eps=eps, reduction=reduction, name=name, dtype=dtype)
        self.fn_kwargs.update(gamma=gamma, weight_gradient=weight_gradient)
