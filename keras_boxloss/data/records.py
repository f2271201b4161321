"""TF Object Detection API `tf.train.Example` records: writer and reader.

One `DetectionRecord` is one image with its boxes. On disk it is the TF Object
Detection API's format, which Model Garden's `TfExampleDecoder` also reads:

| feature | type | holds |
|---|---|---|
| `image/encoded` | bytes | the JPEG or PNG file |
| `image/format` | bytes | `jpeg`, `jpg`, `png`, `bmp` or `gif`; optional (told by the bytes) |
| `image/height`, `image/width` | int64 | pixels; optional (read from the image's header, as the OD API takes the decoded image's shape) |
| `image/filename` | bytes | the source file name; optional |
| `image/source_id` | bytes | any string (our converter writes numbers, the tutorials' `generate_tfrecord.py` the file name); optional |
| `image/object/bbox/{xmin,xmax,ymin,ymax}` | float list | normalised to [0, 1] |
| `image/object/class/label` | int64 list | label-map ids (0 is background), in any order, gaps allowed |
| `image/object/class/text` | bytes list | label-map names; optional, checked against the label map |
| `image/object/area` | float list | box area in pixels; optional |
| `image/object/is_crowd` | int64 list | 0 or 1; optional |
| `image/object/difficult` | int64 list | 0 or 1; optional (kept, not used by COCO metrics) |

Records are sharded `{split}-00000-of-00004.tfrecord`; `records_glob` gives
the pattern that reads a split back.

An image is named in reports and predictions by its *key*
(`image_keys`): its source_id, else its file name, else `record N` (its
position in the data). COCO evaluation maps keys to integer ids itself.
"""

import dataclasses
import glob
import os

import numpy as np

FEATURE_KEYS = (
    "image/encoded", "image/format", "image/height", "image/width",
    "image/filename", "image/source_id", "image/object/bbox/xmin",
    "image/object/bbox/xmax", "image/object/bbox/ymin",
    "image/object/bbox/ymax", "image/object/class/label",
    "image/object/class/text", "image/object/area", "image/object/is_crowd",
    "image/object/difficult",
)
# What `image/format` may say (any case); the images are decoded by their
# bytes (`tf.io.decode_image`), as the OD API's decoder does.
IMAGE_FORMATS = {"jpeg": "jpeg", "jpg": "jpeg", "png": "png", "bmp": "bmp",
                 "gif": "gif"}


@dataclasses.dataclass
class DetectionRecord:
    """One image and its ground truth.

    Attributes:
        encoded: the encoded image file (JPEG or PNG bytes).
        image_format: `"jpeg"` or `"png"` (`"jpg"` is read as `"jpeg"`).
        height, width: image size in pixels.
        filename: the source file name (may be empty).
        source_id: any string (may be empty); see `image_keys`.
        boxes: `[N, 4]` float32, normalised `[ymin, xmin, ymax, xmax]`.
        classes: `[N]` int64 label-map ids.
        class_names: `[N]` names of `classes` (`""` where the record has no
            `class/text`).
        is_crowd: `[N]` int64, 0 or 1 (zeros when not given).
        area: `[N]` float32 pixel areas (computed from the boxes when not
            given).
        difficult: `[N]` int64, 0 or 1 (zeros when not given).
        origin: where the record was read (`file record i`), for errors.
    """

    encoded: bytes
    image_format: str
    height: int
    width: int
    filename: str
    source_id: str
    boxes: np.ndarray
    classes: np.ndarray
    class_names: list = None
    is_crowd: np.ndarray = None
    area: np.ndarray = None
    difficult: np.ndarray = None
    origin: str = dataclasses.field(default="", compare=False)

    def __post_init__(self):
        self.boxes = np.asarray(self.boxes, np.float32).reshape(-1, 4)
        self.classes = np.asarray(self.classes, np.int64).reshape(-1)
        count = len(self.boxes)
        where = self.origin or f"image {self.filename!r}"
        fmt = str(self.image_format).lower()
        if fmt not in IMAGE_FORMATS:
            raise ValueError(f"Expected image/format one of "
                             f"{sorted(IMAGE_FORMATS)} in {where}. Received:"
                             f" image_format={self.image_format!r}")
        self.image_format = IMAGE_FORMATS[fmt]
        self.filename = str(self.filename or "")
        self.source_id = str(self.source_id or "")
        if self.class_names is None:
            self.class_names = [""] * count
        self.class_names = [str(n) for n in self.class_names]
        if self.is_crowd is None:
            self.is_crowd = np.zeros(count, np.int64)
        self.is_crowd = np.asarray(self.is_crowd, np.int64).reshape(-1)
        if self.difficult is None:
            self.difficult = np.zeros(count, np.int64)
        self.difficult = np.asarray(self.difficult, np.int64).reshape(-1)
        if self.area is None:
            sides = self.boxes[:, 2:] - self.boxes[:, :2]
            self.area = sides[:, 0] * sides[:, 1] * self.height * self.width
        self.area = np.asarray(self.area, np.float32).reshape(-1)
        lengths = {"class/label": len(self.classes),
                   "class/text": len(self.class_names),
                   "is_crowd": len(self.is_crowd), "area": len(self.area),
                   "difficult": len(self.difficult)}
        if set(lengths.values()) != {count}:
            raise ValueError(
                f"Expected as many class labels, class texts, is_crowd, area "
                f"and difficult values as boxes ({count}) in {where}. "
                f"Received: {lengths}")


