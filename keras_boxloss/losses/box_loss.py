"""The base of every box loss: a per-box function wrapped as a Keras `Loss`,
with `per_box`, the one contract between box losses and detectors."""

import typing

import keras
import numpy as np
from keras import ops

from keras_boxloss import boxes
from keras_boxloss.losses import validation

# What a masked box is replaced by before any math runs. A valid box in
# every format (and finite deltas), so padding such as -1 or even NaN cannot
# reach a value or a gradient: masking the inputs, not the output, is what
# avoids the double-`where` trap.
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


def leading_weight_mask(sample_weight, y_pred, name="sample_weight"):
    """`sample_weight != 0` broadcast to the box shape without its last axis.

    Accepts the shapes Keras accepts: per box `(...)`, per box with a
    trailing 1, or per sample with fewer dimensions (expanded at the end).
    `name` is the argument the error message names.
    """
    weight = ops.convert_to_tensor(sample_weight)
    box_rank = len(y_pred.shape) - 1
    if len(weight.shape) == box_rank + 1 and weight.shape[-1] == 1:
        weight = ops.squeeze(weight, -1)
    while len(weight.shape) < box_rank:
        weight = ops.expand_dims(weight, -1)
    if len(weight.shape) != box_rank:
        raise ValueError(
            f"Expected `{name}` of shape (...) matching the boxes "
            f"(...) of shape {tuple(y_pred.shape)[:-1]}. "
            f"Received: {name}.shape={tuple(weight.shape)}")
    return ops.broadcast_to(ops.not_equal(weight, 0), ops.shape(y_pred)[:-1])


class _MaskedTarget(typing.NamedTuple):
    """`y_true` and the sample-weight mask, handed together through Keras'
    `Loss.__call__` (which gives `call` only `y_true` and `y_pred`), so the
    mask is an argument of `per_box`, never state on the loss."""

    boxes: typing.Any
    mask: typing.Any


