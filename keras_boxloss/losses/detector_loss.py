"""The base of the detector losses (`MultiBox`, `YOLOv1`): a whole
detector's loss per image, whose box term is a per-box loss of the library."""

import typing

import keras
from keras import ops

from keras_boxloss.losses import validation
from keras_boxloss.losses.box_loss import BoxLoss


def check_box_loss(name: str, box_loss) -> BoxLoss:
    """`box_loss` must be a per-box loss of the library (a `BoxLoss`): the
    detector computes its box term with the loss' `per_box` or
    `per_box_deltas`. Anything else (a detector loss such as `YOLOv1` or
    `MultiBox`, a plain Keras loss, a string) is refused at construction
    rather than failing, or computing something else, at call time. A
    serialised loss (a dict) is deserialised first."""
    if isinstance(box_loss, dict):
        box_loss = keras.saving.deserialize_keras_object(box_loss)
    if isinstance(box_loss, BoxLoss):
        return box_loss
    hint = ""
    if isinstance(box_loss, keras.losses.Loss):
        hint = (f" {type(box_loss).__name__} is not a per-box loss (one "
                "value per box from two (..., 4) tensors).")
    raise ValueError(
        f"Expected `{name}` to be a per-box loss of keras_boxloss, e.g. "
        "HuberBox, IoU, GIoU, DIoU, CIoU or SmoothIoU (by name: "
        f"keras_boxloss.losses.registry.get_box_loss).{hint} "
        f"Received: {name}={validation.describe(box_loss)}")


def image_weights(sample_weight):
    """`sample_weight` as `(batch,)`: one weight per image, given as
    `(batch,)` or with trailing axes of size 1 (`(batch, 1)`)."""
    weight = ops.convert_to_tensor(sample_weight)
    shape = tuple(weight.shape)
    while len(weight.shape) > 1 and weight.shape[-1] == 1:
        weight = ops.squeeze(weight, -1)
    if len(weight.shape) != 1:
        raise ValueError(
            "Expected `sample_weight` of shape (batch,), one weight per "
            f"image. Received: sample_weight.shape={shape}")
    return weight


class DetectorLoss(keras.losses.Loss):
    """A detector's loss: packed targets and predictions to one value per
    image, `(batch,)`, reduced by Keras.

    `sample_weight` is per image, and means the same in every detector loss
    and in the detectors that use one: an image of weight 0 is replaced by
    an empty image (`_drop_images`) before any math, so it contributes
    exactly nothing, not even to a normaliser such as MultiBox's positive
    count, whatever it holds; the other images' losses are multiplied by
    their weight. The box term is a `BoxLoss`, called through `per_box` /
    `per_box_deltas` only.
    """

    def __init__(self, reduction: typing.Optional[str], name: str,
                 dtype=None):
        validation.check_keras_args(reduction, name, dtype)
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def __call__(self, y_true, y_pred, sample_weight=None):
        if sample_weight is None:
            return super().__call__(y_true, y_pred)
        y_true, y_pred, weight = self.drop_zero_weight_images(
            y_true, y_pred, sample_weight)
        return super().__call__(y_true, y_pred, weight)

    def drop_zero_weight_images(self, y_true, y_pred, sample_weight):
        """`(y_true, y_pred, weight (batch,))`, images of weight 0 replaced
        by empty ones (see the class docstring)."""
        weight = image_weights(sample_weight)
        y_true = ops.convert_to_tensor(y_true)
        y_pred = ops.convert_to_tensor(y_pred)
        keep = ops.not_equal(weight, 0)
        y_true, y_pred = self._drop_images(y_true, y_pred, keep)
        return y_true, y_pred, weight

    def _drop_images(self, y_true, y_pred, keep):
        """`y_true`, `y_pred` with the images where `keep` (`(batch,)`
        bool) is False made empty: every value replaced (mask the inputs,
        not the output) by one whose loss and gradient are 0."""
        raise NotImplementedError

    def get_config(self) -> dict:
        # Keras' base config omits `dtype`, a constructor argument.
        return {**super().get_config(), "dtype": self._dtype_policy.name}


def expand_to(mask, x):
    """A `(batch,)` mask shaped to broadcast against `x`."""
    return ops.reshape(mask, (-1,) + (1,) * (len(x.shape) - 1))
