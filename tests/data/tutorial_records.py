"""Records written the way the TF2 Object Detection API tutorial's
`generate_tfrecord.py` writes them (our own code, after its layout): file
name as source_id and filename, `b'jpg'` format, JPEG bytes, normalised
boxes, class text and label from the user's label map; no is_crowd, area
or difficult. Images are the generated shapes, JPEG-encoded."""

import io

import numpy as np

from keras_boxloss.data.generated import generate_image

# Non-contiguous ids, as users' maps often are after deleting a class.
LABEL_MAP = {2: "rectangle", 5: "ellipse", 9: "triangle"}
SHAPE_NAMES = {1: "rectangle", 2: "ellipse", 3: "triangle"}  # generated ids
LABEL_MAP_TEXT = """# exported from our labelling tool
item {
  id: 2
  name: 'rectangle'
  display_name: 'Rectangle (box)'  # shown in tables
}
item { name: "ellipse" id: 5 }  # one line, name first
item {
  display_name: "Triangle"
  id: 9  # was id: 3
  name: "triangle"
}
"""


def tutorial_example(pixels, boxes_px, names, filename, replace=None):
    """A `tf.train.Example` as the tutorial script builds it; `replace`
    swaps (or with None, drops) features, e.g. `{"image/format": None}`."""
    import tensorflow as tf
    from PIL import Image

    height, width = pixels.shape[:2]
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=95)
    ids = {name: i for i, name in LABEL_MAP.items()}
    x1, y1, x2, y2 = np.asarray(boxes_px, np.float64).reshape(-1, 4).T

    def b(values):
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=values))

    def f(values):
        return tf.train.Feature(float_list=tf.train.FloatList(value=values))

    def i(values):
        return tf.train.Feature(int64_list=tf.train.Int64List(value=values))

    feature = {
        "image/height": i([height]), "image/width": i([width]),
        "image/filename": b([filename.encode()]),
        "image/source_id": b([filename.encode()]),
        "image/encoded": b([buffer.getvalue()]),
        "image/format": b([b"jpg"]),
        "image/object/bbox/xmin": f(x1 / width),
        "image/object/bbox/xmax": f(x2 / width),
        "image/object/bbox/ymin": f(y1 / height),
        "image/object/bbox/ymax": f(y2 / height),
        "image/object/class/text": b([n.encode() for n in names]),
        "image/object/class/label": i([ids[n] for n in names]),
    }
    for key, value in (replace or {}).items():
        if value is None:
            feature.pop(key)
        else:
            feature[key] = value
    return tf.train.Example(features=tf.train.Features(feature=feature))


def write_tutorial_records(path, count, seed=0, image_size=96, start=0):
    """`count` generated images as tutorial records in one file `path`
    (`images/img_{n}.jpg` names); returns the list of
    `(filename, pixel xyxy boxes, names)`."""
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    written = []
    with tf.io.TFRecordWriter(str(path)) as writer:
        for n in range(start, start + count):
            pixels, boxes, classes = generate_image(rng, image_size)
            names = [SHAPE_NAMES[int(c)] for c in classes]
            filename = f"img_{n:03d}.jpg"
            writer.write(tutorial_example(pixels, boxes, names, filename)
                         .SerializeToString())
            written.append((filename, boxes, names))
    return written
