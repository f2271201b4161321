"""Wise-IoU losses v1 and v3 (Tong et al., "Wise-IoU: Bounding Box
Regression Loss with Dynamic Focusing Mechanism", arXiv 2301.10051)."""

import math

import keras
from keras import ops

from keras_boxloss import boxes, dual
from keras_boxloss.losses import validation
from keras_boxloss.losses.box_loss import IoUFamilyLoss, prepare_boxes

VERSIONS = (1, 3)
# The authors' implementation's momentum: the initial mean's weight halves
# every 7000 updates.
DEFAULT_MOMENTUM = 1.0 - 0.5 ** (1.0 / 7000.0)


def check_wiou_args(version, alpha, delta, iou_loss_mean, momentum=0.0):
    if isinstance(version, bool) or version not in VERSIONS:
        raise ValueError(
            f"Expected `version` to be one of {list(VERSIONS)} (v2 is not "
            f"implemented). Received: version={version!r}")
    alpha = validation.check_positive("alpha", alpha)
    delta = validation.check_positive("delta", delta)
    if iou_loss_mean is not None and not _is_tensor(iou_loss_mean):
        iou_loss_mean = validation.check_positive("iou_loss_mean",
                                                  iou_loss_mean)
    if not validation.is_number(momentum) or not 0.0 <= momentum <= 1.0:
        raise ValueError(
            "Expected `momentum` to be a number in [0, 1]. "
            f"Received: momentum={momentum!r}")
    return int(version), alpha, delta, iou_loss_mean, float(momentum)


def _is_tensor(value):
    return hasattr(value, "shape") and hasattr(value, "dtype")


def focusing_coefficient(iou_loss, iou_loss_mean, alpha=1.9, delta=3.0,
                         eps=1e-7):
    """WIoU v3's non-monotonic focusing coefficient `r = beta / (delta
    alpha^(beta - delta))`, `beta = L_IoU* / mean(L_IoU)` the outlier degree,
    held constant (stop-gradient) as the paper's star says.

    Written `beta / delta * exp(-(beta - delta) ln alpha)`: alpha^beta would
    overflow for the large beta of a small running mean; this goes to 0.
    """
    iou_loss = ops.stop_gradient(iou_loss)
    mean = ops.cast(ops.stop_gradient(iou_loss_mean), iou_loss.dtype)
    beta = iou_loss / (mean + eps)
    return beta / delta * ops.exp(-(beta - delta) * math.log(alpha))


def update_iou_loss_mean(iou_loss_mean, iou_loss, momentum, mask=None):
    """The running mean of the IoU loss, one step: `(1 - m) mean + m
    mean_batch(L_IoU)`, over the boxes where `mask` is non-zero and the IoU
    loss is finite; unchanged when no box counts. Pure: for the function
    form (`wiou(..., iou_loss_mean=)`) in a functional train step (JAX)."""
    iou_loss = ops.stop_gradient(iou_loss)
    counted = ops.isfinite(iou_loss)
    if mask is not None:
        counted = ops.logical_and(counted, ops.broadcast_to(
            ops.not_equal(ops.convert_to_tensor(mask), 0),
            ops.shape(iou_loss)))
    total = ops.sum(ops.where(counted, iou_loss, ops.zeros_like(iou_loss)))
    count = ops.sum(ops.cast(counted, iou_loss.dtype))
    old = ops.cast(iou_loss_mean, iou_loss.dtype)
    batch = total / ops.maximum(count, 1.0)
    new = (1.0 - momentum) * old + momentum * batch
    return ops.where(ops.greater(count, 0.0), new, old)


def _distance_attention(t, p, eps):
    """WIoU v1's R = exp(rho^2 / (W_g^2 + H_g^2)*): only the enclosing box's
    size is held constant (the paper's star), the centre distance keeps its
    gradient. rho <= the enclosing diagonal, so R is in [1, e]."""
    cx1, cy1, cx2, cy2 = boxes._enclosing(t, p)
    diagonal = ops.stop_gradient(ops.square(cx2 - cx1)
                                 + ops.square(cy2 - cy1))
    rho2 = 0.25 * (ops.square((t[0] - p[0]) + (t[2] - p[2]))
                   + ops.square((t[1] - p[1]) + (t[3] - p[3])))
    return ops.exp(rho2 / (diagonal + eps))


