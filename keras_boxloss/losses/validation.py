"""Argument and shape checks shared by the losses.

All of them run in Python, at construction or when the loss is traced, so a
mistake is a `ValueError` naming the argument, never an error deep in a
compiled graph. Messages follow Keras: "Expected ... Received: x=...".
"""

import numbers

import numpy as np
from keras import ops

from keras_boxloss.boxes import BOX_FORMATS, DEFAULT_SCALE_FACTORS

DELTA_FORMAT = "deltas"


def check_positive(name, value):
    """A real number > 0 (booleans are not numbers here)."""
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not np.isfinite(value) or value <= 0):
        raise ValueError(
            f"Expected `{name}` to be a finite number > 0. "
            f"Received: {name}={value!r}")
    return float(value)


def check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(
            f"Expected `{name}` to be one of {list(choices)}. "
            f"Received: {name}={value!r}")
    return value


def check_box_args(box_format, scale_factors, anchors, anchor_format, eps,
                   requires_anchors=False, loss_name="loss"):
    """Validates the box arguments of an IoU-family loss.

    Returns `(scale_factors, anchors)` normalised: a tuple of 4 floats (or
    None outside deltas mode) and a float32 array (or None).
    """
    check_choice("box_format", box_format, BOX_FORMATS + (DELTA_FORMAT,))
    check_positive("eps", eps)
    if box_format != DELTA_FORMAT:
        for name, value in (("scale_factors", scale_factors),
                            ("anchors", anchors)):
            if value is not None:
                raise ValueError(
                    f"Expected `{name}` only with box_format='deltas'. "
                    f"Received: {name}={_short(value)} with "
                    f"box_format={box_format!r}")
        return None, None
    check_choice("anchor_format", anchor_format, BOX_FORMATS)
    if scale_factors is None:
        scale_factors = DEFAULT_SCALE_FACTORS
    if (not isinstance(scale_factors, (list, tuple, np.ndarray))
            or len(scale_factors) != 4):
        raise ValueError(
            "Expected `scale_factors` to be 4 numbers > 0 (sy, sx, sh, sw). "
            f"Received: scale_factors={scale_factors!r}")
    scale_factors = tuple(check_positive("scale_factors", float(s))
                          for s in scale_factors)
    if anchors is not None:
        if hasattr(anchors, "numpy") or isinstance(anchors, (list, tuple)):
            anchors = np.asarray(anchors, dtype="float32")
        if not hasattr(anchors, "shape") or tuple(anchors.shape)[-1:] != (4,):
            raise ValueError(
                "Expected `anchors` of shape (..., 4). "
                f"Received: anchors.shape={getattr(anchors, 'shape', None)}")
    elif requires_anchors:
        raise ValueError(
            f"Expected `anchors` for {loss_name} with box_format='deltas': "
            "its centre-distance and aspect-ratio terms are not invariant "
            "under the anchor's translation and scaling, so they cannot be "
            "computed from deltas alone. Pass `anchors=`, or decode with "
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


def _short(value):
    text = repr(value)
    return text if len(text) < 60 else text[:57] + "..."
