"""Exports the TF Object Detection API's inference code can use unchanged.

`export_saved_model` writes what `exporter_main_v2.py` writes: a SavedModel
whose root object is callable (`detect_fn = tf.saved_model.load(path);
detect_fn(input_tensor)`, as the OD API's TF2 tutorials do) and whose
`serving_default` signature takes `input_tensor`, one of
`INPUT_TYPES`:

- `image_tensor`: uint8 `[B, H, W, C]`, any size (C must be 3);
- `encoded_image_string_tensor`: JPEG/PNG/GIF/BMP strings `[B]`, decoded to
  3 channels (grey and RGBA images too);
- `tf_example`: serialized `tf.train.Example` strings `[B]` with
  `image/encoded`;
- `float_image_tensor`: float32 `[B, H, W, 3]`, pixel values 0-255.

Outputs (float32, as the OD API casts them): `detection_boxes` `[B, N, 4]`
(normalised ymin, xmin, ymax, xmax of the input image), `detection_scores`,
`detection_classes` (label-map ids, 1-based), `num_detections` `[B]`,
`detection_multiclass_scores` `[B, N, C + 1]` (column 0 background),
`detection_anchor_indices` `[B, N]` (the anchor or grid box each
detection came from, as an index into the raw outputs' `A`),
`raw_detection_boxes` `[B, A, 4]` and `raw_detection_scores`
`[B, A, C + 1]` (every anchor or grid box, decoded, before NMS). The model
stretches images to its square input (`resize_mode: fixed`), so boxes
normalised on its canvas are normalised on the input image too.

`export_tflite` writes the SSD as a TFLite flat buffer with the four main
outputs. Loading either needs TensorFlow only.
"""

import shutil
import tempfile
from pathlib import Path

from keras_boxloss.data.output_folder import move_into_place

INPUT_TYPES = ("image_tensor", "encoded_image_string_tensor", "tf_example",
               "float_image_tensor")
MAIN_OUTPUTS = ("detection_boxes", "detection_scores", "detection_classes",
                "num_detections")


def check_output(output, overwrite: bool = False) -> Path:
    """`output` as a Path; a ValueError if it exists, is not empty and
    `overwrite` is false (checked before any work, and again on writing)."""
    output = Path(output)
    if output.is_file() or (output.is_dir() and any(output.iterdir())):
        if not overwrite:
            raise ValueError(
                f"Expected an empty or new output (pass --overwrite to "
                f"replace it). Received: output={str(output)!r}, which "
                "exists and is not empty")
    return output


def write_atomically(output, write, overwrite: bool = False) -> str:
    """Calls `write(tmp)` on a temporary path beside `output`, then renames
    it into place, so a failure leaves `output` as it was. A non-empty
    existing `output` is refused unless `overwrite` (then replaced whole)."""
    output = check_output(output, overwrite)
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.tmp-",
                                    dir=output.parent))
    try:
        written = staging / output.name
        write(written)
        move_into_place(written, output, staging / "old")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return str(output)


def _check_config(config):
    if config.data.resize_mode != "fixed":
        raise ValueError("Expected data.resize_mode='fixed' for export (the "
                         "serving signature stretches images). Received: "
                         f"resize_mode={config.data.resize_mode!r}")


def _scores_with_background(model, scores):
    """`[B, A, C]` class scores -> `[B, A, C + 1]`, column 0 background, as
    the OD API's multiclass and raw scores are. A softmax SSD's background
    is its own softmax output (1 - the class scores' sum); the sigmoid SSD
    and YOLOv1 have no background output, so theirs is 1 - the highest
    class score."""
    import tensorflow as tf

    multibox = getattr(model, "multibox", None)
    if getattr(multibox, "classification", None) == "softmax":
        background = 1.0 - tf.reduce_sum(scores, -1, keepdims=True)
    else:
        background = 1.0 - tf.reduce_max(scores, -1, keepdims=True)
    return tf.concat([tf.clip_by_value(background, 0.0, 1.0), scores], -1)


def _source_anchors(detections, boxes, scores):
    """`(indices [B, K] int32, valid [B, K])`: the anchor each detection
    came from, 0 for the padding. `combined_non_max_suppression` returns no
    indices, but every kept box and score is a copy of one decoded
    anchor's (the boxes are already inside [0, 1], so its clipping changes
    nothing): the anchor at distance 0 is the source."""
    import tensorflow as tf

    classes = tf.cast(detections["detection_classes"], tf.int32) - 1
    class_scores = tf.gather(tf.transpose(scores, [0, 2, 1]), classes,
                             batch_dims=1)                      # B, K, A
    distance = tf.reduce_sum(tf.abs(
        detections["detection_boxes"][:, :, None] - boxes[:, None]), -1)
    kept = detections["detection_scores"][..., None]
    distance += tf.abs(class_scores - kept)
    valid = tf.sequence_mask(tf.cast(detections["num_detections"], tf.int32),
                             tf.shape(distance)[1])
    found = tf.argmin(distance, -1, output_type=tf.int32)
    return tf.where(valid, found, tf.zeros_like(found)), valid


