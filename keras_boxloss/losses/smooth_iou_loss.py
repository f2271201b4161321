"""Smooth IoU loss (Arif, Jameel, Schmidt-Thieme): Algorithm 1 of the paper."""

import typing

import keras
from keras import ops

from keras_boxloss.boxes import box_iou
from keras_boxloss.losses import validation
from keras_boxloss.losses.box_loss import IoUFamilyLoss, prepare_boxes
from keras_boxloss.losses.huber_box_loss import huber_box


def smooth_iou(y_true, y_pred, delta: float = 1.0,
               lambda_weight: typing.Optional[float] = None,
               lambda_gradient: bool = False, mask=None,
               box_format: str = "xyxy",
               scale_factors: typing.Optional[typing.Sequence[float]] = None,
               anchors=None, anchor_format: str = "yxyx", eps: float = 1e-7):
    """Smooth IoU loss per box: `lambda (1 - IoU_k) + (1 - lambda) Huber_k`.

    `lambda` is the mean IoU over the boxes of the batch (Algorithm 1, line 8),
    counting only boxes where `mask` is non-zero (padding must not drag it
    down) and whose IoU and Huber terms are finite (a box with a NaN or inf
    coordinate keeps its own NaN loss but leaves the others' loss and
    gradient as if it were not there, see `batch_lambda`), and 0 when no box
    counts. While predictions are poor, lambda is
    small and the loss is the Huber box loss, which has gradients for disjoint
    boxes; as the boxes overlap, weight moves to `1 - IoU`. The Huber term is
    computed on the coordinates as given (the encoded deltas in deltas mode,
    as the paper's TF Object Detection API did); IoU on the decoded boxes.

    By default lambda is a weight, not a path for gradients (stop-gradient):
    the loss then pulls each box only through its own terms. With
    `lambda_gradient=True` the gradient also flows through the batch mean,
    which couples every box to every other. `lambda_weight=` fixes lambda:
    0 gives `huber_box`, 1 gives `iou`.

    Args:
        y_true: `(..., 4)` target boxes in `box_format`.
        y_pred: `(..., 4)` predicted boxes in `box_format`.
        delta: the Huber term's delta, > 0.
        lambda_weight: None (batch mean IoU) or a fixed number in [0, 1].
        lambda_gradient: let gradients flow through the batch-mean lambda.
        mask: `(...)` weights or booleans; boxes where it is 0 do not count
            towards lambda. None counts every box.
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
    >>> # identical boxes: lambda = 1, loss = 1 - IoU = 0
    >>> float(smooth_iou([[0., 0., 4., 4.]], [[0., 0., 4., 4.]])[0])
    0.0
    """
    _check_lambda(lambda_weight, lambda_gradient)
    huber = huber_box(y_true, y_pred, delta)
    true_xyxy, pred_xyxy = prepare_boxes(y_true, y_pred, box_format,
                                         scale_factors, anchors,
                                         anchor_format, eps)
    overlap = box_iou(true_xyxy, pred_xyxy, eps)
    if lambda_weight is not None:
        weight = ops.cast(lambda_weight, overlap.dtype)
    else:
        weight = batch_lambda(overlap, huber, mask, lambda_gradient)
    return weight * (1.0 - overlap) + (1.0 - weight) * huber