def image_key(source_id: str, filename: str, index: int) -> str:
    """How an image is named: source_id, else file name, else its
    position (`record N`, counted from 0 over the whole data)."""
    return source_id or filename or f"record {index}"


def image_keys(records) -> list:
    """The key of each record (`image_key`), in order.

    Raises:
        ValueError: naming both records when two share a key (COCO
            evaluation and the predictions need one image per key).
    """
    keys, first = [], {}
    for index, record in enumerate(records):
        key = image_key(record.source_id, record.filename, index)
        if key in first:
            other = records[first[key]]
            raise ValueError(
                f"Expected a unique source_id (or file name, where "
                f"source_id is empty) per image. Received: {key!r} for "
                f"{other.origin or f'record {first[key]}'} and "
                f"{record.origin or f'record {index}'}")
        first[key] = index
        keys.append(key)
    return keys


def _bytes(values):
    import tensorflow as tf
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=values))


def _ints(values):
    import tensorflow as tf
    return tf.train.Feature(int64_list=tf.train.Int64List(value=values))


def _floats(values):
    import tensorflow as tf
    return tf.train.Feature(float_list=tf.train.FloatList(value=values))


def to_tf_example(record):
    """A `DetectionRecord` as a `tf.train.Example`."""
    import tensorflow as tf

    ymin, xmin, ymax, xmax = record.boxes.T
    feature = {
        "image/encoded": _bytes([record.encoded]),
        "image/format": _bytes([record.image_format.encode()]),
        "image/height": _ints([record.height]),
        "image/width": _ints([record.width]),
        "image/filename": _bytes([record.filename.encode()]),
        "image/source_id": _bytes([str(record.source_id).encode()]),
        "image/object/bbox/xmin": _floats(xmin),
        "image/object/bbox/xmax": _floats(xmax),
        "image/object/bbox/ymin": _floats(ymin),
        "image/object/bbox/ymax": _floats(ymax),
        "image/object/class/label": _ints(record.classes),
        "image/object/area": _floats(record.area),
        "image/object/is_crowd": _ints(record.is_crowd),
    }
    # Optional features with nothing to say are left out: a record read
    # without class texts does not come back with empty ones.
    if any(record.class_names):
        feature["image/object/class/text"] = _bytes(
            [n.encode() for n in record.class_names])
    if record.difficult.any():
        feature["image/object/difficult"] = _ints(record.difficult)
    return tf.train.Example(features=tf.train.Features(feature=feature))


