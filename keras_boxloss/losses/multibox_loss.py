"""SSD's MultiBox loss (Liu et al., 2016) with any box loss of the library."""

import typing

import keras
import numpy as np
from keras import ops

from keras_boxloss.boxes import DEFAULT_SCALE_FACTORS
from keras_boxloss.losses import validation
from keras_boxloss.losses.box_loss import BoxLoss
from keras_boxloss.losses.detector_loss import (DetectorLoss, check_box_loss,
                                                expand_to, image_weights)
from keras_boxloss.losses.huber_box_loss import HuberBox

CLASSIFICATIONS = ("softmax", "sigmoid_focal")


def multibox_terms(y_true, y_pred, num_classes: int,
                   box_loss: typing.Optional[BoxLoss] = None,
                   classification: str = "softmax",
                   neg_pos_ratio: float = 3.0,
                   min_negatives_per_image: int = 0,
                   focal_alpha: float = 0.25, focal_gamma: float = 2.0,
                   anchors=None,
                   scale_factors: typing.Sequence[float]
                   = DEFAULT_SCALE_FACTORS) -> tuple:
    """The MultiBox sums per image, before normalisation.

    Returns `(classification [batch], localization [batch], positives
    [batch])`: per image, the summed classification loss over positives and
    mined negatives, the summed box loss over positives, and the number of
    positives. A detector that trains under a distribution strategy divides
    by the positives of the *global* batch (all-reduced); `multibox` divides
    by those of the batch it sees.

    See `MultiBox` for the packing of `y_true` and `y_pred`.
    """
    _check_packing(y_true, y_pred, num_classes, classification)
    box_loss = HuberBox() if box_loss is None else box_loss
    y_true = ops.cast(y_true, "float32")
    y_pred = ops.cast(y_pred, "float32")
    true_deltas, classes = y_true[..., :4], ops.cast(y_true[..., 4], "int32")
    pred_deltas, logits = y_pred[..., :4], y_pred[..., 4:]
    positive = classes > 0
    negative = classes == 0
    # Ignored anchors may hold anything, NaN included: neutral logits before
    # any math, so no masked NaN reaches a gradient.
    logits = ops.where(ops.expand_dims(classes >= 0, -1), logits, 0.0)
    positive_f = ops.cast(positive, "float32")
    positives = ops.sum(positive_f, axis=-1)

    if classification == "softmax":
        # Ignored anchors (class < 0) get a valid index, then no weight.
        cross_entropy = ops.sparse_categorical_crossentropy(
            ops.maximum(classes, 0), logits, from_logits=True)
        mined = _hard_negatives(cross_entropy, negative, positives,
                                neg_pos_ratio, min_negatives_per_image)
        counted = ops.cast(positive | mined, "float32")
        classification_sum = ops.sum(cross_entropy * counted, axis=-1)
    else:
        # Sigmoid focal over the C object classes, background = all zeros,
        # every non-ignored anchor counted and no mining (TF2 OD API SSDs).
        one_hot = ops.one_hot(ops.maximum(classes - 1, 0), num_classes)
        one_hot = one_hot * ops.expand_dims(positive_f, -1)
        focal = _sigmoid_focal(one_hot, logits, focal_alpha, focal_gamma)
        counted = ops.cast(positive | negative, "float32")
        classification_sum = ops.sum(ops.sum(focal, -1) * counted, axis=-1)

    # Non-positive anchors hold arbitrary deltas: masked, they are exactly 0
    # in value and gradient, and Smooth IoU's lambda is over the positives.
    per_anchor = box_loss.per_box_deltas(true_deltas, pred_deltas,
                                         scale_factors, anchors, "yxyx",
                                         mask=positive)
    localization_sum = ops.sum(per_anchor, axis=-1)
    return classification_sum, localization_sum, positives


