"""tf.data input pipeline for Keras 3 detectors, from TF OD API records.

`make_dataset(pattern, ...)` reads records, then per image: decode (always 3
channels), SSD random crop and random horizontal flip (when `augment`),
resize (`"fixed"`: stretch to `image_size`; `"pad"`: keep the aspect ratio,
scale to fit, pad bottom and right with zeros), pad the ground truth to
`max_boxes` with -1, batch, prefetch.

Each batch is a dict:

- `images`: float32 `[B, H, W, 3]`, pixel values 0..255 (models rescale).
- `bounding_boxes`: `{"boxes": [B, max_boxes, 4], "classes": [B,
  max_boxes]}`, float32, padded with -1 as KerasCV does; boxes in
  `bounding_box_format` (default `"rel_yxyx"`: normalised to the output
  canvas; `"yxyx"`, `"xyxy"`, `"xywh"`, `"center_xywh"` are pixels of the
  canvas; `"rel_xyxy"` normalised). Classes are label-map ids (1..K).
- `source_id`, `filename`: string `[B]` (empty where the record has
  none); `original_size`: int32 `[B, 2]` (height, width
  of the decoded image); `valid_size`: float32 `[B, 2]`, the fraction of the
  canvas the image covers (1, 1 except with `"pad"`; `to_original_boxes`
  maps canvas boxes back to the whole image).

`as_tuple=True` yields `(images, bounding_boxes)` for `model.fit`.
Augmentation is deterministic under `seed`: each element's random choices
come from stateless ops seeded by `(seed, position in the stream)`, and the
shuffle is seeded too. Images with more than `max_boxes` boxes keep their
first `max_boxes` (raise `max_boxes` for crowded data).
"""

import numpy as np

BOX_FORMATS = ("rel_yxyx", "rel_xyxy", "yxyx", "xyxy", "xywh", "center_xywh")
RESIZE_MODES = ("fixed", "pad")
# SSD (Liu et al., 2016) sampling options: the whole image (None), a random
# patch (0.0), or a patch covering at least this fraction of some box.
SSD_MIN_OBJECT_COVERED = (None, 0.0, 0.1, 0.3, 0.5, 0.7, 0.9)


def _feature_spec():
    import tensorflow as tf

    var_float = tf.io.VarLenFeature(tf.float32)
    return {
        "image/encoded": tf.io.FixedLenFeature((), tf.string),
        # Optional, as in the OD API: predictions name images by source_id,
        # else file name (`records.image_key`).
        "image/source_id": tf.io.FixedLenFeature((), tf.string, ""),
        "image/filename": tf.io.FixedLenFeature((), tf.string, ""),
        "image/object/bbox/ymin": var_float,
        "image/object/bbox/xmin": var_float,
        "image/object/bbox/ymax": var_float,
        "image/object/bbox/xmax": var_float,
        "image/object/class/label": tf.io.VarLenFeature(tf.int64),
    }


def decode_record(serialized):
    """One serialized record -> `{"images": uint8 [H, W, 3], "boxes": [N, 4]
    normalised yxyx, "classes": int32 [N], "source_id": string,
    "filename": string}` (the image decoded by its bytes, whatever
    `image/format` says)."""
    import tensorflow as tf

    parsed = tf.io.parse_single_example(serialized, _feature_spec())
    image = tf.io.decode_image(parsed["image/encoded"], channels=3,
                               expand_animations=False)
    image.set_shape([None, None, 3])
    sides = [tf.sparse.to_dense(parsed[f"image/object/bbox/{s}"])
             for s in ("ymin", "xmin", "ymax", "xmax")]
    return {
        "images": image,
        "boxes": tf.stack(sides, axis=-1),
        "classes": tf.cast(tf.sparse.to_dense(
            parsed["image/object/class/label"]), tf.int32),
        "source_id": parsed["image/source_id"],
        "filename": parsed["image/filename"],
    }


def random_flip(image, boxes, seed, probability=0.5):
    """Flips image and normalised yxyx boxes left-right with
    `probability`, decided by the stateless `seed`."""
    import tensorflow as tf

    flip = tf.random.stateless_uniform([], seed) < probability
    flipped = tf.stack([boxes[:, 0], 1.0 - boxes[:, 3], boxes[:, 2],
                        1.0 - boxes[:, 1]], axis=-1)
    return (tf.where(flip, tf.image.flip_left_right(image), image),
            tf.where(flip, flipped, boxes))


