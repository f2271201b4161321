"""Model Garden's TF Example decoders, reading records whose
`image/source_id` is any string, empty or missing.

Model Garden's `TfExampleDecoder` needs `image/source_id` in every record
and its parsers turn it into the COCO image id with `tf.strings.to_number`:
records written by the TF OD API tutorials' `generate_tfrecord.py` (the
file name as source_id) fail in evaluation, and records without the field
fail as soon as they are read. These decoders give each image an int64 id
instead:

- a source_id of 1 to 18 digits is its number (COCO's ids, our converter's,
  and an `annotation_file`'s image ids stay what they are);
- any other source_id is named by itself, an empty or missing one by
  `image/filename`, and that name is hashed (64-bit fingerprint) into
  `[2**62, 2**63)`, above every numeric id: the same name always gets the
  same id, in every run and process;
- a record with neither gets Model Garden's fallback, an id hashed from
  the image bytes (so does every record with `regenerate_source_id:
  true`), over 62 bits instead of Model Garden's 22 (where 1000 images
  share an id with a chance of about 1 in 9): nothing on this path casts
  ids to float32.

The decoded dict keeps the name in `source_key` ("" for the image hash;
the parsers drop it).
`image/format` is not read: images are decoded by their bytes (JPEG, PNG,
BMP, GIF's first frame).
`is_crowd` and `area` are optional as in Model Garden (0 and the box area).
Ids are checked to be unique over the validation data by
`check_unique_ids` before Model Garden's COCO evaluator sees them: two
images with one id would be merged into one image there. Labels are
checked by `check_labels` before Model Garden reads them (it would take
a box of class 0 as background, and one beyond `num_classes` as no class,
without a word).
"""

import glob
import os

import tensorflow as tf
from official.core import input_reader
from official.vision.dataloaders import (tf_example_decoder,
                                         tf_example_label_map_decoder)

MAX_DIGITS = 18  # < 2**62: numeric ids never meet hashed ones
HASHED_IDS_START = 2 ** 62
_NAMES = {"image/source_id": tf.io.FixedLenFeature((), tf.string, ""),
          "image/filename": tf.io.FixedLenFeature((), tf.string, "")}


def _hashed(values):
    return (tf.strings.to_hash_bucket_fast(values, HASHED_IDS_START)
            + HASHED_IDS_START)


def name_to_id(names):
    """int64 ids of string names (any shape): the number of a name of 1 to
    18 digits, else `2**62 + fingerprint64(name) mod 2**62`."""
    names = tf.convert_to_tensor(names, tf.string)
    numeric = tf.strings.regex_full_match(names, f"[0-9]{{1,{MAX_DIGITS}}}")
    number = tf.strings.to_number(
        tf.where(numeric, names, tf.fill(tf.shape(names), "0")), tf.int64)
    return tf.where(numeric, number, _hashed(names))


def image_name_and_id(serialized, regenerate_source_id=False):
    """`(name, id)` of one serialized record: the name is its source_id,
    else its filename, else "" (always "" with `regenerate_source_id`);
    the id is `name_to_id(name)`, or for "" the hash of the image bytes
    (Model Garden's fallback, over 62 bits rather than its 22)."""
    names = tf.io.parse_single_example(serialized, _NAMES)
    source_id, filename = names["image/source_id"], names["image/filename"]

    def from_image():
        encoded = tf.io.parse_single_example(serialized, {
            "image/encoded": tf.io.FixedLenFeature((), tf.string)})
        return tf.constant(""), _hashed(encoded["image/encoded"])

    if regenerate_source_id:
        return from_image()
    return tf.case(
        [(tf.strings.length(source_id) > 0,
          lambda: (source_id, name_to_id(source_id))),
         (tf.strings.length(filename) > 0,
          lambda: (filename, name_to_id(filename)))],
        default=from_image)


def decode_rgb(encoded: tf.Tensor) -> tf.Tensor:
    """An encoded image as uint8 `[H, W, 3]`. `expand_animations=False`: a
    GIF (or animated WebP) is its first frame, 3-D like every other format,
    where Model Garden's own decode returns 4-D frames its pipeline rejects.
    """
    image = tf.io.decode_image(encoded, channels=3, expand_animations=False)
    image.set_shape([None, None, 3])
    return image


class _AnyIdMixin:
    """`decode` with `source_id` an int64 id (see the module docstring) and
    `source_key` the name it was made from; the source_id is optional; GIF
    records decode (`decode_rgb`)."""

    def _decode_image(self, parsed_tensors):
        return decode_rgb(parsed_tensors["image/encoded"])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "image/source_id" in self._keys_to_features:
            self._keys_to_features["image/source_id"] = (
                _NAMES["image/source_id"])

    def decode(self, serialized_example):
        decoded = super().decode(serialized_example)
        decoded["source_key"], decoded["source_id"] = image_name_and_id(
            serialized_example, self._regenerate_source_id)
        return decoded


class AnyIdDecoder(_AnyIdMixin, tf_example_decoder.TfExampleDecoder):
    """Model Garden's `TfExampleDecoder` (`decoder.type: simple_decoder`)
    reading any source_id."""


class AnyIdLabelMapDecoder(_AnyIdMixin,
                           tf_example_label_map_decoder
                           .TfExampleDecoderLabelMap):
    """Model Garden's `TfExampleDecoderLabelMap` (`label_map_decoder`)
    reading any source_id."""