def multibox(y_true, y_pred, num_classes: int,
             box_loss: typing.Optional[BoxLoss] = None, alpha: float = 1.0,
             classification: str = "softmax", neg_pos_ratio: float = 3.0,
             min_negatives_per_image: int = 0, focal_alpha: float = 0.25,
             focal_gamma: float = 2.0, anchors=None,
             scale_factors: typing.Sequence[float] = DEFAULT_SCALE_FACTORS,
             total_positives=None):
    """MultiBox loss per image: `(L_cls + alpha L_loc) / N`.

    `N` is the number of positive anchors in the batch; when it is 0 the loss
    is 0. Summing the per-image values gives the SSD loss. Arguments as in
    `MultiBox`; `total_positives` overrides `N`, for a detector that counts
    the positives of the global batch across replicas.

    Returns:
        `(batch,)` each image's share of the batch loss.
    """
    classification_sum, localization_sum, positives = multibox_terms(
        y_true, y_pred, num_classes, box_loss, classification, neg_pos_ratio,
        min_negatives_per_image, focal_alpha, focal_gamma, anchors,
        scale_factors)
    if total_positives is None:
        total_positives = ops.sum(positives)
    per_image = (classification_sum + alpha * localization_sum) / ops.maximum(
        total_positives, 1.0)
    return per_image * ops.cast(total_positives > 0, "float32")


def _hard_negatives(cross_entropy, negative, positives, neg_pos_ratio,
                    min_negatives_per_image):
    """Per image, the negatives with the highest loss: at most
    `neg_pos_ratio` per positive, at least `min_negatives_per_image`, never
    more than there are. The ranking takes no gradient.

    Two argsorts give each anchor its rank among the negatives: fixed
    shapes, so XLA compiles it.
    """
    scores = ops.where(negative, ops.stop_gradient(cross_entropy), -1.0)
    order = ops.argsort(-scores, axis=-1)
    rank = ops.argsort(order, axis=-1)
    available = ops.sum(ops.cast(negative, "float32"), axis=-1)
    wanted = ops.maximum(ops.floor(neg_pos_ratio * positives),
                         float(min_negatives_per_image))
    quota = ops.minimum(wanted, available)
    return negative & (ops.cast(rank, "float32")
                       < ops.expand_dims(quota, -1))


def _sigmoid_focal(targets, logits, alpha, gamma):
    """Focal loss (Lin et al., 2017) per class, from logits, stable."""
    cross_entropy = (ops.relu(logits) - logits * targets
                     + ops.log1p(ops.exp(-ops.abs(logits))))
    probability = ops.sigmoid(logits)
    p_t = probability * targets + (1.0 - probability) * (1.0 - targets)
    alpha_t = alpha * targets + (1.0 - alpha) * (1.0 - targets)
    return alpha_t * ops.power(1.0 - p_t, gamma) * cross_entropy


def _check_packing(y_true, y_pred, num_classes, classification):
    logits = num_classes + 1 if classification == "softmax" else num_classes
    if tuple(y_true.shape)[-1:] != (5,):
        raise ValueError(
            "Expected `y_true` of shape (batch, anchors, 5): "
            "[ty, tx, th, tw, class]. "
            f"Received: y_true.shape={tuple(y_true.shape)}")
    if tuple(y_pred.shape)[-1:] != (4 + logits,):
        raise ValueError(
            f"Expected `y_pred` of shape (batch, anchors, {4 + logits}): 4 "
            f"deltas and {logits} class logits for num_classes={num_classes} "
            f"with classification={classification!r}. "
            f"Received: y_pred.shape={tuple(y_pred.shape)}")