def _image_tensor_to_images(input_tensor, size):
    import tensorflow as tf

    shape = tf.shape(input_tensor)
    checks = [
        tf.debugging.Assert(tf.equal(shape[3], 3), [
            "Expected input_tensor with 3 channels (RGB, shape "
            "[batch, height, width, 3]). Received: input_tensor with "
            "channels=", shape[3]]),
        tf.debugging.Assert(tf.reduce_all(shape[1:3] > 0), [
            "Expected input_tensor with height and width > 0. Received: "
            "input_tensor of shape", shape])]
    with tf.control_dependencies(checks):
        # ResizeBilinear reads uint8 directly: no float copy of a large input
        return tf.image.resize(input_tensor, (size, size))


def _encoded_to_images(encoded, size):
    import tensorflow as tf

    def decode(one):
        # channels=3 turns grey and RGBA images into RGB, as the OD API does
        image = tf.io.decode_image(one, channels=3, expand_animations=False)
        image.set_shape([None, None, 3])
        return tf.image.resize(image, (size, size))

    return tf.map_fn(decode, encoded, fn_output_signature=tf.TensorSpec(
        (size, size, 3), tf.float32))


def _examples_to_images(serialized, size):
    import tensorflow as tf

    features = tf.io.parse_example(serialized, {
        "image/encoded": tf.io.FixedLenFeature([], tf.string)})
    return _encoded_to_images(features["image/encoded"], size)


def _input_spec(input_type, batch_size=None, size=None):
    import tensorflow as tf

    if input_type in ("image_tensor", "float_image_tensor"):
        # the channel count is checked in the graph, with a clear message
        dtype = tf.uint8 if input_type == "image_tensor" else tf.float32
        return tf.TensorSpec([batch_size, size, size, None], dtype,
                             name="input_tensor")
    return tf.TensorSpec([batch_size], tf.string, name="input_tensor")


def check_input_type(input_type: str) -> None:
    if input_type not in INPUT_TYPES:
        raise ValueError(f"Expected input_type in {INPUT_TYPES}. "
                         f"Received: input_type={input_type!r}")


def detection_module(model, config, input_type: str = "image_tensor",
                     outputs=None, input_spec=None, **nms_kwargs):
    """A `tf.Module` whose `__call__` (a `tf.function` with one input,
    `input_tensor`) returns the OD API's detection dict; `outputs` limits
    the keys (default: all eight)."""
    import tensorflow as tf

    from keras_boxloss.training.predict import non_max_suppression

    check_input_type(input_type)
    size = config.model.image_size
    to_images = {"image_tensor": _image_tensor_to_images,
                 "float_image_tensor": _image_tensor_to_images,
                 "encoded_image_string_tensor": _encoded_to_images,
                 "tf_example": _examples_to_images}[input_type]

    def run(images):
        boxes, scores = model.decode(model(images, training=False))
        detections = non_max_suppression(boxes, scores, **nms_kwargs)
        with_background = _scores_with_background(model, scores)
        anchors, valid = _source_anchors(detections, boxes, scores)
        rows = tf.gather(with_background, anchors, batch_dims=1)
        detections["detection_multiclass_scores"] = tf.where(
            valid[..., None], rows, tf.zeros_like(rows))
        # float32, as the OD API casts every output
        detections["detection_anchor_indices"] = tf.cast(anchors, tf.float32)
        detections["raw_detection_boxes"] = boxes
        detections["raw_detection_scores"] = with_background
        return {key: detections[key] for key in outputs or detections}

    def call(input_tensor):
        images = to_images(input_tensor, size)
        count = tf.shape(images)[0]
        # an empty batch runs one blank image and keeps none of its rows,
        # so every output comes back with batch size 0 and its other dims
        images = tf.cond(count > 0, lambda: images,
                         lambda: tf.zeros([1, size, size, 3]))
        return {key: value[:count] for key, value in run(images).items()}

    module = tf.Module()
    module.model = model
    module.__call__ = tf.function(call, input_signature=[
        input_spec or _input_spec(input_type)])
    return module


def export_saved_model(model, config, output, input_type: str =
                       "image_tensor", overwrite: bool = False,
                       **nms_kwargs) -> str:
    """Writes the SavedModel to `output` (atomically) and returns its path.
    `nms_kwargs` go to `keras_boxloss.training.predict.non_max_suppression`.
    """
    import tensorflow as tf

    _check_config(config)
    check_output(output, overwrite)
    module = detection_module(model, config, input_type, **nms_kwargs)
    signature = module.__call__.get_concrete_function()

    def write(path):
        tf.saved_model.save(module, str(path),
                            signatures={"serving_default": signature})

    return write_atomically(output, write, overwrite)


