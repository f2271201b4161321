"""Running a trained detector: decoding, NMS, detections for evaluation,
and `DetectorPredictions`, the KerasHub-style `predict` of the detectors."""

import typing

import numpy as np

# A `predict` dict's padding, KerasHub's: rows past `num_detections` are -1.
PADDING = -1


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


def keras_hub_detections(detections) -> dict:
    """The TF OD API detection dict (`non_max_suppression`'s) -> KerasHub's
    `ObjectDetector.predict` dict of numpy arrays: `boxes` float32 `(B, K,
    4)`, `confidence` float32 `(B, K)`, `labels` int32 `(B, K)` (label-map
    ids, as the ground truth `fit` takes), `num_detections` int32 `(B,)`;
    rows past `num_detections` are -1 in `boxes`, `confidence` and
    `labels`, as KerasHub's `mask_invalid_detections` pads them."""
    count = np.asarray(detections["num_detections"]).astype(np.int32)
    boxes = np.asarray(detections["detection_boxes"], np.float32)
    valid = np.arange(boxes.shape[1])[None, :] < count[:, None]
    return {
        "boxes": np.where(valid[..., None], boxes, PADDING).astype(
            np.float32),
        "confidence": np.where(valid, np.asarray(
            detections["detection_scores"], np.float32), PADDING).astype(
            np.float32),
        "labels": np.where(valid, np.asarray(
            detections["detection_classes"]).astype(np.int32), PADDING
        ).astype(np.int32),
        "num_detections": count,
    }


def detections_from_outputs(model, outputs, batch_size: int = 32,
                            **nms_kwargs) -> dict:
    """Raw head outputs `(N, ...)` (what `model(images)` returns) ->
    `keras_hub_detections`' dict, decoded and NMS'd `batch_size` images at
    a time (NMS runs outside any compiled step: see `detect`)."""
    outputs = np.asarray(outputs)
    if not len(outputs):  # KerasHub-shaped empty arrays: a blank row, cut
        blank = np.zeros((1,) + outputs.shape[1:], outputs.dtype)
        return {key: value[:0] for key, value in detections_from_outputs(
            model, blank, **nms_kwargs).items()}
    parts = [_chunk_detections(model, outputs[start:start + batch_size],
                               nms_kwargs)
             for start in range(0, len(outputs), batch_size)]
    return {key: np.concatenate([p[key] for p in parts])
            for key in parts[0]}


def _chunk_detections(model, outputs, nms_kwargs):
    boxes, scores = model.decode(outputs)
    return keras_hub_detections(non_max_suppression(boxes, scores,
                                                    **nms_kwargs))


class DetectorPredictions:
    """`predict` and `predict_on_batch` as KerasHub's `ObjectDetector`:
    decoded, NMS'd detections, for a detector with `decode`.

    `model.predict(images)` returns `{"boxes", "confidence", "labels",
    "num_detections"}` (see `keras_hub_detections`), boxes in `rel_yxyx`:
    normalised (ymin, xmin, ymax, xmax) of the model's square input, the
    format `fit` takes. The raw head outputs are `model(images)` (as for a
    KerasHub detector), or, batched over a dataset, the base class'
    `keras.Model.predict(model, images)`; `model.decode(raw)` turns them
    into boxes and per-class scores before NMS. NMS uses
    `non_max_suppression`'s defaults, not a run's `postprocess` settings,
    unless `predict`'s keyword arguments override them. `predict` holds
    every image's raw outputs until NMS (about 0.9 MB an image for an SSD at
    300 px; NMS is TensorFlow-only, so it cannot run inside the compiled
    predict step under JAX): for many thousands of images, loop over
    batches with `predict_on_batch`.
    """

    def _check_images(self, x) -> None:
        """An array or tensor of images must have the model's square size
        and 3 channels (a dataset or generator is not looked into): a
        ValueError saying so, instead of a shape clash deep in the graph."""
        shape = getattr(x, "shape", None)
        size = getattr(self, "image_size", None)
        if shape is None or size is None:
            return
        if len(shape) != 4 or tuple(shape[1:]) != (size, size, 3):
            raise ValueError(
                f"Expected images of shape [batch, {size}, {size}, 3] (the "
                f"model's input size; resize first, e.g. "
                f"keras.ops.image.resize(images, ({size}, {size})); one "
                f"image needs a batch axis, images[None]). Received: x with "
                f"shape {tuple(shape)}")

    def predict(self, x, batch_size: typing.Optional[int] = None,
                verbose="auto", steps=None, callbacks=None,
                **nms_kwargs) -> dict:
        """Detections of the images `x` (0..255, the model's size).

        Args:
            x, batch_size, verbose, steps, callbacks: as `keras.Model.predict`.
            **nms_kwargs: `non_max_suppression`'s settings
                (`score_threshold`, `iou_threshold`, `max_detections`,
                `max_per_class`). Those not given are
                `non_max_suppression`'s defaults (score 0.01, IoU 0.6, 100
                per class and in all), not a training run's `postprocess`
                settings, which the model does not store: pass them here
                (`training.config.nms_kwargs(config)`) to match evaluation.

        Returns:
            The KerasHub detection dict of numpy arrays.
        """
        import keras

        self._check_images(x)
        outputs = keras.Model.predict(self, x, batch_size=batch_size,
                                      verbose=verbose, steps=steps,
                                      callbacks=callbacks)
        return detections_from_outputs(self, outputs, batch_size or 32,
                                       **nms_kwargs)

    def predict_on_batch(self, x, **nms_kwargs) -> dict:
        """`predict` of one batch, as `keras.Model.predict_on_batch`."""
        import keras

        self._check_images(x)
        outputs = keras.Model.predict_on_batch(self, x)
        return detections_from_outputs(self, outputs, max(len(outputs), 1),
                                       **nms_kwargs)


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
