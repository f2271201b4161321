"""A YOLOv1-style detector: a small backbone, an S x S grid, the paper's loss.

The head predicts, per cell, B boxes `(x, y, w, h, confidence)` and C class
probabilities (raw, linear outputs, as the paper's last layer), so its output
is the `(B, S, S, B * 5 + C)` tensor `keras_boxloss.YOLOv1` takes. The model
reaches the grid by striding: `image_size` must be `32 * grid_size` (e.g.
224 for S = 7: the backbone's stride-16 map and one more stride-2 stage, as
the paper's 448 / 64) or `16 * grid_size` (the stride-16 map itself: a finer
grid for small objects).
Unlike the paper (fully connected layers after 24 convolutions, ImageNet
pre-training), the head is convolutional and the weights start at random:
a YOLOv1-*style* detector, small enough for a CPU.
"""

import typing

import keras
from keras import ops

from keras_boxloss.backbones import backbone_features, conv_bn
from keras_boxloss.losses.yolo_v1_loss import YOLOv1
from keras_boxloss.training.predict import DetectorPredictions


def build_yolo_network(num_classes: int, grid_size: int = 7,
                       boxes_per_cell: int = 2, image_size: int = 224,
                       backbone: str = "tiny", backbone_alpha: float = 1.0,
                       backbone_weights: typing.Optional[str] = None,
                       ) -> keras.Model:
    """The functional network: images `(B, H, W, 3)` in 0..255 -> the
    `(B, S, S, B * 5 + C)` grid."""
    if image_size not in (16 * grid_size, 32 * grid_size):
        raise ValueError(
            "Expected `image_size` = 16 or 32 * grid_size for the YOLOv1 "
            f"grid. Received: image_size={image_size}, "
            f"grid_size={grid_size}")
    images = keras.Input((image_size, image_size, 3), name="images")
    scaled = keras.layers.Rescaling(1 / 127.5, offset=-1.0)(images)
    x = backbone_features(scaled, backbone, backbone_alpha,
                          backbone_weights)[-1]
    if x.shape[1] != grid_size:  # stride-16 feature map: one more stage
        x = conv_bn(x, x.shape[-1], 3, 2, "yolo_reduce")
    x = conv_bn(x, 256, 3, 1, "yolo_head")
    outputs = keras.layers.Conv2D(boxes_per_cell * 5 + num_classes, 1,
                                  name="yolo_predictions")(x)
    return keras.Model(images, outputs, name="yolo_v1_network")


