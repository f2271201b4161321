"""Running a trained detector: decoding, NMS, detections for evaluation."""

import numpy as np



def non_max_suppression(boxes, scores, max_detections=100,
                        max_per_class=100, iou_threshold=0.6,
                        score_threshold=0.01):
    """Per-class NMS (TensorFlow only, so kept out of compiled steps).

    Returns the TF Object Detection API's outputs: `detection_boxes` (B, K,
    4) normalised yxyx, `detection_scores`, `detection_classes` (label-map
    ids, float as the TF OD API has them), `num_detections`.
    """
    import tensorflow as tf

    nms = tf.image.combined_non_max_suppression(
        tf.expand_dims(boxes, 2), scores, max_output_size_per_class=max_per_class,
        max_total_size=max_detections, iou_threshold=iou_threshold,
        score_threshold=score_threshold, clip_boxes=True)
    return {
        "detection_boxes": nms.nmsed_boxes,
        "detection_scores": nms.nmsed_scores,
        "detection_classes": nms.nmsed_classes + 1.0,
        "num_detections": tf.cast(nms.valid_detections, tf.float32),
    }


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
    from keras_boxloss.data.records import image_key

    predictions = []
    for batch in dataset:
        out = detect(model, batch["images"], **nms_kwargs)
        boxes = to_original_boxes(out["detection_boxes"], batch["valid_size"])
        # Named as `read_records` + `image_keys` name the same records (the
        # dataset keeps file and record order).
        keys = [image_key(s.decode("utf-8", "replace"),
                          f.decode("utf-8", "replace"), len(predictions) + i)
                for i, (s, f) in enumerate(zip(batch["source_id"].numpy(),
                                               batch["filename"].numpy()))]
        predictions += predictions_from_batch(
            keys, boxes.numpy(),
            out["detection_scores"].numpy(),
            out["detection_classes"].numpy().astype(np.int64),
            out["num_detections"].numpy())
    return predictions
