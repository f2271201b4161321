"""Argument and shape checks shared by the losses.

All of them run in Python, at construction or when the loss is traced, so a
mistake is a `ValueError` naming the argument, never an error deep in a
compiled graph. Messages follow Keras: "Expected ... Received: x=...".
"""

import numbers

import keras
import numpy as np
from keras import ops

from keras_boxloss.boxes import BOX_FORMATS, DEFAULT_SCALE_FACTORS

DELTA_FORMAT = "deltas"


# Keras' own `standardize_reduction` set, checked here so that the message
# has the project's wording.
REDUCTIONS = (None, "none", "sum", "sum_over_batch_size", "mean",
              "mean_with_sample_weight")


def is_number(value):
    """A real, finite number; booleans and strings are not numbers here."""
    return (not isinstance(value, bool) and isinstance(value, numbers.Real)
            and bool(np.isfinite(value)))


def check_positive(name, value):
    """A real number > 0 (booleans are not numbers here)."""
    if not is_number(value) or value <= 0:
        raise ValueError(
            f"Expected `{name}` to be a finite number > 0. "
            f"Received: {name}={value!r}")
    return float(value)


def check_non_negative(name, value):
    """A real number >= 0 (booleans are not numbers here)."""
    if not is_number(value) or value < 0:
        raise ValueError(
            f"Expected `{name}` to be a finite number >= 0. "
            f"Received: {name}={value!r}")
    return float(value)


def check_int(name, value, minimum):
    """An integer >= `minimum`: 3.0 and True are not integers here."""
    if (isinstance(value, bool) or not isinstance(value, numbers.Integral)
            or value < minimum):
        raise ValueError(
            f"Expected `{name}` to be an integer >= {minimum}. "
            f"Received: {name}={value!r}")
    return int(value)


def check_choice(name, value, choices):
    # Only strings are compared: `array in choices` would compare elementwise
    # and fail with a message that does not name the argument.
    if not isinstance(value, str) or value not in choices:
        raise ValueError(
            f"Expected `{name}` to be one of {list(choices)}. "
            f"Received: {name}={_short(value)}")
    return value


def check_keras_args(reduction, name, dtype):
    """The arguments every Keras loss takes, checked at construction.

    Keras accepts `name=5` and fails at the first call, and words a bad
    `dtype` without naming it.
    """
    if not (reduction is None or isinstance(reduction, str)) or (
            reduction not in REDUCTIONS):
        raise ValueError(
            f"Expected `reduction` to be one of {list(REDUCTIONS)}. "
            f"Received: reduction={_short(reduction)}")
    if name is not None and (not isinstance(name, str) or "/" in name):
        raise ValueError(
            "Expected `name` to be None or a string without '/'. "
            f"Received: name={_short(name)}")
    if dtype is None:
        return
    try:
        policy = keras.dtype_policies.get(dtype)
    except (ValueError, TypeError):
        policy = None
    if policy is None or not (
            "float" in str(policy.compute_dtype)
            and "float" in str(policy.variable_dtype)):
        raise ValueError(
            "Expected `dtype` to be None, a float dtype (e.g. 'float32') or "
            "a float DTypePolicy (e.g. 'mixed_float16'). "
            f"Received: dtype={_short(dtype)}")


def check_scale_factors(scale_factors):
    """4 finite numbers > 0, returned as a tuple of floats."""
    if (not isinstance(scale_factors, (list, tuple, np.ndarray))
            or np.ndim(scale_factors) != 1 or len(scale_factors) != 4
            or not all(is_number(s) and s > 0 for s in scale_factors)):
        raise ValueError(
            "Expected `scale_factors` to be 4 finite numbers > 0 "
            f"(sy, sx, sh, sw). Received: scale_factors={_short(scale_factors)}")
    return tuple(float(s) for s in scale_factors)


def check_anchors(anchors):
    """Concrete anchors (arrays, lists, eager tensors) as a float32 array
    of shape (..., 4) with finite values; symbolic tensors (traced per-batch
    anchors) only by shape, their values are not known yet."""
    if hasattr(anchors, "numpy") or isinstance(anchors, (list, tuple)):
        try:
            anchors = np.asarray(anchors, dtype="float32")
        except (ValueError, TypeError):
            raise ValueError(
                "Expected `anchors` to be numbers of shape (..., 4). "
                f"Received: anchors={_short(anchors)}") from None
    if not hasattr(anchors, "shape") or tuple(anchors.shape)[-1:] != (4,):
        raise ValueError(
            "Expected `anchors` of shape (..., 4). "
            f"Received: anchors.shape={getattr(anchors, 'shape', None)}")
    if isinstance(anchors, np.ndarray) and (
            not np.issubdtype(anchors.dtype, np.number)
            or not np.all(np.isfinite(anchors))):
        raise ValueError(
            "Expected `anchors` to hold finite numbers. "
            f"Received: anchors={_short(anchors)}")
    return anchors


