"""The base of every box loss: a per-box function wrapped as a Keras `Loss`."""

import keras
import numpy as np
from keras import ops

from keras_boxloss import boxes
from keras_boxloss.losses import validation

# What a box whose sample weight is 0 is replaced by before any math runs. A
# valid box in every format (and finite deltas), so padding such as -1 or even
# NaN cannot reach a value or a gradient: masking the inputs, not the output,
# is what avoids the double-`where` trap.
_SAFE_BOX = (0.0, 0.0, 1.0, 1.0)


def prepare_boxes(y_true, y_pred, box_format="xyxy", scale_factors=None,
                  anchors=None, anchor_format="yxyx", eps=1e-7,
                  requires_anchors=False, loss_name="loss"):
    """Validates a pair of box tensors and returns both in xyxy.

    16-bit inputs are computed in float32 (as Keras losses do); float64 stays.
    In deltas mode both are decoded against the same anchors (or the unit
    anchor when `anchors` is None, see `boxes.decode_deltas`).
    """
    scale_factors, anchors = validation.check_box_args(
        box_format, scale_factors, anchors, anchor_format, eps,
        requires_anchors=requires_anchors, loss_name=loss_name)
    y_true, y_pred = validation.as_tensor_pair(y_true, y_pred)
    dtype = boxes.compute_dtype(y_pred)
    y_true, y_pred = ops.cast(y_true, dtype), ops.cast(y_pred, dtype)
    if box_format == validation.DELTA_FORMAT:
        if anchors is not None:
            validation.check_anchor_shape(anchors, y_pred)
        return tuple(boxes.decode_deltas(t, anchors, scale_factors,
                                         anchor_format)
                     for t in (y_true, y_pred))
    return (boxes.to_xyxy(y_true, box_format, dtype),
            boxes.to_xyxy(y_pred, box_format, dtype))


def leading_weight_mask(sample_weight, y_pred):
    """`sample_weight != 0` broadcast to the box shape without its last axis.

    Accepts the shapes Keras accepts: per box `(...)`, per box with a
    trailing 1, or per sample with fewer dimensions (expanded at the end).
    """
    weight = ops.convert_to_tensor(sample_weight)
    box_rank = len(y_pred.shape) - 1
    if len(weight.shape) == box_rank + 1 and weight.shape[-1] == 1:
        weight = ops.squeeze(weight, -1)
    while len(weight.shape) < box_rank:
        weight = ops.expand_dims(weight, -1)
    if len(weight.shape) != box_rank:
        raise ValueError(
            "Expected `sample_weight` of shape (...) matching the boxes "
            f"(...) of shape {tuple(y_pred.shape)[:-1]}. "
            f"Received: sample_weight.shape={tuple(weight.shape)}")
    return ops.broadcast_to(ops.not_equal(weight, 0), ops.shape(y_pred)[:-1])


class BoxLoss(keras.losses.Loss):
    """A per-box loss over `[..., 4]` boxes, reduced by Keras.

    Subclasses set `fn` (the loss function, returning `(...)` from two
    `(..., 4)` tensors) and pass their own arguments as `fn_kwargs`; those
    arguments are forwarded to `fn` and listed in `get_config`, so a
    constructor argument cannot be forgotten there.

    Boxes whose `sample_weight` is 0 are replaced by a harmless box before the
    loss runs, so they contribute exactly 0 to the loss and to every gradient
    whatever they hold. Losses that aggregate over the batch (Smooth IoU's
    lambda) read `self._box_mask`, the boxes with non-zero weight.
    """

    fn = None

    def __init__(self, reduction="sum_over_batch_size", name=None, dtype=None,
                 **fn_kwargs):
        validation.check_keras_args(reduction, name, dtype)
        # Named after the function ("giou"), not Keras' auto name ("g_io_u").
        super().__init__(name=name or type(self).fn.__name__,
                         reduction=reduction, dtype=dtype)
        self.fn_kwargs = fn_kwargs
        self._box_mask = None

    def __call__(self, y_true, y_pred, sample_weight=None):
        if sample_weight is None:
            return super().__call__(y_true, y_pred)
        y_true, y_pred = validation.as_tensor_pair(y_true, y_pred)
        mask = leading_weight_mask(sample_weight, y_pred)
        keep = ops.expand_dims(mask, -1)
        y_true = ops.where(keep, y_true, ops.cast(_SAFE_BOX, y_true.dtype))
        y_pred = ops.where(keep, y_pred, ops.cast(_SAFE_BOX, y_pred.dtype))
        self._box_mask = mask
        try:
            return super().__call__(y_true, y_pred, sample_weight)
        finally:
            self._box_mask = None

    def call(self, y_true, y_pred):
        return type(self).fn(y_true, y_pred, **self.fn_kwargs)

    def get_config(self):
        # Keras' base config omits `dtype`, a constructor argument.
        config = {**super().get_config(), "dtype": self._dtype_policy.name}
        for key, value in self.fn_kwargs.items():
            if isinstance(value, np.ndarray):
                value = value.tolist()
            elif isinstance(value, tuple):
                value = list(value)
            config[key] = value
        return config


class IoUFamilyLoss(BoxLoss):
    """A `BoxLoss` that compares decoded boxes: box formats and deltas."""

    requires_anchors = False

    def __init__(self, box_format="xyxy", scale_factors=None, anchors=None,
                 anchor_format="yxyx", eps=1e-7,
                 reduction="sum_over_batch_size", name=None, dtype=None):
        # Validate now, so a bad argument fails at construction, not at fit.
        scale_factors, anchors = validation.check_box_args(
            box_format, scale_factors, anchors, anchor_format, eps,
            requires_anchors=self.requires_anchors,
            loss_name=type(self).__name__)
        super().__init__(box_format=box_format, scale_factors=scale_factors,
                         anchors=anchors, anchor_format=anchor_format,
                         eps=eps, reduction=reduction, name=name, dtype=dtype)