class BoxLoss(keras.losses.Loss):
    """A per-box loss over `(..., 4)` boxes, reduced by Keras.

    The contract with detectors is `per_box` (boxes in the loss's own
    `box_format`) and `per_box_deltas` (a detector's box-coder deltas):

    - they take `y_true` and `y_pred` of shape `(..., 4)` and an optional
      `mask` of shape `(...)` (booleans or weights; 0 masks a box), and
      return the unreduced loss of shape `(...)`, one value per box;
    - a masked box is replaced by a harmless box before any math, so it is
      exactly 0 in the value and in every gradient, whatever it holds
      (padding, NaN, inf); a loss that looks across boxes (Smooth IoU's
      batch lambda) looks only at the unmasked ones;
    - 16-bit inputs are computed in float32; float64 stays float64;
    - `requires_anchors`: `per_box_deltas` needs the detector's anchors.

    A detector calls these and nothing else: the loss decides how it
    compares boxes (Huber on the deltas as given, the IoU family on the
    boxes they decode to). `__call__` with `sample_weight` takes the same
    path, `sample_weight != 0` being the mask; Keras then weights and
    reduces.

    Writing a loss: set `fn` (the function, two `(..., 4)` tensors and
    keyword arguments to `(...)`) and pass the constructor's own arguments
    on to the base constructor; they are kept in `fn_kwargs` (for the
    loss classes themselves; nothing else reads it), forwarded to `fn` and
    listed in `get_config`, so a constructor argument cannot be forgotten
    there. A loss that needs more than the two tensors per call overrides
    `_per_box_values` (Smooth IoU takes the mask there).
    """

    fn: typing.Optional[typing.Callable] = None
    # Whether `per_box_deltas` needs the anchors (the loss is not invariant
    # under them); coordinate losses compare the deltas, so never.
    requires_anchors: bool = False

    def __init__(self, reduction: typing.Optional[str] = "sum_over_batch_size",
                 name: typing.Optional[str] = None, dtype=None,
                 **fn_kwargs):
        validation.check_keras_args(reduction, name, dtype)
        # Named after the function ("giou"), not Keras' auto name ("g_io_u").
        super().__init__(name=name or type(self).fn.__name__,
                         reduction=reduction, dtype=dtype)
        self.fn_kwargs = fn_kwargs

    def per_box(self, y_true, y_pred, mask=None):
        """The loss per box, `(..., 4)` x 2 -> `(...)`, boxes in this loss'
        own `box_format` (and `scale_factors`, `anchors` in deltas mode).

        Boxes where `mask` (`(...)`, booleans or weights) is False or 0 are
        exactly 0 in value and gradient, and do not count in anything the
        loss computes across boxes. 16-bit inputs give float32.
        """
        y_true, y_pred, mask = _mask_boxes(y_true, y_pred, mask)
        return _zero_masked(
            self._per_box_values(y_true, y_pred, mask, self.fn_kwargs), mask)

    def per_box_deltas(self, true_deltas, pred_deltas,
                       scale_factors: typing.Sequence[float]
                       = boxes.DEFAULT_SCALE_FACTORS,
                       anchors=None, anchor_format: str = "yxyx", mask=None):
        """`per_box` on a detector's box-coder deltas `[ty, tx, th, tw]`.

        The detector's coder (`scale_factors`; `anchors` in `anchor_format`,
        broadcastable to the deltas, needed by losses with
        `requires_anchors`) replaces the loss' own `box_format`,
        `scale_factors` and `anchors`. A coordinate loss (Huber) compares
        the deltas as given; the IoU family compares the boxes they decode
        to. Masking and dtypes as in `per_box`.
        """
        # Coordinate losses compare the encoded coordinates themselves.
        del scale_factors, anchors, anchor_format
        return self.per_box(true_deltas, pred_deltas, mask)

    def _per_box_values(self, y_true, y_pred, mask, settings):
        """The loss per box on inputs already masked (harmless boxes where
        `mask`, `(...)` bool or None, is False): `fn` with `settings`.

        The one place a loss computes: override it for a loss that needs
        more per call than the two tensors (the mask, a running state)."""
        del mask  # a per-box function: each box is on its own
        return type(self).fn(y_true, y_pred, **settings)

    def __call__(self, y_true, y_pred, sample_weight=None):
        if sample_weight is None:
            return super().__call__(y_true, y_pred)
        y_true, y_pred = validation.as_tensor_pair(y_true, y_pred)
        mask = leading_weight_mask(sample_weight, y_pred)
        return super().__call__(_MaskedTarget(y_true, mask), y_pred,
                                sample_weight)

    def call(self, y_true, y_pred):
        mask = None
        if isinstance(y_true, _MaskedTarget):
            y_true, mask = y_true
        return self.per_box(y_true, y_pred, mask)

    def get_config(self) -> dict:
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
    """A `BoxLoss` that compares decoded boxes: box formats and deltas.

    `requires_anchors` (DIoU, CIoU): in deltas mode the loss cannot be
    computed without the anchors (it is not invariant under them).
    Subclasses add their own arguments to `fn_kwargs` after this
    constructor has run.
    """

    requires_anchors: bool = False  # True for DIoU, CIoU, ...

    def __init__(self, box_format: str = "xyxy", scale_factors=None,
                 anchors=None, anchor_format: str = "yxyx", eps: float = 1e-7,
                 reduction: typing.Optional[str] = "sum_over_batch_size",
                 name: typing.Optional[str] = None, dtype=None):
        # Validate now, so a bad argument fails at construction, not at fit.
        scale_factors, anchors = validation.check_box_args(
            box_format, scale_factors, anchors, anchor_format, eps,
            requires_anchors=self.requires_anchors,
            loss_name=type(self).__name__)
        super().__init__(box_format=box_format, scale_factors=scale_factors,
                         anchors=anchors, anchor_format=anchor_format,
                         eps=eps, reduction=reduction, name=name, dtype=dtype)

    @property
    def box_format(self) -> str:
        """The format `per_box` reads the boxes in ("deltas" included)."""
        return self.fn_kwargs["box_format"]

    def per_box_deltas(self, true_deltas, pred_deltas,
                       scale_factors: typing.Sequence[float]
                       = boxes.DEFAULT_SCALE_FACTORS,
                       anchors=None, anchor_format: str = "yxyx", mask=None):
        scale_factors, _ = validation.check_box_args(
            validation.DELTA_FORMAT, scale_factors, None, anchor_format,
            self.fn_kwargs["eps"], loss_name=type(self).__name__)
        true_deltas, pred_deltas, mask = _mask_boxes(true_deltas, pred_deltas,
                                                     mask)
        if anchors is not None and mask is not None:
            # Per-box anchors (a second stage's RoIs) may be anything where
            # the box is masked: a valid anchor there, before any math.
            anchors = ops.convert_to_tensor(anchors)
            anchors = ops.where(ops.expand_dims(mask, -1), anchors,
                                ops.cast(_SAFE_BOX, anchors.dtype))
        settings = {**self.fn_kwargs, "box_format": validation.DELTA_FORMAT,
                    "scale_factors": scale_factors, "anchors": anchors,
                    "anchor_format": anchor_format}
        return _zero_masked(
            self._per_box_values(true_deltas, pred_deltas, mask, settings),
            mask)


def _mask_boxes(y_true, y_pred, mask):
    """Checks the pair and, with a mask, replaces the masked boxes by
    `_SAFE_BOX` before any math; returns the mask as bool `(...)`."""
    y_true, y_pred = validation.as_tensor_pair(y_true, y_pred)
    if mask is None:
        return y_true, y_pred, None
    mask = leading_weight_mask(mask, y_pred, name="mask")
    keep = ops.expand_dims(mask, -1)
    y_true = ops.where(keep, y_true, ops.cast(_SAFE_BOX, y_true.dtype))
    y_pred = ops.where(keep, y_pred, ops.cast(_SAFE_BOX, y_pred.dtype))
    return y_true, y_pred, mask


def _zero_masked(values, mask):
    """Exactly 0 where masked. The inputs there were harmless boxes, so the
    values being selected away are finite: no NaN reaches a gradient."""
    if mask is None:
        return values
    return ops.where(mask, values, ops.zeros_like(values))
