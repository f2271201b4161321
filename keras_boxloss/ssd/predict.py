"""Running a trained SSD on records: detections in the evaluation format."""

import numpy as np

from keras_boxloss.ssd.model import non_max_suppression


def detect(model, images, **nms_kwargs):
    """Images `(B, S, S, 3)` 0..255 at the model's size -> the TF OD API
    detection dict (TensorFlow tensors). Decoding and NMS run outside any
    compiled step: NMS is TensorFlow-only and not XLA-compilable."""
    boxes, scores = model.decode(model(images, training=False))
    return non_max_suppression(boxes, scores, **nms_kwargs)


def predict_records(model, config, pattern, **nms_kwargs):
    """Detections for every image of `pattern`, as
    `keras_boxloss.evaluation.predictions` lists them (boxes normalised to
    the original images)."""
    from keras_boxloss.data.pipeline import make_dataset, to_original_boxes
    from keras_boxloss.evaluation.predictions import predictions_from_batch

    size = config.model.image_size
    dataset = make_dataset(pattern, batch_size=config.data.batch_size,
                           image_size=(size, size),
                           resize_mode=config.data.resize_mode,
                           max_boxes=config.data.max_boxes)
    predictions = []
    for batch in dataset:
        out = detect(model, batch["images"], **nms_kwargs)
        boxes = to_original_boxes(out["detection_boxes"], batch["valid_size"])
        predictions += predictions_from_batch(
            batch["source_id"].numpy(), boxes.numpy(),
            out["detection_scores"].numpy(),
            out["detection_classes"].numpy().astype(np.int64),
            out["num_detections"].numpy())
    return predictions