def check_box_args(box_format, scale_factors, anchors, anchor_format, eps,
                   requires_anchors=False, loss_name="loss"):
    """Validates the box arguments of an IoU-family loss.

    Returns `(scale_factors, anchors)` normalised: a tuple of 4 floats (or
    None outside deltas mode) and a float32 array (or None).
    """
    check_choice("box_format", box_format, BOX_FORMATS + (DELTA_FORMAT,))
    check_positive("eps", eps)
    # Checked in every mode, so a typo fails even where it is not used yet.
    check_choice("anchor_format", anchor_format, BOX_FORMATS)
    if box_format != DELTA_FORMAT:
        for name, value in (("scale_factors", scale_factors),
                            ("anchors", anchors)):
            if value is not None:
                raise ValueError(
                    f"Expected `{name}` only with box_format='deltas'. "
                    f"Received: {name}={_short(value)} with "
                    f"box_format={box_format!r}")
        return None, None
    if scale_factors is None:
        scale_factors = DEFAULT_SCALE_FACTORS
    scale_factors = check_scale_factors(scale_factors)
    if anchors is not None:
        anchors = check_anchors(anchors)
    elif requires_anchors:
        raise ValueError(
            f"Expected `anchors` for {loss_name} with box_format='deltas': "
            "it is not invariant under the anchor's (per-axis) scaling: a "
            "centre distance, an aspect ratio or shape, or a length in the "
            "boxes' units (an image size, NWD's constant) depends on the "
            "boxes the deltas decode to, so it cannot be computed from "
            "deltas alone. Pass `anchors=`, or decode with "
            "`keras_boxloss.boxes.decode_deltas` and use box_format='xyxy'. "
            "Received: anchors=None")
    return scale_factors, anchors


def check_box_shapes(y_true, y_pred):
    """Both `[..., 4]` with the same (known) shape."""
    true_shape, pred_shape = tuple(y_true.shape), tuple(y_pred.shape)
    for name, shape in (("y_true", true_shape), ("y_pred", pred_shape)):
        if len(shape) == 0 or shape[-1] != 4:
            raise ValueError(
                f"Expected `{name}` to hold boxes, shape (..., 4). "
                f"Received: {name}.shape={shape}")
    compatible = len(true_shape) == len(pred_shape) and all(
        a is None or b is None or a == b
        for a, b in zip(true_shape, pred_shape))
    if not compatible:
        raise ValueError(
            "Expected `y_true` and `y_pred` of the same shape. "
            f"Received: y_true.shape={true_shape}, y_pred.shape={pred_shape}")


def check_anchor_shape(anchors, y_pred):
    """Anchors must broadcast against the boxes `(..., 4)`."""
    anchor_shape, box_shape = tuple(anchors.shape), tuple(y_pred.shape)
    trailing = zip(reversed(anchor_shape), reversed(box_shape))
    if len(anchor_shape) > len(box_shape) or not all(
            a == 1 or b is None or a == b for a, b in trailing):
        raise ValueError(
            "Expected `anchors` broadcastable to the boxes' shape "
            f"{box_shape}. Received: anchors.shape={anchor_shape}")


def as_tensor_pair(y_true, y_pred):
    y_true = ops.convert_to_tensor(y_true)
    y_pred = ops.convert_to_tensor(y_pred)
    check_box_shapes(y_true, y_pred)
    return y_true, y_pred


def describe(value):
    """A short description of an argument's value for an error message:
    the repr of plain values, the class (and name) of objects, whose repr
    is a memory address."""
    if value is None or isinstance(
            value, (str, numbers.Number, list, tuple, dict, np.ndarray)):
        return _short(value)
    if isinstance(value, keras.losses.Loss):
        return f"{type(value).__name__}(name={value.name!r})"
    return f"<{type(value).__name__} object>"


def _short(value):
    text = repr(value)
    return text if len(text) < 60 else text[:57] + "..."