@keras.saving.register_keras_serializable(package="keras_boxloss")
class MultiBox(DetectorLoss):
    """SSD's MultiBox loss: `L = (L_cls + alpha L_loc) / N`.

    `N` is the number of positive (matched) anchors in the batch, and the
    loss is 0 when `N = 0`.

    - Classification ("softmax", the SSD paper): cross-entropy over
      `num_classes + 1` logits, class 0 the background, on the positives and
      on hard negatives mined per image: the negatives with the highest
      classification loss, at most `neg_pos_ratio` per positive (ranked
      without gradient). An image with no objects has no positives, so it
      contributes only `min_negatives_per_image` mined negatives (0 by
      default: nothing, as torchvision's SSD). "sigmoid_focal" (the TF2
      Object Detection API SSDs): focal loss over `num_classes` sigmoid
      logits on every non-ignored anchor, no mining.
    - Localization: `box_loss` (default `HuberBox()`) on the positives only.
      IoU-family losses compare the boxes the deltas decode to (deltas mode
      with `scale_factors`; DIoU and CIoU need `anchors`), never raw deltas;
      Smooth IoU's lambda is the mean IoU over the positives.
    - Anchors with a negative class (the matcher's ignore) count nowhere.
    - `sample_weight` is per image (`DetectorLoss`): an image of weight 0
      counts nowhere, not even in `N`; the others' shares are multiplied
      by their weight. `terms` gives the two terms per image with the same
      meaning, for a detector (the SSD) that logs them.

    Packing, so that `model.compile(loss=MultiBox(...))` works:
    `y_true` is `(batch, anchors, 5)`: the encoded target `[ty, tx, th, tw]`
    and the class (0 background, 1..num_classes objects, < 0 ignore);
    `y_pred` is `(batch, anchors, 4 + L)`: the predicted deltas and `L`
    logits (`num_classes + 1` for softmax, background first; `num_classes`
    for sigmoid_focal). The loss per image is its share of the batch loss, so
    the default `reduction="sum"` gives the SSD loss.

    Args:
        num_classes: object classes, without the background.
        box_loss: a per-box loss of this library (a `BoxLoss`: `HuberBox`,
            `IoU`, `GIoU`, `DIoU`, `CIoU`, `SmoothIoU`, ...), called
            through its `per_box_deltas`. Default `HuberBox()`. Anything
            else, `YOLOv1` included, is a ValueError.
        alpha: weight of the localization term.
        classification: "softmax" or "sigmoid_focal".
        neg_pos_ratio: mined negatives per positive (softmax).
        min_negatives_per_image: mined negatives per image at least.
        focal_alpha, focal_gamma: the focal loss' parameters, alpha in
            (0, 1], gamma >= 0.
        anchors: `(anchors, 4)` yxyx default boxes, needed by DIoU and CIoU.
        scale_factors: the box coder's `(sy, sx, sh, sw)`.
        reduction, name, dtype: as for any Keras loss.

    Example:
    >>> import numpy as np
    >>> y_true = np.zeros((1, 3, 5), "float32")
    >>> y_true[0, 0, 4] = 1.0             # one positive, two negatives
    >>> y_pred = np.zeros((1, 3, 4 + 2), "float32")
    >>> # N = 1; both logits 0: CE = ln 2 on the positive and on the
    >>> # min(3 * 1, 2) = 2 mined negatives; the box loss is 0.
    >>> round(float(MultiBox(num_classes=1)(y_true, y_pred)), 4)
    2.0794
    """

    def __init__(self, num_classes: int,
                 box_loss: typing.Union[BoxLoss, dict, None] = None,
                 alpha: float = 1.0, classification: str = "softmax",
                 neg_pos_ratio: float = 3.0, min_negatives_per_image: int = 0,
                 focal_alpha: float = 0.25, focal_gamma: float = 2.0,
                 anchors=None,
                 scale_factors: typing.Sequence[float] = DEFAULT_SCALE_FACTORS,
                 reduction: typing.Optional[str] = "sum",
                 name: str = "multibox", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)
        box_loss = check_box_loss(
            "box_loss", HuberBox() if box_loss is None else box_loss)
        num_classes = validation.check_int("num_classes", num_classes, 1)
        validation.check_choice("classification", classification,
                                CLASSIFICATIONS)
        validation.check_positive("alpha", alpha)
        validation.check_positive("neg_pos_ratio", neg_pos_ratio)
        min_negatives_per_image = validation.check_int(
            "min_negatives_per_image", min_negatives_per_image, 0)
        # alpha_t weights the negatives by 1 - focal_alpha: above 1 the
        # background's loss would turn negative.
        if not validation.is_number(focal_alpha) or not (
                0 < focal_alpha <= 1):
            raise ValueError(
                "Expected `focal_alpha` to be a number in (0, 1]. "
                f"Received: focal_alpha={focal_alpha!r}")
        validation.check_non_negative("focal_gamma", focal_gamma)
        # Validates scale_factors and anchors; DIoU/CIoU need the anchors.
        scale_factors, anchors = validation.check_box_args(
            "deltas", scale_factors, anchors, "yxyx", 1e-7,
            requires_anchors=getattr(box_loss, "requires_anchors", False),
            loss_name=type(box_loss).__name__)
        self.num_classes = num_classes
        self.box_loss = box_loss
        self.alpha = alpha
        self.classification = classification
        self.neg_pos_ratio = neg_pos_ratio
        self.min_negatives_per_image = min_negatives_per_image
        self.focal_alpha = focal_alpha
        self.focal_gamma = focal_gamma
        self.anchors = anchors
        self.scale_factors = scale_factors

    def _drop_images(self, y_true, y_pred, keep):
        # An image of weight 0 becomes all-ignored (class -1, zero deltas
        # and logits) before the math: it adds nothing, not even to N.
        y_true = ops.cast(y_true, "float32")
        y_pred = ops.cast(y_pred, "float32")
        ignored = ops.concatenate(
            [ops.zeros_like(y_true[..., :4]),
             -ops.ones_like(y_true[..., 4:])], axis=-1)
        return (ops.where(expand_to(keep, y_true), y_true, ignored),
                ops.where(expand_to(keep, y_pred), y_pred, 0.0))

    def call(self, y_true, y_pred):
        return self.per_image(y_true, y_pred)

    def per_image(self, y_true, y_pred, total_positives=None):
        """`multibox` with this loss' settings: `(batch,)` unreduced;
        `total_positives` overrides `N` (a detector's global count)."""
        return multibox(
            y_true, y_pred, self.num_classes, self.box_loss, self.alpha,
            self.classification, self.neg_pos_ratio,
            self.min_negatives_per_image, self.focal_alpha, self.focal_gamma,
            self.anchors, self.scale_factors, total_positives)

    def positives(self, y_true, sample_weight=None):
        """`N` of this batch: its positive anchors, in the images of
        non-zero `sample_weight` (the count `terms` and `__call__` divide
        by; a detector all-reduces it across replicas)."""
        positive = ops.cast(ops.cast(y_true, "float32")[..., 4] > 0,
                            "float32")
        if sample_weight is not None:
            keep = ops.not_equal(image_weights(sample_weight), 0)
            positive = positive * ops.cast(expand_to(keep, positive),
                                           "float32")
        return ops.sum(positive)

    def terms(self, y_true, y_pred, sample_weight=None,
              total_positives=None) -> typing.Dict[str, typing.Any]:
        """The loss' two terms per image, `{"classification": (batch,),
        "localization": (batch,)}` (the latter times `alpha`): each image's
        share, divided by `N` and multiplied by the image's `sample_weight`
        as `__call__` does (images of weight 0 dropped before the math, so
        not in `N`). With `reduction="sum"`, `__call__` is the sum of both
        over the batch. `total_positives` overrides `N`: a detector that
        trains under a distribution strategy passes the global count
        (`positives` all-reduced)."""
        weight = None
        if sample_weight is not None:
            y_true, y_pred, weight = self.drop_zero_weight_images(
                y_true, y_pred, sample_weight)
        classification, localization, positives = multibox_terms(
            y_true, y_pred, self.num_classes, self.box_loss,
            self.classification, self.neg_pos_ratio,
            self.min_negatives_per_image, self.focal_alpha, self.focal_gamma,
            self.anchors, self.scale_factors)
        if total_positives is None:
            total_positives = ops.sum(positives)
        # (L_cls + alpha L_loc) / N as in `multibox`; 0 when N = 0.
        scale = (ops.cast(total_positives > 0, "float32")
                 / ops.maximum(total_positives, 1.0))
        classification = classification * scale
        localization = self.alpha * localization * scale
        if weight is not None:
            weight = ops.cast(weight, "float32")
            classification = classification * weight
            localization = localization * weight
        return {"classification": classification,
                "localization": localization}

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "box_loss": keras.saving.serialize_keras_object(self.box_loss),
            "alpha": self.alpha,
            "classification": self.classification,
            "neg_pos_ratio": self.neg_pos_ratio,
            "min_negatives_per_image": self.min_negatives_per_image,
            "focal_alpha": self.focal_alpha,
            "focal_gamma": self.focal_gamma,
            "anchors": (None if self.anchors is None
                        else np.asarray(self.anchors).tolist()),
            "scale_factors": list(self.scale_factors),
        }
