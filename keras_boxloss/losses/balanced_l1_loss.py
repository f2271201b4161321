"""Balanced L1 box loss (Pang et al., Libra R-CNN), summed over the four
coordinates like `HuberBox`."""

import math

import keras
from keras import ops

from keras_boxloss import dual
from keras_boxloss.boxes import compute_dtype
from keras_boxloss.losses import validation
from keras_boxloss.losses.box_loss import BoxLoss

# b = exp(gamma / alpha) - 1 must stay finite in float32 (exp(88.7) is its
# largest value); past this ratio the inlier term is ~ln(b) = gamma / alpha
# anyway.
MAX_GAMMA_OVER_ALPHA = 80.0


def check_balanced_l1_args(alpha, gamma, beta):
    """alpha, gamma, beta > 0, and gamma / alpha small enough for b."""
    alpha = validation.check_positive("alpha", alpha)
    gamma = validation.check_positive("gamma", gamma)
    beta = validation.check_positive("beta", beta)
    if gamma / alpha > MAX_GAMMA_OVER_ALPHA:
        raise ValueError(
            f"Expected `gamma` / `alpha` <= {MAX_GAMMA_OVER_ALPHA:g}, so that "
            "b = exp(gamma / alpha) - 1 is finite in float32. "
            f"Received: gamma={gamma!r}, alpha={alpha!r}")
    return alpha, gamma, beta


def balanced_l1(y_true, y_pred, alpha=0.5, gamma=1.5, beta=1.0):
    """Balanced L1 loss over the 4 box coordinates, summed per box.

    Libra R-CNN (Pang et al., CVPR 2019, arXiv 1904.02701), eq. 9, with
    `x = y_pred - y_true` per coordinate and `b = exp(gamma / alpha) - 1`
    (so that `alpha ln(b + 1) = gamma`, the gradient is continuous):

        L_b(x) = alpha / b (b |x| + 1) ln(b |x| + 1) - alpha |x|, |x| < 1
        L_b(x) = gamma |x| + gamma / b - alpha,                   otherwise

    The paper's knee is at |x| = 1; `beta` moves it, as `beta L_b(x / beta)`:
    the gradient `alpha ln(b |x| / beta + 1)` then reaches `gamma` exactly at
    `|x| = beta` and stays there. (mmdetection's `balanced_l1_loss` writes
    `alpha / b (b |x| + 1) ln(b |x| / beta + 1) - alpha |x|` for the inner
    piece, which has that gradient only for beta = 1; the two agree at the
    defaults.) Compared with smooth L1, the inliers (|x| < beta, the
    accurate boxes) get larger gradients. The box's loss is the sum over
    its 4 coordinates, as `huber_box` (the paper averages over all
    coordinates of the batch; a "sum_over_batch_size" reduction averages
    the per-box sums). Coordinates are compared as given: detectors pass
    encoded deltas here, so no box format or anchors apply.

    Args:
        y_true: `(..., 4)` target boxes or deltas.
        y_pred: `(..., 4)` predicted boxes or deltas.
        alpha: the inliers' gradient scale, > 0 (paper: 0.5).
        gamma: the outliers' constant gradient, > 0 (paper: 1.5).
        beta: where the logarithmic piece turns linear, > 0 (paper: 1).

    Returns:
        `(...)` loss per box.

    Example:
    >>> # |x| = 2 > beta: gamma |x| + gamma / b - alpha, b = e^3 - 1
    >>> round(float(balanced_l1([[0., 0., 0., 0.]], [[2., 0., 0., 0.]])[0]), 5)
    2.57859
    """
    alpha, gamma, beta = check_balanced_l1_args(alpha, gamma, beta)
    b = math.expm1(gamma / alpha)
    y_true, y_pred = validation.as_tensor_pair(y_true, y_pred)
    dtype = compute_dtype(y_pred)
    y_true, y_pred = ops.cast(y_true, dtype), ops.cast(y_pred, dtype)

    def per_coordinate(difference):
        """Each coordinate's loss, and ln(b min(|x|, beta) / beta + 1)."""
        error = ops.abs(difference)
        # min/max form, as huber_box: both pieces finite everywhere (no
        # `where`), and the linear piece's constant falls out of the inner
        # one at beta.
        inner = ops.minimum(error, beta)
        scaled = b * inner / beta
        log_term = _log1p(scaled)
        # alpha / b (b |x| + 1) ln(b |x| + 1) - alpha |x|, scaled by beta
        loss = (alpha * beta / b * _logarithmic_piece(scaled, log_term)
                + gamma * (error - inner))
        return loss, log_term

    if (tuple(y_true.shape) != tuple(y_pred.shape)
            or not dual.compiled_by_xla()):
        return ops.sum(per_coordinate(y_pred - y_true)[0], axis=-1)

    # A dimension unknown while tracing (None) may still broadcast when run:
    # broadcast y_true here, so autodiff sums its gradient back.
    y_true = ops.broadcast_to(y_true, ops.shape(y_pred))

    # Under XLA the derivative is written out, sharing the logarithm with
    # the value, where autodiff differentiates the product and the min/max
    # form again (with `_log1p`: 4.8x the benchmark's floor at 1e6 boxes ->
    # 2.7x, benchmarks/loss_before_after.py). It is
    # alpha ln(b |x| / beta + 1) sign(x): continuous, gamma from |x| = beta
    # on (alpha ln(b + 1) = gamma), 0 at x = 0 as autodiff's.
    @ops.custom_gradient
    def per_box(t, p):
        difference = p - t
        loss, log_term = per_coordinate(difference)
        slope = alpha * ops.sign(difference) * log_term

        def grad(*args, upstream=None):
            if upstream is None:
                (upstream,) = args
            gradient = ops.expand_dims(upstream, -1) * slope
            return -gradient, gradient

        return ops.sum(loss, axis=-1), grad

    return per_box(y_true, y_pred)