def batch_lambda(overlap, huber, mask=None, lambda_gradient: bool = False):
    """Smooth IoU's lambda: the mean of `overlap` over the counted boxes.

    A box counts where `mask` is non-zero (every box when None) and both its
    IoU and its Huber term are finite. One box with a NaN or infinite
    coordinate would otherwise make the batch mean, and through it every
    box's loss and gradient, NaN; left out, it keeps its own NaN loss (so
    training still notices) and the others are computed as if it were not
    in the batch. 0 when no box counts.

    Returns lambda broadcast to `overlap`'s shape, ready to weight each box:
    with `lambda_gradient=True` the boxes left out get it without a gradient
    path, since their own non-finite `d loss / d lambda` would flow back
    into every counted box through the mean.
    """
    # The masks take no gradient; `where` selects, so the left-out boxes'
    # NaN reaches neither the sum nor (a zero cotangent) anything counted.
    finite = ops.logical_and(ops.isfinite(overlap), ops.isfinite(huber))
    counted = finite
    if mask is not None:
        counted = ops.logical_and(counted, ops.broadcast_to(
            ops.not_equal(ops.convert_to_tensor(mask), 0),
            ops.shape(overlap)))
    total = ops.sum(ops.where(counted, overlap, ops.zeros_like(overlap)))
    count = ops.sum(ops.cast(counted, overlap.dtype))
    weight = total / ops.maximum(count, 1.0)
    held = ops.stop_gradient(weight)
    if not lambda_gradient:
        return ops.broadcast_to(held, ops.shape(overlap))
    return ops.where(finite, weight, held)


def _check_lambda(lambda_weight, lambda_gradient):
    if lambda_weight is not None:
        if (not validation.is_number(lambda_weight)
                or not 0.0 <= lambda_weight <= 1.0):
            raise ValueError(
                "Expected `lambda_weight` to be None or a number in [0, 1]. "
                f"Received: lambda_weight={lambda_weight!r}")
    if not isinstance(lambda_gradient, bool):
        raise ValueError(
            "Expected `lambda_gradient` to be True or False. "
            f"Received: lambda_gradient={lambda_gradient!r}")


@keras.saving.register_keras_serializable(package="keras_boxloss")
class SmoothIoU(IoUFamilyLoss):
    """Smooth IoU loss: `lambda (1 - IoU_k) + (1 - lambda) Huber_k`.

    Algorithm 1 of Arif, Jameel and Schmidt-Thieme, "Directly Optimizing IoU
    for Bounding Box Localization". lambda is the mean IoU of the batch's
    boxes with non-zero `sample_weight` (in `per_box`, the boxes not
    masked: a detector's positives), held constant by default (a weight,
    not a gradient path; `lambda_gradient=True` lets gradients through), or
    fixed with `lambda_weight=`. Under a distribution strategy the mean is
    per replica, as the paper's single-GPU setup had it. See
    `keras_boxloss.losses.smooth_iou` for all arguments.

    Example:
    >>> import numpy as np
    >>> loss = SmoothIoU(delta=1.0)
    >>> y_true = np.array([[0., 0., 10., 10.], [0., 0., 10., 10.]])
    >>> y_pred = np.array([[0., 0., 10., 10.], [20., 20., 30., 30.]])
    >>> # lambda = mean IoU = 0.5; per box 0 and 0.5 * 1 + 0.5 * 4 * 19.5
    >>> float(loss(y_true, y_pred))
    19.75
    """

    fn = staticmethod(smooth_iou)

    def __init__(self, delta: float = 1.0,
                 lambda_weight: typing.Optional[float] = None,
                 lambda_gradient: bool = False, box_format: str = "xyxy",
                 scale_factors: typing.Optional[typing.Sequence[float]] = None,
                 anchors=None, anchor_format: str = "yxyx", eps: float = 1e-7,
                 reduction: typing.Optional[str] = "sum_over_batch_size",
                 name: typing.Optional[str] = None, dtype=None):
        validation.check_positive("delta", delta)
        _check_lambda(lambda_weight, lambda_gradient)
        super().__init__(box_format=box_format, scale_factors=scale_factors,
                         anchors=anchors, anchor_format=anchor_format,
                         eps=eps, reduction=reduction, name=name, dtype=dtype)
        self.fn_kwargs.update(delta=delta, lambda_weight=lambda_weight,
                              lambda_gradient=lambda_gradient)

    def _per_box_values(self, y_true, y_pred, mask, settings):
        # lambda over the unmasked boxes only: padding must not drag it down
        return smooth_iou(y_true, y_pred, mask=mask, **settings)