def wiou(y_true, y_pred, version: int = 1, iou_loss_mean=None,
         alpha: float = 1.9, delta: float = 3.0, box_format: str = "xyxy",
         scale_factors=None, anchors=None, anchor_format: str = "yxyx",
         eps: float = 1e-7):
    """Wise-IoU loss per box, v1 or v3.

    Tong et al., arXiv 2301.10051:

    - v1, eq. (4)-(5): `L = R_WIoU (1 - IoU)`, `R_WIoU = exp(rho^2 /
      (W_g^2 + H_g^2)*)`, `rho` the centre distance and `W_g`, `H_g` the
      enclosing box's width and height. The star: `W_g^2 + H_g^2` is held
      constant (stop-gradient), as the paper says, so R still pulls the
      centres together. In [0, e).
    - v3, eq. (8)-(9): `L = r L_v1`, `r = beta / (delta alpha^(beta -
      delta))`, `beta = L_IoU* / mean(L_IoU)` with `L_IoU = 1 - IoU`; `r` is
      held constant (the star on `L_IoU`). Boxes of ordinary quality
      (`beta` near `delta`'s peak) get the largest weight, outliers (very
      poor boxes, large beta) and very good ones small weights.

    This function is pure: v3 takes the running mean `iou_loss_mean` (a
    number or a scalar tensor) as an argument; `update_iou_loss_mean`
    computes its next value. The `WIoU` class keeps that mean as state.

    The centre term is not invariant under per-axis scaling, so deltas need
    `anchors`; without them this raises.

    Args:
        y_true: `(..., 4)` target boxes in `box_format`.
        y_pred: `(..., 4)` predicted boxes in `box_format`.
        version: 1 or 3.
        iou_loss_mean: v3 (required there): the running mean of `1 - IoU`,
            > 0. Ignored by v1.
        alpha: v3's alpha, > 0 (the paper's 1.9).
        delta: v3's delta, > 0 (the paper's 3).
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
    >>> # IoU 1/7; rho^2 = 50, enclosing diagonal^2 = 450
    >>> round(float(wiou([[0., 0., 10., 10.]], [[5., 5., 15., 15.]])[0]), 6)
    0.957873
    >>> # v3, the mean at this box's IoU loss: beta = 1, r = 1.9^2 / 3
    >>> round(float(wiou([[0., 0., 10., 10.]], [[5., 5., 15., 15.]],
    ...                  version=3, iou_loss_mean=6 / 7)[0]), 6)
    1.152641
    """
    version, alpha, delta, iou_loss_mean, _ = check_wiou_args(
        version, alpha, delta, iou_loss_mean)
    if version == 3 and iou_loss_mean is None:
        raise ValueError(
            "Expected `iou_loss_mean` (the running mean of 1 - IoU, > 0) "
            "with version=3 (see update_iou_loss_mean). "
            "Received: iou_loss_mean=None")
    y_true, y_pred = prepare_boxes(y_true, y_pred, box_format, scale_factors,
                                   anchors, anchor_format, eps,
                                   requires_anchors=True, loss_name="WIoU")
    t, p = dual.columns(y_true), dual.columns(y_pred)
    iou_loss = 1.0 - boxes._iou(t, p, eps)[0]
    loss = _distance_attention(t, p, eps) * iou_loss
    if version == 3:
        loss = focusing_coefficient(iou_loss, iou_loss_mean, alpha, delta,
                                    eps) * loss
    return boxes._per_box(loss)