# (1 + s) ln(1 + s) - s = sum_{k >= 2} (-1)^k s^k / (k (k - 1)): its Taylor
# coefficients for k = 2..11, used below SERIES_LIMIT (truncation < 2e-8
# relative there).
SERIES_LIMIT = 0.25
_PIECE_SERIES = tuple((-1.0) ** k / (k * (k - 1)) for k in range(2, 12))


def _logarithmic_piece(s, log_term):
    """(1 + s) ln(1 + s) - s for s >= 0, `log_term` = ln(1 + s).

    Written directly it cancels: both terms are about s, the result about
    s^2 / 2, so float32 keeps 2 eps / s of it (relative; s = 1e-3: 2e-4) and
    `_log1p`'s 2^-24 under XLA could even make it negative. Below
    `SERIES_LIMIT` its series has no cancellation. Within 4e-6 relative in
    float32 (tested), both branches finite (the series on min(s, limit))."""
    small = ops.minimum(s, SERIES_LIMIT)
    series = _PIECE_SERIES[-1]
    for coefficient in _PIECE_SERIES[-2::-1]:
        series = series * small + coefficient
    return ops.where(ops.less(s, SERIES_LIMIT), series * small * small,
                     (1.0 + s) * log_term - s)


def _log1p(x):
    """`log1p` of x >= 0; under XLA `log(1 + x)`.

    XLA's CPU log1p is a scalar call per element (1e6 x 4 values: about 3
    times log's time), its log vectorises. Rounding 1 + x costs at most
    2^-24 absolute (the gradient: alpha 2^-24), less than float32 already
    loses in `y_pred - y_true` for coordinates or deltas of size 1; the
    value does not cancel it (`_logarithmic_piece`).
    An exact correction, `(x - ((1 + x) - 1)) / (1 + x)`, is not robust:
    JAX's XLA folds `(1 + x) - 1` to x; a 15-term series below 0.375 with
    `where` kept 3e-7 relative but cost as much as log1p.
    """
    if not dual.compiled_by_xla():
        return ops.log1p(x)
    return ops.log(1.0 + x)


@keras.saving.register_keras_serializable(package="keras_boxloss")
class BalancedL1(BoxLoss):
    """Balanced L1 box loss (Libra R-CNN), summed over the 4 coordinates.

    See `keras_boxloss.losses.balanced_l1` for the formula. Like `HuberBox`
    it compares the coordinates (or deltas) as given.

    Args:
        alpha: the inliers' gradient scale, > 0. Default 0.5.
        gamma: the outliers' constant gradient, > 0. Default 1.5.
        beta: where the logarithmic piece turns linear, > 0. Default 1.0.
        reduction: Keras reduction of the per-box losses.
        name: loss name.
        dtype: Keras dtype policy of the loss.

    Example:
    >>> loss = BalancedL1()
    >>> round(float(loss([[0., 0., 0., 0.]], [[2., 0., 0., 0.]])), 5)
    2.57859
    """

    fn = staticmethod(balanced_l1)

    def __init__(self, alpha=0.5, gamma=1.5, beta=1.0,
                 reduction="sum_over_batch_size", name=None, dtype=None):
        alpha, gamma, beta = check_balanced_l1_args(alpha, gamma, beta)
        super().__init__(reduction=reduction, name=name, dtype=dtype,
                         alpha=alpha, gamma=gamma, beta=beta)