def _builtin_nms(boxes, scores, max_detections=100, max_per_class=100,
                 iou_threshold=0.6, score_threshold=0.01):
    """`non_max_suppression` for one image out of TFLite builtins
    (`CombinedNonMaxSuppression` is not one, and the `tensorflow` package's
    interpreter has no Flex delegate): per-class NMS V5, then the best
    `max_detections` over all classes. Classes are 0-based, as the OD API's
    TFLite models have them."""
    import tensorflow as tf

    kept_scores, kept_boxes, kept_classes = [], [], []
    for c in range(scores.shape[-1]):
        index, score, valid = tf.raw_ops.NonMaxSuppressionV5(
            boxes=boxes[0], scores=scores[0, :, c],
            max_output_size=max_per_class, iou_threshold=iou_threshold,
            score_threshold=score_threshold, soft_nms_sigma=0.0,
            pad_to_max_output_size=True)
        real = tf.range(max_per_class) < valid
        kept_scores.append(tf.where(real, score, -1.0))
        kept_boxes.append(tf.gather(boxes[0], index))
        kept_classes.append(tf.fill([max_per_class], float(c)))
    scores = tf.concat(kept_scores, 0)
    k = min(max_detections, scores.shape[0])
    top, order = tf.math.top_k(scores, k)
    real = top > -1.0
    pad = [[0, max_detections - k]]

    def padded(values, rows):
        kept = tf.where(rows, values, tf.zeros_like(values))
        return tf.pad(kept, pad + [[0, 0]] * (len(values.shape) - 1))[None]

    return {
        "detection_boxes": padded(tf.gather(tf.concat(kept_boxes, 0), order),
                                  real[:, None]),
        "detection_scores": padded(top, real),
        "detection_classes": padded(tf.gather(tf.concat(kept_classes, 0),
                                              order), real),
        "num_detections": tf.reduce_sum(tf.cast(real, tf.float32))[None],
    }


# The OD API's TFLite detectors end in TFLite_Detection_PostProcess, whose
# four outputs come in this order under these tensor names; inference code
# reads them by position (`get_output_details()[0]` is the boxes).
TFLITE_OUTPUT_ORDER = ("detection_boxes", "detection_classes",
                       "detection_scores", "num_detections")
TFLITE_OUTPUT_NAMES = ("TFLite_Detection_PostProcess",
                       "TFLite_Detection_PostProcess:1",
                       "TFLite_Detection_PostProcess:2",
                       "TFLite_Detection_PostProcess:3")


def _odapi_output_order(flatbuffer: bytes) -> bytes:
    """The converted model with its outputs in the OD API's positions and
    names. The converter orders a signature's outputs as its graph happens
    to (num_detections came first), so the subgraph's output list is
    rewritten; the signature maps names to tensors, so it is unchanged."""
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(
        bytearray(flatbuffer))
    graph = model.subgraphs[0]
    tensor_of = {output.name.decode(): output.tensorIndex
                 for output in model.signatureDefs[0].outputs}
    graph.outputs = [tensor_of[key] for key in TFLITE_OUTPUT_ORDER]
    for key, name in zip(TFLITE_OUTPUT_ORDER, TFLITE_OUTPUT_NAMES):
        graph.tensors[tensor_of[key]].name = name.encode()
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def export_tflite(model, config, output, overwrite: bool = False,
                  **nms_kwargs) -> str:
    """Writes a TFLite model to `output` (atomically), TFLite builtins only:
    input `input_tensor` uint8 `[1, S, S, 3]` at the model's size (resize
    before), outputs the four main ones in the OD API's TFLite positions
    and names (`TFLITE_OUTPUT_ORDER`, `TFLITE_OUTPUT_NAMES`; the signature
    runner names them as the SavedModel does), `detection_classes` 0-based
    as in the OD API's TFLite models (the SavedModel's minus 1)."""
    import tensorflow as tf

    _check_config(config)
    check_output(output, overwrite)
    size = config.model.image_size

    def call(input_tensor):
        images = tf.cast(input_tensor, tf.float32)
        boxes, scores = model.decode(model(images, training=False))
        return _builtin_nms(boxes, scores, **nms_kwargs)

    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2)

    spec = tf.TensorSpec([1, size, size, 3], tf.uint8, name="input_tensor")
    traced = tf.function(call).get_concrete_function(spec)
    # The converter leaves Keras 3's variables as uninitialised TFLite
    # variables (NaN outputs); frozen into constants they convert.
    frozen = convert_variables_to_constants_v2(traced)
    module = tf.Module()
    module.__call__ = tf.function(
        lambda input_tensor: tf.nest.pack_sequence_as(
            traced.structured_outputs, frozen(input_tensor)),
        input_signature=[spec])
    signature = module.__call__.get_concrete_function()

    def write(path):
        with tempfile.TemporaryDirectory(dir=Path(path).parent) as saved:
            tf.saved_model.save(module, saved,
                                signatures={"serving_default": signature})
            converter = tf.lite.TFLiteConverter.from_saved_model(saved)
            Path(path).write_bytes(_odapi_output_order(converter.convert()))

    return write_atomically(output, write, overwrite)