def ssd_random_crop(image, boxes, classes, seed,
                    aspect_ratio_range=(0.5, 2.0), area_range=(0.1, 1.0),
                    max_attempts=50):
    """The SSD random crop (Liu et al., 2016, as the TF OD API's
    `ssd_random_crop`).

    Picks one of `SSD_MIN_OBJECT_COVERED` uniformly: keep the whole image,
    or sample a patch (area and aspect-ratio ranges as given) that covers at
    least that fraction of some box. Keeps the boxes whose centre lies in
    the patch, clipped to it and renormalised.

    Returns:
        `(image, boxes, classes)` of the patch.
    """
    import tensorflow as tf

    choice_seed, sample_seed = (tf.random.experimental.stateless_fold_in(
        seed, i) for i in (11, 12))
    options = tf.constant([-1.0 if c is None else c
                           for c in SSD_MIN_OBJECT_COVERED])
    choice = tf.random.stateless_uniform([], choice_seed, 0, len(options),
                                         dtype=tf.int32)
    covered = tf.maximum(options[choice], 0.0)
    shape = tf.shape(image)
    begin, size, _ = tf.image.stateless_sample_distorted_bounding_box(
        shape, bounding_boxes=tf.clip_by_value(boxes, 0.0, 1.0)[None],
        seed=sample_seed, min_object_covered=covered,
        aspect_ratio_range=aspect_ratio_range, area_range=area_range,
        max_attempts=max_attempts, use_image_if_no_bounding_boxes=True)
    whole = options[choice] < 0
    begin = tf.where(whole, tf.zeros_like(begin), begin)
    size = tf.where(whole, shape, size)
    image = tf.slice(image, begin, size)

    height = tf.cast(shape[0], tf.float32)
    width = tf.cast(shape[1], tf.float32)
    top = tf.cast(begin[0], tf.float32) / height
    left = tf.cast(begin[1], tf.float32) / width
    patch_h = tf.cast(size[0], tf.float32) / height
    patch_w = tf.cast(size[1], tf.float32) / width
    centre_y = 0.5 * (boxes[:, 0] + boxes[:, 2])
    centre_x = 0.5 * (boxes[:, 1] + boxes[:, 3])
    keep = ((centre_y > top) & (centre_y < top + patch_h)
            & (centre_x > left) & (centre_x < left + patch_w))
    moved = (boxes - tf.stack([top, left, top, left])) / tf.stack(
        [patch_h, patch_w, patch_h, patch_w])
    moved = tf.clip_by_value(tf.boolean_mask(moved, keep), 0.0, 1.0)
    return image, moved, tf.boolean_mask(classes, keep)


def resize(image, boxes, image_size, mode="fixed"):
    """Resizes to `image_size` `(H, W)`; `"pad"` keeps the aspect ratio and
    pads bottom/right. Returns `(image float32, boxes, valid_size)`."""
    import tensorflow as tf

    target_h, target_w = image_size
    if mode == "fixed":
        image = tf.image.resize(image, [target_h, target_w])
        return image, boxes, tf.ones([2])
    shape = tf.cast(tf.shape(image)[:2], tf.float32)
    scale = tf.minimum(target_h / shape[0], target_w / shape[1])
    new_h = tf.clip_by_value(tf.round(shape[0] * scale), 1, target_h)
    new_w = tf.clip_by_value(tf.round(shape[1] * scale), 1, target_w)
    image = tf.image.resize(image, tf.cast(tf.stack([new_h, new_w]),
                                           tf.int32))
    image = tf.image.pad_to_bounding_box(image, 0, 0, target_h, target_w)
    valid = tf.stack([new_h / target_h, new_w / target_w])
    return image, boxes * tf.tile(valid, [2]), valid


def to_original_boxes(boxes, valid_size):
    """Normalised yxyx boxes `[..., N, 4]` on the canvas -> normalised to
    the original image, undoing `"pad"` resizing (`valid_size` `[..., 2]`
    from the batch)."""
    import tensorflow as tf

    valid_size = tf.cast(valid_size, boxes.dtype)
    scale = tf.concat([valid_size, valid_size], axis=-1)
    return tf.clip_by_value(boxes / scale[..., None, :], 0.0, 1.0)


def convert_boxes(boxes, bounding_box_format, image_size):
    """Normalised yxyx -> `bounding_box_format` on an `image_size` canvas."""
    import tensorflow as tf

    if bounding_box_format == "rel_yxyx":
        return boxes
    y1, x1, y2, x2 = tf.unstack(boxes, 4, axis=-1)
    if bounding_box_format == "rel_xyxy":
        return tf.stack([x1, y1, x2, y2], -1)
    height, width = (float(s) for s in image_size)
    y1, y2, x1, x2 = y1 * height, y2 * height, x1 * width, x2 * width
    if bounding_box_format == "yxyx":
        return tf.stack([y1, x1, y2, x2], -1)
    if bounding_box_format == "xyxy":
        return tf.stack([x1, y1, x2, y2], -1)
    if bounding_box_format == "xywh":
        return tf.stack([x1, y1, x2 - x1, y2 - y1], -1)
    return tf.stack([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], -1)