def from_tf_example(example, where="a record"):
    """A `tf.train.Example` (or its serialized bytes) as a `DetectionRecord`.

    Raises:
        ValueError: naming `where` when a required feature is missing or the
            features disagree.
    """
    import tensorflow as tf

    if isinstance(example, bytes):
        example = tf.train.Example.FromString(example)
    features = example.features.feature

    def values(key):
        feature = features[key] if key in features else None
        if feature is None:
            return []
        kind = feature.WhichOneof("kind")
        return list(getattr(feature, kind).value) if kind else []

    def strings(key):  # bytes features: an int64 source_id is no name
        kind = features[key].WhichOneof("kind") if key in features else None
        if kind not in (None, "bytes_list"):
            raise ValueError(
                f"Expected {key!r} as strings (a bytes_list) in {where}. "
                f"Received: {kind} {values(key)[:3]}")
        return values(key)

    def single(key, read=values):
        found = read(key)
        if len(found) != 1:
            raise ValueError(
                f"Expected one value for {key!r} in {where}. "
                f"Received: {len(found)} values")
        return found[0]

    ymin, xmin, ymax, xmax = (values(f"image/object/bbox/{side}")
                              for side in ("ymin", "xmin", "ymax", "xmax"))
    if not len(ymin) == len(xmin) == len(ymax) == len(xmax):
        raise ValueError(f"Expected as many ymin, xmin, ymax, xmax values in "
                         f"{where}. Received: {len(ymin)}, {len(xmin)}, "
                         f"{len(ymax)}, {len(xmax)}")
    boxes = np.stack([ymin, xmin, ymax, xmax], -1) if ymin else np.zeros(
        (0, 4))
    classes = values("image/object/class/label")
    texts = [t.decode("utf-8", "replace")
             for t in strings("image/object/class/text")]

    def text(key):  # optional single strings: absent reads as ""
        found = strings(key)
        return found[0].decode("utf-8", "replace") if found else ""

    try:
        encoded = single("image/encoded", strings)
        image_format = text("image/format")
        if not image_format:  # optional in the OD API: tell by the bytes
            image_format = "png" if encoded[:4] == b"\x89PNG" else "jpeg"
        if values("image/height") or values("image/width"):
            height = int(single("image/height"))
            width = int(single("image/width"))
        else:
            width, height = _header_size(encoded, where)
        return DetectionRecord(
            encoded=encoded, image_format=image_format,
            height=height, width=width,
            filename=text("image/filename"), source_id=text("image/source_id"),
            boxes=boxes, classes=classes, class_names=texts or None,
            is_crowd=values("image/object/is_crowd") or None,
            area=values("image/object/area") or None,
            difficult=values("image/object/difficult") or None, origin=where)
    except ValueError as error:
        if where in str(error):
            raise
        raise ValueError(f"Bad record in {where}: {error}") from None


def _header_size(encoded: bytes, where: str) -> tuple[int, int]:
    """`(width, height)` from the image's header (PIL reads no pixels)."""
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(encoded)) as image:
            return image.size
    except (OSError, UnidentifiedImageError) as error:
        raise ValueError(
            f"Expected image/height and image/width, or an image whose "
            f"size can be read, in {where}. Received: neither "
            f"({type(error).__name__}: {error})") from None


def shard_paths(output_dir, split, num_shards):
    """`{output_dir}/{split}-0000i-of-0000n.tfrecord` for each shard."""
    return [os.path.join(output_dir,
                         f"{split}-{i:05d}-of-{num_shards:05d}.tfrecord")
            for i in range(num_shards)]


def records_glob(output_dir, split):
    """The glob that matches every shard of `split` in `output_dir`
    (escaped, so a folder named like `data[1]` matches itself)."""
    return os.path.join(glob.escape(os.fspath(output_dir)),
                        f"{glob.escape(split)}-*-of-*.tfrecord")


def write_records(records, output_dir, split, num_shards=1):
    """Writes `records` round-robin into `num_shards` TFRecord files.

    Returns:
        The list of shard paths written.
    """
    import tensorflow as tf

    if not isinstance(num_shards, int) or num_shards < 1:
        raise ValueError(f"Expected a positive integer num_shards. "
                         f"Received: num_shards={num_shards!r}")
    os.makedirs(output_dir, exist_ok=True)
    paths = shard_paths(output_dir, split, num_shards)
    writers = [tf.io.TFRecordWriter(path) for path in paths]
    try:
        for i, record in enumerate(records):
            writers[i % num_shards].write(
                to_tf_example(record).SerializeToString())
    finally:
        for writer in writers:
            writer.close()
    return paths


def list_record_files(pattern):
    """Sorted files matching a glob (or a comma-separated list of globs, or
    a list of globs).

    Raises:
        FileNotFoundError: when nothing matches.
    """
    parts = (pattern if isinstance(pattern, (list, tuple))
             else str(pattern).split(","))
    files = sorted({path for part in parts if part
                    for path in glob.glob(os.path.expanduser(part.strip()))})
    if not files:
        raise FileNotFoundError(f"No TFRecord files match {pattern!r}")
    return files