def build_decoder(data_config, include_mask):
    """The decoder of a data config's `decoder` (Model Garden's types)."""
    decoder_config = data_config.decoder.get()
    kwargs = dict(include_mask=include_mask,
                  regenerate_source_id=decoder_config.regenerate_source_id,
                  mask_binarize_threshold=(
                      decoder_config.mask_binarize_threshold))
    if data_config.decoder.type == "simple_decoder":
        return AnyIdDecoder(**kwargs)
    if data_config.decoder.type == "label_map_decoder":
        return AnyIdLabelMapDecoder(label_map=decoder_config.label_map,
                                    **kwargs)
    raise ValueError("Expected `decoder.type` 'simple_decoder' or "
                     "'label_map_decoder'. Received: "
                     f"type={data_config.decoder.type!r}")


def input_files(input_path):
    """The files of a data config's `input_path` as Model Garden's input
    reader matches them (`input_reader.match_files`: comma-separated
    patterns or a list; a pattern is globbed only when it has `*` or `?`,
    else it is the file's own name), each glob's matches sorted; None for
    other kinds (weighted mixtures)."""
    if isinstance(input_path, str):
        paths = [input_path]
    elif isinstance(input_path, (list, tuple)):
        paths = list(input_path)
    else:
        return None
    patterns = [part.strip() for path in paths for part in path.split(",")
                if part.strip()]
    return [file for pattern in patterns
            for file in sorted(input_reader.match_files(pattern))]


def _ids_of_file(path, regenerate_source_id, batch_size=256):
    """`(names, ids)` of every record of one TFRecord file, in order."""
    def dataset():
        return tf.data.TFRecordDataset(path).map(
            lambda serialized: image_name_and_id(
                serialized, regenerate_source_id))

    names, ids = [], []
    try:
        for batch_names, batch_ids in dataset().batch(batch_size):
            names += [n.decode("utf-8", "replace")
                      for n in batch_names.numpy()]
            ids += batch_ids.numpy().tolist()
    except tf.errors.OpError as error:
        index = 0  # the record that fails: the first one not read
        try:
            for _ in dataset():
                index += 1
        except tf.errors.OpError:
            pass
        raise ValueError(
            "Expected TF Example records whose `image/source_id` and "
            "`image/filename`, where present, are single strings. Received: "
            f"x={path} record {index}: {error.message.splitlines()[0]}"
        ) from None
    return names, ids


def check_unique_ids(files, regenerate_source_id=False):
    """Raises a ValueError naming both records when two records of `files`
    get the same image id (the same source_id or file name, or a hash
    collision); returns the number of records."""
    seen = {}
    for path in files:
        names, ids = _ids_of_file(path, regenerate_source_id)
        for index, (name, image_id) in enumerate(zip(names, ids)):
            where = f"{path} record {index}"
            if image_id in seen:
                first_name, first_where = seen[image_id]
                if first_name != name:
                    same = (f"names {first_name!r} and {name!r} give the "
                            "same id; rename one")
                elif name:
                    same = "the same name"
                else:
                    same = ("the same image bytes, ids made from them: "
                            + ("regenerate_source_id is true"
                               if regenerate_source_id else
                               "no source_id or filename"))
                raise ValueError(
                    "Expected each evaluation image to have its own "
                    "`image/source_id` (else `image/filename`): the COCO "
                    "evaluator would merge two images with one id. "
                    f"Received: x={name!r} in {first_where} and in "
                    f"{where} ({same}, id {image_id})")
            seen[image_id] = (name, where)
    return len(seen)


# Scans already passed in this process, by what they read: `compare`
# starts Model Garden's trainer again for every chunk of a run.
_LABELS_CHECKED = {}


def _stamp(path):
    stat = os.stat(path)
    return path, stat.st_size, stat.st_mtime_ns


def check_labels(files, num_classes, label_map=""):
    """One pass over the labels of `files` (no image decoding,
    `records.scan_labels`) before Model Garden reads them: every record
    readable, every box's `class/label` in `1 .. num_classes - 1`
    (`task.model.num_classes` counts the background) and in the label map
    (`label_map`, `task.label_map`; empty: the `label_map.pbtxt` beside
    the records when there is one), and its `class/text` naming it there.
    Files not on this machine (`gs://...`, records or label map) are not
    read. Returns the
    scan's summary (`None` when nothing was read); the same files, label
    map and num_classes are scanned once per process.

    Raises:
        ValueError: naming the file, record and object.
    """
    from keras_boxloss.data.label_map import find_label_map
    from keras_boxloss.data.records import scan_labels

    local = [path for path in files if "://" not in path]
    if not local:
        return None
    patterns = [glob.escape(path) for path in local]  # names, not globs
    if "://" in label_map:  # not on this machine: labels >= 1 only
        found, path = None, None
    elif label_map and not os.path.isfile(label_map):
        raise ValueError(f"Expected task.label_map to name a label map "
                         f"file. Received: task.label_map={label_map!r} "
                         f"(no such file)")
    else:
        found, path = find_label_map(patterns, label_map)
    key = (tuple(map(_stamp, local)), num_classes,
           path and _stamp(path))
    if key in _LABELS_CHECKED:
        return _LABELS_CHECKED[key]
    scan = scan_labels(patterns, found, f"the label map {path}")
    if scan["max_label"] >= num_classes:
        raise ValueError(
            f"Expected task.model.num_classes > {scan['max_label']}, the "
            f"largest class id in the data ({scan['max_where']}); Model "
            f"Garden's num_classes counts the background. Received: "
            f"task.model.num_classes={num_classes}")
    _LABELS_CHECKED[key] = scan
    return scan
