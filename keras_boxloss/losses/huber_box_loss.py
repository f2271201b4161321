"""Huber (smooth L1) box loss, summed over the four coordinates."""

import typing

import keras
from keras import ops

from keras_boxloss.boxes import compute_dtype
from keras_boxloss.losses import validation
from keras_boxloss.losses.box_loss import BoxLoss


def huber_box(y_true, y_pred, delta: float = 1.0):
    """Huber loss over the 4 box coordinates, summed per box.

    `h(x) = 0.5 x^2` for `|x| <= delta`, else `delta (|x| - 0.5 delta)`, with
    `x = y_pred - y_true` per coordinate; the box's loss is the sum over its 4
    coordinates (the TF Object Detection API's weighted smooth-L1 convention,
    unlike `keras.losses.huber`, which averages). Coordinates are compared as
    given: detectors pass encoded deltas here.

    Args:
        y_true: `(..., 4)` target boxes or deltas.
        y_pred: `(..., 4)` predicted boxes or deltas.
        delta: where the quadratic turns linear, > 0.

    Returns:
        `(...)` loss per box.

    Example:
    >>> float(huber_box([[0., 0., 10., 10.]], [[0., 0., 10., 12.]])[0])
    1.5
    """
    delta = validation.check_positive("delta", delta)
    y_true, y_pred = validation.as_tensor_pair(y_true, y_pred)
    dtype = compute_dtype(y_pred)
    error = ops.abs(ops.cast(y_pred, dtype) - ops.cast(y_true, dtype))
    # min/max form instead of `where`: both pieces are finite everywhere, and
    # the loss is continuous with a continuous derivative at |x| = delta.
    quadratic = ops.minimum(error, delta)
    linear = error - quadratic
    return ops.sum(0.5 * ops.square(quadratic) + delta * linear, axis=-1)


@keras.saving.register_keras_serializable(package="keras_boxloss")
class HuberBox(BoxLoss):
    """Huber (smooth L1) box loss, summed over the 4 coordinates per box.

    See `keras_boxloss.losses.huber_box` for the formula.

    Args:
        delta: where the quadratic turns linear, > 0. Default 1.0.
        reduction: Keras reduction of the per-box losses.
        name: loss name.
        dtype: Keras dtype policy of the loss.

    Example:
    >>> loss = HuberBox(delta=1.0)
    >>> float(loss([[0., 0., 10., 10.]], [[0., 0., 10., 12.]]))
    1.5
    """

    fn = staticmethod(huber_box)

    def __init__(self, delta: float = 1.0,
                 reduction: typing.Optional[str] = "sum_over_batch_size",
                 name: typing.Optional[str] = None, dtype=None):
        validation.check_positive("delta", delta)
        super().__init__(reduction=reduction, name=name, dtype=dtype,
                         delta=delta)