def pad_ground_truth(boxes, classes, max_boxes):
    """Pads (or truncates) to `max_boxes` with -1; float32 boxes and
    classes, as KerasCV's dense bounding-box dicts."""
    import tensorflow as tf

    boxes = tf.cast(boxes[:max_boxes], tf.float32)
    classes = tf.cast(classes[:max_boxes], tf.float32)
    missing = max_boxes - tf.shape(classes)[0]
    boxes = tf.pad(boxes, [[0, missing], [0, 0]], constant_values=-1.0)
    classes = tf.pad(classes, [[0, missing]], constant_values=-1.0)
    boxes.set_shape([max_boxes, 4])
    classes.set_shape([max_boxes])
    return boxes, classes


def _check_arguments(image_size, resize_mode, bounding_box_format,
                     batch_size, max_boxes, skip_batches):
    if (not isinstance(image_size, (tuple, list)) or len(image_size) != 2
            or not all(isinstance(s, int) and s > 0 for s in image_size)):
        raise ValueError(f"Expected image_size (height, width) of positive "
                         f"ints. Received: image_size={image_size!r}")
    if resize_mode not in RESIZE_MODES:
        raise ValueError(f"Expected resize_mode in {RESIZE_MODES}. "
                         f"Received: resize_mode={resize_mode!r}")
    if bounding_box_format not in BOX_FORMATS:
        raise ValueError(f"Expected bounding_box_format in {BOX_FORMATS}. "
                         f"Received: bounding_box_format="
                         f"{bounding_box_format!r}")
    for name, value in (("batch_size", batch_size),
                        ("max_boxes", max_boxes)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"Expected a positive integer {name}. "
                             f"Received: {name}={value!r}")
    if not isinstance(skip_batches, int) or skip_batches < 0:
        raise ValueError(f"Expected a non-negative integer skip_batches. "
                         f"Received: skip_batches={skip_batches!r}")


def make_dataset(file_pattern, batch_size=8, image_size=(128, 128),
                 resize_mode="fixed", augment=False, seed=None,
                 shuffle_buffer=0, repeat=False, max_boxes=100,
                 bounding_box_format="rel_yxyx", as_tuple=False,
                 drop_remainder=False, skip_batches=0):
    """A batched, prefetched `tf.data.Dataset` of detection examples.

    Args:
        file_pattern: glob (or comma-separated globs) of TFRecord files.
        batch_size: images per batch.
        image_size: `(height, width)` of the output canvas.
        resize_mode: `"fixed"` or `"pad"` (keep aspect ratio, pad).
        augment: apply the SSD random crop and a random horizontal flip.
        seed: seed of the shuffle and the augmentations; `None` draws one.
        shuffle_buffer: shuffle buffer size; 0 keeps the record order.
        repeat: repeat forever (augmentations differ between epochs).
        max_boxes: ground-truth boxes per image after padding.
        bounding_box_format: see the module docstring.
        as_tuple: yield `(images, bounding_boxes)` instead of the dict.
        drop_remainder: drop a last partial batch.
        skip_batches: batches to leave out at the start, the same ones and
            augmented the same way as without it, so that a resumed run
            continues the stream where it stopped (the records are skipped
            before decoding, which costs little).
    """
    import tensorflow as tf

    from keras_boxloss.data.records import list_record_files

    image_size = tuple(image_size)
    _check_arguments(image_size, resize_mode, bounding_box_format,
                     batch_size, max_boxes, skip_batches)
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**31))
    files = list_record_files(file_pattern)
    dataset = tf.data.TFRecordDataset(files)
    if shuffle_buffer:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed)
    if repeat:
        dataset = dataset.repeat()

    def prepare(index, serialized):
        example = decode_record(serialized)
        image, boxes = example["images"], example["boxes"]
        classes = example["classes"]
        original_size = tf.shape(image)[:2]
        if augment:
            element_seed = tf.stack([tf.cast(seed, tf.int64), index])
            image, boxes, classes = ssd_random_crop(
                image, boxes, classes,
                tf.random.experimental.stateless_fold_in(element_seed, 1))
            image, boxes = random_flip(
                image, boxes,
                tf.random.experimental.stateless_fold_in(element_seed, 2))
        image, boxes, valid = resize(image, boxes, image_size, resize_mode)
        boxes, classes = pad_ground_truth(boxes, classes, max_boxes)
        padding = classes[:, None] < 0
        boxes = tf.where(padding, -1.0, convert_boxes(
            boxes, bounding_box_format, image_size))
        return {
            "images": image,
            "bounding_boxes": {"boxes": boxes, "classes": classes},
            "source_id": example["source_id"],
            "filename": example["filename"],
            "original_size": original_size,
            "valid_size": valid,
        }

    # Enumerated before the skip: an element's augmentation seed is its
    # index in the whole stream.
    dataset = dataset.enumerate().skip(skip_batches * batch_size).map(
        prepare, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    if as_tuple:
        dataset = dataset.map(
            lambda batch: (batch["images"], batch["bounding_boxes"]))
    return dataset.prefetch(tf.data.AUTOTUNE)