@keras.saving.register_keras_serializable(package="keras_boxloss")
class YOLOv1Detector(DetectorPredictions, keras.Model):
    """A YOLOv1-style detector trained with the `YOLOv1` loss.

    A Keras object: `get_config` holds every constructor argument (the box
    loss serialised), so `model.save("yolo.keras")` and, after `import
    keras_boxloss`, `keras.saving.load_model` rebuild it with the file's
    weights (`backbone_weights` is not kept: the file has every weight).

    `model.fit` takes images and padded ground truth `{"boxes": (B, G, 4)
    normalised yxyx, "classes": (B, G)}` (classes 1..C, -1 padding), which
    `compute_loss` repacks for the loss: `[class - 1, x1, y1, x2, y2]`.

    `model.predict(images)` returns decoded, NMS'd detections as KerasHub's
    `ObjectDetector` does (`boxes` normalised yxyx, `confidence`, `labels`,
    `num_detections`, -1 padding; see
    `keras_boxloss.training.predict.DetectorPredictions`); `model(images)`
    returns the raw `(B, S, S, B * 5 + C)` grid.

    Args:
        num_classes: object classes.
        grid_size, boxes_per_cell: the paper's S and B.
        image_size: `32 * grid_size` or `16 * grid_size`.
        backbone, backbone_alpha, backbone_weights: as for the SSD.
        box_loss, lambda_coord, lambda_noobj, confidence_target: as for the
            `YOLOv1` loss.
    """

    def __init__(self, num_classes: int, grid_size: int = 7,
                 boxes_per_cell: int = 2, image_size: int = 224,
                 backbone: str = "tiny", backbone_alpha: float = 1.0,
                 backbone_weights: typing.Optional[str] = None,
                 box_loss: typing.Union[keras.losses.Loss, dict, None] = None,
                 lambda_coord: float = 5.0, lambda_noobj: float = 0.5,
                 confidence_target: str = "iou", **kwargs):
        if isinstance(box_loss, dict):  # from get_config
            box_loss = keras.saving.deserialize_keras_object(box_loss)
        network = build_yolo_network(num_classes, grid_size, boxes_per_cell,
                                     image_size, backbone, backbone_alpha,
                                     backbone_weights)
        super().__init__(network.inputs, network.outputs[0], **kwargs)
        self.num_classes = num_classes
        self.grid_size = grid_size
        self.boxes_per_cell = boxes_per_cell
        self.image_size = image_size
        self.backbone = backbone
        self.backbone_alpha = backbone_alpha
        self.yolo_loss = YOLOv1(grid_size, boxes_per_cell, num_classes,
                                lambda_coord, lambda_noobj, confidence_target,
                                box_loss=box_loss)

    def get_config(self) -> dict:
        """The constructor's arguments; the loss settings are the `YOLOv1`
        loss' (their one home), its box loss serialised."""
        loss = self.yolo_loss.get_config()
        return {
            "name": self.name,
            "num_classes": self.num_classes,
            "grid_size": self.grid_size,
            "boxes_per_cell": self.boxes_per_cell,
            "image_size": self.image_size,
            "backbone": self.backbone,
            "backbone_alpha": self.backbone_alpha,
            "box_loss": loss["box_loss"],
            "lambda_coord": loss["lambda_coord"],
            "lambda_noobj": loss["lambda_noobj"],
            "confidence_target": loss["confidence_target"],
        }

    @classmethod
    def from_config(cls, config: dict,
                    custom_objects=None) -> "YOLOv1Detector":
        return cls(**config)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None,
                     training=True):
        y1, x1, y2, x2 = ops.unstack(ops.cast(y["boxes"], "float32"), 4, -1)
        classes = ops.cast(y["classes"], "float32")
        # label-map ids 1..C -> loss classes 0..C-1; padding stays negative
        packed = ops.stack([ops.where(classes > 0, classes - 1.0, -1.0),
                            x1, y1, x2, y2], axis=-1)
        return self.yolo_loss(packed, ops.cast(y_pred, "float32"),
                              sample_weight=sample_weight)

    def decode(self, predictions) -> typing.Tuple[typing.Any, typing.Any]:
        """Raw grid -> `(boxes (B, S*S*B, 4) normalised yxyx, scores (B,
        S*S*B, C))`, scores the paper's class-specific confidences
        `Pr(class | object) * confidence`, clipped to [0, 1]."""
        s, b, c = self.grid_size, self.boxes_per_cell, self.num_classes
        predictions = ops.cast(predictions, "float32")
        boxes = ops.reshape(predictions[..., :b * 5], (-1, s, s, b, 5))
        classes = ops.clip(predictions[..., b * 5:], 0.0, 1.0)
        rows = ops.reshape(ops.arange(s, dtype="float32"), (1, s, 1, 1))
        cols = ops.reshape(ops.arange(s, dtype="float32"), (1, 1, s, 1))
        cx = (cols + boxes[..., 0]) / s
        cy = (rows + boxes[..., 1]) / s
        w, h = ops.relu(boxes[..., 2]), ops.relu(boxes[..., 3])
        yxyx = ops.clip(ops.stack([cy - h / 2, cx - w / 2, cy + h / 2,
                                   cx + w / 2], -1), 0.0, 1.0)
        confidence = ops.clip(boxes[..., 4:5], 0.0, 1.0)      # B,S,S,b,1
        scores = confidence * ops.expand_dims(classes, 3)     # B,S,S,b,C
        return (ops.reshape(yxyx, (-1, s * s * b, 4)),
                ops.reshape(scores, (-1, s * s * b, c)))