def read_records(pattern):
    """Yields the `DetectionRecord`s of every file matching `pattern`, in
    file order then record order."""
    import tensorflow as tf

    for path in list_record_files(pattern):
        index = framed = 0
        try:
            for serialized in tf.data.TFRecordDataset(path):
                data = serialized.numpy()
                framed += len(data) + 16  # length and 2 CRCs
                yield from_tf_example(data, where=f"{path} record {index}")
                index += 1
        except tf.errors.DataLossError as error:
            raise ValueError(f"Corrupt TFRecord file {path}: "
                             f"{error.message}") from None
        size = os.path.getsize(path)
        if framed != size:  # cut inside a record header: TF stops quietly
            raise ValueError(f"Corrupt TFRecord file {path}: record {index} "
                             f"is truncated (the file ends {size - framed} "
                             f"bytes into it)")


def _zero_based_hint(text, accepted, ids="Ids"):
    """Why a box has class/label 0, most likely: a community
    generate_tfrecord.py whose class_text_to_int returns a list index.
    The OD API, given a label map, takes the id of `class/text` and uses
    class/label only for boxes without one; keras-boxloss reads
    class/label, so the ids must be the label map's. `ids`: the hint's
    first word, capitalised or not as the message around it needs."""
    hint = (f"{ids} counted from 0 (a generate_tfrecord.py whose "
            f"class_text_to_int returns a list index)? Write the label map's "
            f"ids (from 1) into class/label")
    named = [i for i, names in accepted.items() if text and text in names]
    if named:
        hint += (f": the box's class/text {text!r} is id {named[0]} there "
                 f"(the OD API, given a label map, reads class/text; "
                 f"keras-boxloss reads class/label)")
    return hint


class _LabelChecker:
    """Checks each object's `class/label` against the label map and its
    `class/text` against both (the label's name or display_name, as the OD
    API's decoder looks texts up); without a label map, remembers the text
    first seen per label, so records that disagree with one another are an
    error."""

    def __init__(self, label_map=None, label_map_name="the label map"):
        self.label_map = label_map
        self.label_map_name = label_map_name
        shown = getattr(label_map, "display_names", {}) or {}
        self.accepted = {i: {n, shown.get(i, n)}
                         for i, n in (label_map or {}).items()}
        self.first_text = {}
        self.max_label, self.max_where = 0, None
        self.num_records = self.num_boxes = 0

    def check(self, labels, texts, num_boxes, where):
        self.num_records += 1
        self.num_boxes += num_boxes
        if len(labels) != num_boxes:
            only_text = not len(labels) and len(texts) == num_boxes
            raise ValueError(
                f"Expected one image/object/class/label per box in {where}."
                f" Received: {num_boxes} boxes, {len(labels)} labels"
                + ("; the record names its classes by class/text only, "
                   "which the OD API looks up in its label map: write "
                   "class/label too (the label map's ids), keras-boxloss "
                   "reads the ids" if only_text else ""))
        if texts and len(texts) != num_boxes:
            raise ValueError(
                f"Expected one image/object/class/text per box (or none) in "
                f"{where}. Received: {num_boxes} boxes, {len(texts)} texts")
        for index, label in enumerate(labels):
            label = int(label)
            text = texts[index] if texts else ""
            if isinstance(text, bytes):
                text = text.decode("utf-8", "replace")
            object_where = f"{where} object {index}"
            if self.label_map is not None and label not in self.accepted:
                raise ValueError(
                    f"Expected class/label ids of {self.label_map_name} "
                    f"{sorted(self.accepted)}. Received: label {label} in "
                    f"{object_where}" + (
                        "; id 0 is the background in TF OD API label maps. "
                        + _zero_based_hint(text, self.accepted)
                        if label == 0 else ""))
            if self.label_map is None and label < 1:
                raise ValueError(
                    f"Expected class/label ids >= 1 (0 is the background)."
                    f" Received: label {label} in {object_where}"
                    + ("; " + _zero_based_hint(text, {}, ids="ids")
                       if label == 0 else ""))
            if label > self.max_label:
                self.max_label, self.max_where = label, object_where
            if not text:
                continue
            if self.label_map is not None and text not in self.accepted[
                    label]:
                named = [i for i, names in self.accepted.items()
                         if text in names]
                raise ValueError(
                    f"Expected class/text to name the class/label in "
                    f"{self.label_map_name}. Received: label {label} "
                    f"({self.label_map[label]!r} there) with text "
                    f"{text!r} in {object_where}"
                    + (f" ({text!r} is id {named[0]} there)" if named
                       else "") + "; fix the label map or the records")
            if self.label_map is not None:
                continue  # its name or display_name: the label's own
            first = self.first_text.setdefault(label, (text, object_where))
            if first[0] != text:
                raise ValueError(
                    f"Expected one class/text per class/label. Received: "
                    f"label {label} is {first[0]!r} in {first[1]} and "
                    f"{text!r} in {object_where}")