@keras.saving.register_keras_serializable(package="keras_boxloss")
class WIoU(IoUFamilyLoss):
    """Wise-IoU loss, v1 (`R_WIoU (1 - IoU)`) or v3 (`r R_WIoU (1 - IoU)`,
    with a running mean of the IoU loss), Tong et al., arXiv 2301.10051.

    See `keras_boxloss.losses.wiou` for the formulas and the arguments;
    here also `momentum` (v3) and Keras' `reduction`, `name` and `dtype`.

    v3's state, decided as follows:

    - The running mean of `1 - IoU` lives in a non-trainable float32
      `keras.Variable` owned by the loss (`iou_loss_mean_variable`),
      created with the loss and started at `iou_loss_mean` (default 1, as
      the authors' code). Each call first moves it, `mean <- (1 - m) mean +
      m batch_mean(1 - IoU)` over the boxes with non-zero `sample_weight`
      (and finite IoU; none counted: unchanged), then uses the new value,
      as the authors' code does. The batch mean takes no gradient.
    - Under TensorFlow it is updated with `assign` inside `fit`, with and
      without `jit_compile`. Every call moves it, so `evaluate` and
      validation in `fit` do too (a Keras loss is not told whether it is
      training); the authors' code moves it in training only.
    - Under `tf.distribute`, build the loss inside `strategy.scope()`: the
      variable is then mirrored with `aggregation="mean"`, so each step's
      per-replica updates are all-reduced to their mean (the running mean
      of the replicas' batch means).
    - Under JAX, a jitted or differentiated train step only threads model,
      optimizer and metric variables, so an update made there would be
      dropped silently. `WIoU(version=3, momentum>0)` therefore raises when
      called on traced values (any `fit` under JAX); eager calls update it.
      On JAX use `momentum=0` (a fixed mean) or the function `wiou` with
      `iou_loss_mean=` and `update_iou_loss_mean` in your own train step.
    - `get_config` (and so `.keras` files and clones) records `momentum`
      and the mean's current value as `iou_loss_mean`, so a reloaded loss
      resumes where it stopped.
    - `momentum=0` keeps the mean at `iou_loss_mean`: a pure loss.

    The paper's schedule sets `m = 1 - 0.05^(1 / (t n))` for `t n` training
    steps; the default is the authors' code's `1 - 0.5^(1 / 7000)`.

    Example:
    >>> loss = WIoU(version=3, momentum=0.5, iou_loss_mean=1.0)
    >>> _ = loss([[0., 0., 10., 10.]], [[20., 20., 30., 30.]])  # IoU loss 1
    >>> round(float(loss.get_config()["iou_loss_mean"]), 6)
    1.0
    >>> _ = loss([[0., 0., 10., 10.]], [[0., 0., 10., 10.]])  # IoU loss 0
    >>> round(float(loss.get_config()["iou_loss_mean"]), 6)
    0.5
    """

    fn = staticmethod(wiou)
    requires_anchors = True

    def __init__(self, version: int = 1, alpha: float = 1.9,
                 delta: float = 3.0, momentum: float = DEFAULT_MOMENTUM,
                 iou_loss_mean: float = 1.0, box_format: str = "xyxy",
                 scale_factors=None, anchors=None, anchor_format: str = "yxyx",
                 eps: float = 1e-7, reduction="sum_over_batch_size",
                 name=None, dtype=None):
        version, alpha, delta, _, momentum = check_wiou_args(
            version, alpha, delta, None, momentum)
        # The class always holds a mean (its variable's start), even for v1.
        iou_loss_mean = validation.check_positive("iou_loss_mean",
                                                  iou_loss_mean)
        super().__init__(box_format=box_format, scale_factors=scale_factors,
                         anchors=anchors, anchor_format=anchor_format,
                         eps=eps, reduction=reduction, name=name, dtype=dtype)
        self.fn_kwargs.update(version=version, iou_loss_mean=iou_loss_mean,
                              alpha=alpha, delta=delta)
        self.momentum = momentum
        self.iou_loss_mean_variable = keras.Variable(
            iou_loss_mean, dtype="float32", trainable=False,
            aggregation="mean", name="iou_loss_mean")

    def _per_box_values(self, y_true, y_pred, mask, settings):
        if settings["version"] == 1 or self.momentum == 0.0:
            return type(self).fn(y_true, y_pred, **settings)
        _refuse_untracked_update(y_pred, self.momentum)
        true_xyxy, pred_xyxy = prepare_boxes(
            y_true, y_pred, settings["box_format"], settings["scale_factors"],
            settings["anchors"], settings["anchor_format"], settings["eps"],
            requires_anchors=True, loss_name="WIoU")
        iou_loss = 1.0 - boxes.box_iou(true_xyxy, pred_xyxy, settings["eps"])
        mean = update_iou_loss_mean(self.iou_loss_mean_variable.value,
                                    iou_loss, self.momentum, mask)
        self.iou_loss_mean_variable.assign(ops.cast(mean, "float32"))
        return type(self).fn(y_true, y_pred,
                             **{**settings, "iou_loss_mean": mean})

    def get_config(self) -> dict:
        config = super().get_config()
        config["momentum"] = self.momentum
        config["iou_loss_mean"] = float(ops.convert_to_numpy(
            self.iou_loss_mean_variable.value))
        return config


def _in_stateless_scope() -> bool:
    """Whether Keras runs this call in a `StatelessScope` (its JAX train
    step does, with concrete values in eager debugging): Keras has no public
    test for it, so the private one, and False should it move (a traced
    step is still caught by the Tracer test)."""
    try:
        from keras.src.backend.common.stateless_scope import (
            in_stateless_scope)
    except ImportError:
        return False
    return bool(in_stateless_scope())


def _refuse_untracked_update(y_pred, momentum):
    """JAX: refuse to update the mean where the update would be lost."""
    if keras.backend.backend() != "jax":
        return
    import jax

    if isinstance(y_pred, jax.core.Tracer) or _in_stateless_scope():
        raise ValueError(
            "Expected WIoU(version=3) with momentum > 0 to be called "
            "eagerly under JAX: a jitted or differentiated JAX step (e.g. "
            "fit) cannot update the loss's running mean and would drop it. "
            "Use momentum=0 (a fixed iou_loss_mean), the TensorFlow backend, "
            "or the function wiou(..., iou_loss_mean=) with "
            "update_iou_loss_mean in your own train step. "
            f"Received: momentum={momentum!r}")
