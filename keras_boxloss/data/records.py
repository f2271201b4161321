"""TF Object Detection API `tf.train.Example` records: writer and reader.

One `DetectionRecord` is one image with its boxes. On disk it is the TF Object
Detection API's format, which Model Garden's `TfExampleDecoder` also reads:

| feature | type | holds |
|---|---|---|
| `image/encoded` | bytes | the JPEG or PNG file |
| `image/format` | bytes | `jpeg` or `png` |
| `image/height`, `image/width` | int64 | pixels |
| `image/filename` | bytes | the source file name |
| `image/source_id` | bytes | a numeric string, unique in the dataset (COCO evaluation casts it to int) |
| `image/object/bbox/{xmin,xmax,ymin,ymax}` | float list | normalised to [0, 1] |
| `image/object/class/label` | int64 list | label-map ids (0 is background) |
| `image/object/class/text` | bytes list | label-map names |
| `image/object/area` | float list | box area in pixels |
| `image/object/is_crowd` | int64 list | 0 or 1 |

Records are sharded `{split}-00000-of-00004.tfrecord`; `records_glob` gives
the pattern that reads a split back.
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
)


@dataclasses.dataclass
class DetectionRecord:
    """One image and its ground truth.

    Attributes:
        encoded: the encoded image file (JPEG or PNG bytes).
        image_format: `"jpeg"` or `"png"`.
        height, width: image size in pixels.
        filename: the source file name (reports name images by it).
        source_id: numeric string, unique within a dataset.
        boxes: `[N, 4]` float32, normalised `[ymin, xmin, ymax, xmax]`.
        classes: `[N]` int64 label-map ids.
        class_names: `[N]` names of `classes`.
        is_crowd: `[N]` int64, 0 or 1 (zeros when not given).
        area: `[N]` float32 pixel areas (computed from the boxes when not
            given).
    """

    encoded: bytes
    image_format: str
    height: int
    width: int
    filename: str
    source_id: str
    boxes: np.ndarray
    classes: np.ndarray
    class_names: list
    is_crowd: np.ndarray = None
    area: np.ndarray = None

    def __post_init__(self):
        self.boxes = np.asarray(self.boxes, np.float32).reshape(-1, 4)
        self.classes = np.asarray(self.classes, np.int64).reshape(-1)
        self.class_names = [str(n) for n in self.class_names]
        count = len(self.boxes)
        if self.is_crowd is None:
            self.is_crowd = np.zeros(count, np.int64)
        self.is_crowd = np.asarray(self.is_crowd, np.int64).reshape(-1)
        if self.area is None:
            sides = self.boxes[:, 2:] - self.boxes[:, :2]
            self.area = sides[:, 0] * sides[:, 1] * self.height * self.width
        self.area = np.asarray(self.area, np.float32).reshape(-1)
        lengths = {len(self.classes), len(self.class_names),
                   len(self.is_crowd), len(self.area)}
        if lengths != {count}:
            raise ValueError(
                f"Expected as many classes, class names, is_crowd and area "
                f"values as boxes ({count}). Received: lengths={lengths} for "
                f"image {self.filename!r}")
        if not str(self.source_id).isdigit():
            raise ValueError(
                f"Expected a numeric string source_id (COCO evaluation casts "
                f"it to int). Received: source_id={self.source_id!r} for "
                f"image {self.filename!r}")


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
        "image/object/class/text": _bytes(
            [n.encode() for n in record.class_names]),
        "image/object/area": _floats(record.area),
        "image/object/is_crowd": _ints(record.is_crowd),
    }
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

    def single(key):
        found = values(key)
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
    texts = [t.decode() for t in values("image/object/class/text")]
    if not texts:
        texts = [str(c) for c in classes]
    try:
        encoded = single("image/encoded")
        image_format = (values("image/format") or [b""])[0].decode()
        if not image_format:  # optional in the OD API: tell by the bytes
            image_format = "png" if encoded[:4] == b"\x89PNG" else "jpeg"
        return DetectionRecord(
            encoded=encoded, image_format=image_format,
            height=int(single("image/height")),
            width=int(single("image/width")),
            filename=(values("image/filename") or [b""])[0].decode(),
            source_id=single("image/source_id").decode(),
            boxes=boxes, classes=classes, class_names=texts,
            is_crowd=values("image/object/is_crowd") or None,
            area=values("image/object/area") or None)
    except ValueError as error:
        raise ValueError(f"Bad record in {where}: {error}") from None


def shard_paths(output_dir, split, num_shards):
    """`{output_dir}/{split}-0000i-of-0000n.tfrecord` for each shard."""
    return [os.path.join(output_dir,
                         f"{split}-{i:05d}-of-{num_shards:05d}.tfrecord")
            for i in range(num_shards)]


def records_glob(output_dir, split):
    """The glob that matches every shard of `split` in `output_dir`."""
    return os.path.join(output_dir, f"{split}-*-of-*.tfrecord")


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
    """Sorted files matching a glob (or a comma-separated list of globs).

    Raises:
        FileNotFoundError: when nothing matches.
    """
    files = sorted({path for part in str(pattern).split(",") if part
                    for path in glob.glob(os.path.expanduser(part.strip()))})
    if not files:
        raise FileNotFoundError(f"No TFRecord files match {pattern!r}")
    return files


def read_records(pattern):
    """Yields the `DetectionRecord`s of every file matching `pattern`, in
    file order then record order."""
    import tensorflow as tf

    for path in list_record_files(pattern):
        try:
            for index, serialized in enumerate(tf.data.TFRecordDataset(path)):
                yield from_tf_example(serialized.numpy(),
                                      where=f"{path} record {index}")
        except tf.errors.DataLossError as error:
            raise ValueError(f"Corrupt TFRecord file {path}: "
                             f"{error.message}") from None
