"""The SSD model: a backbone's feature maps, extra layers, box and class heads.

Label encoding (anchor matching) runs inside `compute_loss`, in the graph, as
KerasCV's RetinaNet does, so `model.fit` takes images and padded ground truth
`{"boxes": (B, G, 4) normalised yxyx, "classes": (B, G)}` (-1 padding), and
XLA compiles matching, mining and the loss with the rest of the step.
"""

import typing

import keras
import numpy as np
from keras import ops

from keras_boxloss.backbones import backbone_features, conv_bn
from keras_boxloss.boxes import DEFAULT_SCALE_FACTORS, decode_deltas
from keras_boxloss.losses.multibox_loss import MultiBox
from keras_boxloss.ssd.anchors import (anchor_settings, boxes_per_location,
                                       ssd_default_boxes)
from keras_boxloss.ssd.matching import encode_targets
from keras_boxloss.training.predict import DetectorPredictions


def build_ssd_network(
        num_classes: int, image_size: int = 300,
        backbone: str = "mobilenet_v2", backbone_alpha: float = 1.0,
        num_layers: int = 6,
        extra_depths: typing.Sequence[int] = (512, 256, 256, 128),
        classification: str = "softmax",
        anchor_kwargs: typing.Optional[dict] = None,
        backbone_weights: typing.Optional[str] = None,
) -> typing.Tuple[keras.Model, np.ndarray]:
    """The functional network: images `(B, H, W, 3)` in 0..255 ->
    `(B, anchors, 4 + L)` deltas and logits, plus the default boxes."""
    anchor_kwargs = dict(anchor_kwargs or {})
    images = keras.Input((image_size, image_size, 3), name="images")
    scaled = keras.layers.Rescaling(1 / 127.5, offset=-1.0)(images)
    features = backbone_features(scaled, backbone, backbone_alpha,
                                 backbone_weights)
    x = features[-1]
    for i in range(num_layers - len(features)):
        depth = extra_depths[min(i, len(extra_depths) - 1)]
        x = conv_bn(x, depth // 2, 1, 1, f"extra_{i}_1x1")
        x = conv_bn(x, depth, 3, 2, f"extra_{i}_3x3")
        features.append(x)
    features = features[:num_layers]
    per_location = boxes_per_location(num_layers, **anchor_kwargs)
    logits = num_classes + 1 if classification == "softmax" else num_classes
    outputs = []
    for i, (feature, count) in enumerate(zip(features, per_location)):
        box = keras.layers.Conv2D(count * 4, 3, padding="same",
                                  name=f"box_head_{i}")(feature)
        cls = keras.layers.Conv2D(count * logits, 3, padding="same",
                                  name=f"class_head_{i}")(feature)
        box = keras.layers.Reshape((-1, 4))(box)
        cls = keras.layers.Reshape((-1, logits))(cls)
        outputs.append(keras.layers.Concatenate(-1)([box, cls]))
    predictions = keras.layers.Concatenate(1, name="predictions")(outputs)
    sizes = [tuple(f.shape[1:3]) for f in features]
    anchors = ssd_default_boxes(sizes, **anchor_kwargs)
    if anchors.shape[0] != predictions.shape[1]:  # a bug, not a user error
        raise AssertionError("default boxes and head outputs disagree")
    return keras.Model(images, predictions, name="ssd_network"), anchors


@keras.saving.register_keras_serializable(package="keras_boxloss")
class SSD(DetectorPredictions, keras.Model):
    """An SSD trained with `MultiBox`, matching in `compute_loss`.

    A Keras object: `get_config` holds every constructor argument (the box
    loss serialised, the anchor generator's settings complete), so
    `model.save("ssd.keras")` and, after `import keras_boxloss`,
    `keras.saving.load_model` rebuild the same network, default boxes and
    loss, with the file's weights.

    `model.predict(images)` returns decoded, NMS'd detections as KerasHub's
    `ObjectDetector` does (`boxes` normalised yxyx, `confidence`, `labels`,
    `num_detections`, -1 padding; see
    `keras_boxloss.training.predict.DetectorPredictions`); `model(images)`
    returns the raw `(B, anchors, 4 + L)` head outputs.

    Args:
        num_classes: object classes (without the background).
        image_size: square input size in pixels.
        backbone: "mobilenet_v2" (keras.applications, random init) or "tiny"
            (plain convs, for CPU configs).
        backbone_alpha: width multiplier of the backbone.
        num_layers: feature maps that carry default boxes.
        box_loss: the localization loss, any box loss of the library.
        classification, neg_pos_ratio, min_negatives_per_image, alpha: as
            for `MultiBox`.
        matched_threshold, unmatched_threshold: anchor matching IoUs.
        anchor_kwargs: `layer_box_shapes` arguments (scales, ratios).
        backbone_weights: optional path of MobileNetV2 (no top) weights a
            user has, e.g. from `keras.applications` saved locally; nothing
            is downloaded. Not in `get_config`: a loaded model takes all its
            weights from the saved file.
        focal_alpha, focal_gamma: `classification="sigmoid_focal"`'s, as
            for `MultiBox` (checked there).
    """

    def __init__(self, num_classes: int, image_size: int = 300,
                 backbone: str = "mobilenet_v2", backbone_alpha: float = 1.0,
                 num_layers: int = 6,
                 box_loss: typing.Union[keras.losses.Loss, dict, None] = None,
                 classification: str = "softmax", neg_pos_ratio: float = 3.0,
                 min_negatives_per_image: int = 0, alpha: float = 1.0,
                 matched_threshold: float = 0.5,
                 unmatched_threshold: float = 0.5,
                 anchor_kwargs: typing.Optional[dict] = None,
                 backbone_weights: typing.Optional[str] = None,
                 focal_alpha: float = 0.25, focal_gamma: float = 2.0,
                 **kwargs):
        # complete settings: a saved model keeps its boxes if defaults change
        anchor_kwargs = anchor_settings(**(anchor_kwargs or {}))
        network, anchors = build_ssd_network(
            num_classes, image_size, backbone, backbone_alpha, num_layers,
            classification=classification, anchor_kwargs=anchor_kwargs,
            backbone_weights=backbone_weights)
        super().__init__(network.inputs, network.outputs[0], **kwargs)
        self.num_classes = num_classes
        self.image_size = image_size
        self.backbone = backbone
        self.backbone_alpha = backbone_alpha
        self.num_layers = num_layers
        self.anchor_kwargs = anchor_kwargs
        self.anchors = anchors
        self.matched_threshold = matched_threshold
        self.unmatched_threshold = unmatched_threshold
        self.multibox = MultiBox(
            num_classes, box_loss=box_loss, alpha=alpha,
            classification=classification, neg_pos_ratio=neg_pos_ratio,
            min_negatives_per_image=min_negatives_per_image,
            focal_alpha=focal_alpha, focal_gamma=focal_gamma,
            anchors=anchors, scale_factors=DEFAULT_SCALE_FACTORS)
        # The two MultiBox terms, logged by `fit` beside the total (`compare`
        # plots the box term per loss).
        self.box_loss_metric = keras.metrics.Mean(name="box_loss")
        self.classification_loss_metric = keras.metrics.Mean(
            name="classification_loss")

    def get_config(self) -> dict:
        """The constructor's arguments; the loss settings are MultiBox's
        (their one home), its box loss serialised."""
        mb = self.multibox
        return {
            "name": self.name,
            "num_classes": self.num_classes,
            "image_size": self.image_size,
            "backbone": self.backbone,
            "backbone_alpha": self.backbone_alpha,
            "num_layers": self.num_layers,
            "box_loss": keras.saving.serialize_keras_object(mb.box_loss),
            "classification": mb.classification,
            "neg_pos_ratio": mb.neg_pos_ratio,
            "min_negatives_per_image": mb.min_negatives_per_image,
            "alpha": mb.alpha,
            "matched_threshold": self.matched_threshold,
            "unmatched_threshold": self.unmatched_threshold,
            "anchor_kwargs": dict(self.anchor_kwargs),
            "focal_alpha": mb.focal_alpha,
            "focal_gamma": mb.focal_gamma,
        }

    @classmethod
    def from_config(cls, config: dict, custom_objects=None) -> "SSD":
        # MultiBox deserialises a box_loss dict itself
        return cls(**config)

    def encode(self, ground_truth):
        """Padded ground truth -> MultiBox targets `(B, anchors, 5)`."""
        return encode_targets(
            ops.convert_to_tensor(self.anchors), ground_truth["boxes"],
            ground_truth["classes"], self.matched_threshold,
            self.unmatched_threshold, DEFAULT_SCALE_FACTORS)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None,
                     training=True):
        """The `MultiBox` loss of the encoded batch, `sample_weight` per
        image meaning what it means there (an image of weight 0 adds
        nothing, not even to `N`), with `N` the positives of the *global*
        batch: under a distribution strategy each replica divides its sum
        by the all-reduced count, so the summed replica gradients equal one
        replica's on the whole batch."""
        targets = self.encode(y)
        y_pred = ops.cast(y_pred, "float32")
        total = _sum_over_replicas(
            self.multibox.positives(targets, sample_weight))
        terms = self.multibox.terms(targets, y_pred, sample_weight,
                                    total_positives=total)
        self.box_loss_metric.update_state(ops.sum(terms["localization"]))
        self.classification_loss_metric.update_state(
            ops.sum(terms["classification"]))
        return ops.sum(terms["classification"] + terms["localization"])

    def decode(self, predictions) -> typing.Tuple[typing.Any, typing.Any]:
        """Raw outputs -> `(boxes (B, A, 4) normalised yxyx, scores (B, A,
        C))`, class `c` of the scores being label-map id `c + 1`."""
        predictions = ops.cast(predictions, "float32")
        x1, y1, x2, y2 = ops.unstack(decode_deltas(
            predictions[..., :4], ops.convert_to_tensor(self.anchors),
            DEFAULT_SCALE_FACTORS), 4, axis=-1)
        boxes = ops.clip(ops.stack([y1, x1, y2, x2], -1), 0.0, 1.0)
        logits = predictions[..., 4:]
        if self.multibox.classification == "softmax":
            scores = ops.softmax(logits, axis=-1)[..., 1:]
        else:
            scores = ops.sigmoid(logits)
        return boxes, scores


def _sum_over_replicas(value):
    """`value` summed over the replicas of a `tf.distribute` strategy (itself
    outside one, or on another backend)."""
    if keras.backend.backend() != "tensorflow":
        return value
    import tensorflow as tf

    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return value
    return context.all_reduce(tf.distribute.ReduceOp.SUM, value)