def check_record_labels(records, label_map=None,
                        label_map_name="the label map"):
    """Checks the labels of `DetectionRecord`s (see `scan_labels`)."""
    checker = _LabelChecker(label_map, label_map_name)
    for index, record in enumerate(records):
        # no texts at all reads as "" per box; an empty one among others
        # stays in place (the checker skips it), so counts stay true
        texts = record.class_names if any(record.class_names) else []
        checker.check(record.classes, texts, len(record.boxes),
                      record.origin or f"record {index}")
    return checker


def scan_labels(pattern, label_map=None, label_map_name="the label map"):
    """Reads only the boxes' labels and texts of every record (no image
    decoding) and checks them: every record readable, a label per box,
    every label in the label map (>= 1 without one), every `class/text`
    naming its label there (name or display_name) and the same text for a
    label throughout.

    Returns:
        `{"num_records", "num_boxes", "max_label", "max_where"}`, the last
        naming the file, record and object of the largest label.

    Raises:
        ValueError: naming the file, record and object of the first
            disagreement, or the file and record (0-based index in its
            file) of the first truncated or garbled record.
    """
    import tensorflow as tf

    spec = {"image/object/class/label": tf.io.RaggedFeature(tf.int64),
            "image/object/class/text": tf.io.RaggedFeature(tf.string),
            "image/object/bbox/ymin": tf.io.RaggedFeature(tf.float32)}
    checker = _LabelChecker(label_map, label_map_name)
    for path in list_record_files(pattern):
        index = framed = 0
        try:
            for serialized in tf.data.TFRecordDataset(path).batch(1024):
                batch = tf.io.parse_example(serialized, spec)
                # each record is framed by 16 bytes: its length and 2 CRCs
                framed += int(tf.reduce_sum(tf.strings.length(serialized))
                              ) + 16 * int(serialized.shape[0])
                for labels, texts, ymin in zip(
                        *(batch[k].to_list() for k in spec)):
                    checker.check(labels, texts, len(ymin),
                                  f"{path} record {index}")
                    index += 1
        except (tf.errors.DataLossError,
                tf.errors.InvalidArgumentError) as error:
            index, message, typed = _first_unreadable(path, spec, error)
            if typed:  # readable, but a feature of the wrong type
                raise ValueError(message) from None
            raise ValueError(
                f"Expected readable TFRecords in {path}. Received: record "
                f"{index} (0-based; the {index} before it read) is corrupt: "
                f"{message}") from None
        size = os.path.getsize(path)
        # TensorFlow reads a file cut inside a record's length header as
        # ending there, without an error: compare the bytes read.
        if framed != size:
            raise ValueError(
                f"Expected readable TFRecords in {path}. Received: record "
                f"{index} (0-based; the {index} before it read) is "
                f"truncated: the file ends {size - framed} bytes into it")
    return {"num_records": checker.num_records,
            "num_boxes": checker.num_boxes, "max_label": checker.max_label,
            "max_where": checker.max_where}


def _first_unreadable(path, spec, error):
    """`(index, message, typed)` of the first record of `path` that cannot
    be read or parsed, reading one record at a time (`error`: the batch's,
    the message when none fails alone). `typed`: the record reads, but
    `from_tf_example` names a feature of the wrong type (an int64 class
    text) in `message`; else the record's bytes are corrupt."""
    import tensorflow as tf

    index = 0
    try:
        for serialized in tf.data.TFRecordDataset(path):
            try:
                tf.io.parse_single_example(serialized, spec)
            except tf.errors.InvalidArgumentError:
                try:
                    from_tf_example(serialized.numpy(),
                                    f"{path} record {index}")
                except ValueError as typed:
                    return index, str(typed), True
                except Exception:  # noqa: BLE001 (not an Example: corrupt)
                    pass
                raise
            index += 1
    except (tf.errors.DataLossError, tf.errors.InvalidArgumentError) as one:
        error = one
    return index, error.message.strip().splitlines()[0], False
