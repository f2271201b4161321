"""SavedModel export of a trained checkpoint, through Model Garden's exporter,
with what the TF Object Detection API's `exporter_main_v2.py` gives.

The loaded object is callable (`detect_fn = tf.saved_model.load(path);
detect_fn(input_tensor)`) and `serving_default` takes `input_tensor`:
`image_tensor` (uint8 `[B, H, W, 3]`, any size), `encoded_image_string_tensor`
(Model Garden's `image_bytes`: JPEG/PNG strings `[B]`, decoded to 3
channels) or `tf_example` (serialized `tf.train.Example` strings with
`image/encoded`). Outputs: `detection_boxes` `[B, N, 4]` normalised yxyx of
the *original* image (Model Garden returns pixels of its resized canvas),
`detection_scores`, `detection_classes` (label-map ids) and
`num_detections` (float32, as the OD API's), `detection_multiclass_scores`
`[B, N, C + 1]` and `raw_detection_scores` `[B, R, C + 1]` (column 0
background, the second stage's softmax), `raw_detection_boxes` `[B, R, 4]`
(per proposal, the box of its best class, decoded and normalised, before
NMS), plus Model Garden's `image_info`. The SavedModel needs only
TensorFlow to run.
"""

import os

import tensorflow as tf
from official.core import exp_factory
from official.modeling import hyperparams
from official.vision.modeling import maskrcnn_model
from official.vision.ops import box_ops
from official.vision.serving import detection, export_saved_model_lib

from keras_boxloss.model_garden import registry_imports  # noqa: F401
from keras_boxloss.model_garden.decoder import decode_rgb
from keras_boxloss.training.export import check_output, write_atomically

SAVED_MODEL_SUBDIR = "saved_model"
CHECKPOINT_SUBDIR = "checkpoint"
ROIS_KEY = "serving_rois"
# the OD API's names -> Model Garden's (both accepted)
INPUT_TYPES = {"image_tensor": "image_tensor",
               "encoded_image_string_tensor": "image_bytes",
               "image_bytes": "image_bytes", "tf_example": "tf_example"}


class _RoIsServingModel(maskrcnn_model.MaskRCNNModel):
    """`MaskRCNNModel` whose inference outputs include the RoIs the second
    stage refined (`serving_rois`), to decode every proposal's boxes. Same
    layers and variables as the stock model."""

    def _run_frcnn_head(self, features, rois, gt_boxes, gt_classes, training,
                        model_outputs, cascade_num, regression_weights,
                        gt_outer_boxes=None):
        results = super()._run_frcnn_head(
            features, rois, gt_boxes, gt_classes, training, model_outputs,
            cascade_num, regression_weights, gt_outer_boxes)
        if not training:
            results[2][ROIS_KEY] = results[-1]  # the last stage's wins
        return results


def _source_rows(boxes, classes, scores, per_class_boxes, rows,
                 num_detections):
    """`rows[b, r]` of the proposal each detection came from, zeros for the
    padding. Model Garden's NMS returns no indices, but each kept box and
    score is a copy of one proposal's (for its class): the proposal at
    distance 0 is the source."""
    classes = tf.cast(classes, tf.int32)
    class_boxes = tf.gather(tf.transpose(per_class_boxes, [0, 2, 1, 3]),
                            classes, batch_dims=1)             # B, K, R, 4
    class_scores = tf.gather(tf.transpose(rows, [0, 2, 1]), classes,
                             batch_dims=1)                     # B, K, R
    distance = tf.reduce_sum(tf.abs(class_boxes - boxes[:, :, None]), -1)
    distance += tf.abs(class_scores - scores[..., None])
    found = tf.gather(rows, tf.argmin(distance, -1), batch_dims=1)
    valid = tf.sequence_mask(tf.cast(num_detections, tf.int32),
                             tf.shape(found)[1])
    return tf.where(valid[..., None], found, tf.zeros_like(found))


class NormalizedDetectionModule(detection.DetectionModule):
    """Model Garden's `DetectionModule` with the TF OD API's inputs, outputs,
    dtypes and callable root."""

    def _build_model(self):
        model = super()._build_model()
        return _RoIsServingModel.from_config(model.get_config())

    def _decode_image(self, encoded_image_bytes):
        return decode_rgb(encoded_image_bytes)  # a GIF's first frame too

    def _normalize(self, boxes, image_info):
        return self._normalize_coordinates({"b": boxes}, ["b"],
                                           image_info)["b"]

    def serve(self, images):
        count = tf.shape(images)[0]
        # an empty batch runs one blank image and keeps none of its rows,
        # so every output comes back with batch size 0 and its other dims
        blank = tf.zeros([1, *self._input_image_size, 3], images.dtype)
        images = tf.cond(count > 0, lambda: images, lambda: blank)
        images, anchor_boxes, image_info = self.preprocess(images)
        out = self.model.call(images=images, image_shape=image_info[:, 1, :],
                              anchor_boxes=anchor_boxes, training=False)
        generator = self.model.detection_generator.get_config()
        logits = tf.cast(out["cls_outputs"], tf.float32)
        rows = (tf.sigmoid(logits) if generator["use_sigmoid_probability"]
                else tf.nn.softmax(logits, -1))                # B, R, C + 1
        rois = tf.cast(out[ROIS_KEY], tf.float32)
        deltas = tf.cast(out["box_outputs"], tf.float32)
        deltas = tf.reshape(deltas, [tf.shape(deltas)[0], tf.shape(deltas)[1],
                                     -1, 4])                   # 1 or C + 1
        per_class = box_ops.clip_boxes(
            box_ops.decode_boxes(
                deltas, rois[:, :, None],
                weights=self.model._cascade_layer_to_weights[-1]),
            image_info[:, 1, None, None, :])
        per_class = tf.broadcast_to(
            per_class, tf.concat([tf.shape(rows), [4]], 0))
        best = tf.argmax(rows[..., 1:], -1, output_type=tf.int32) + 1
        detections = {
            "detection_boxes": self._normalize(out["detection_boxes"],
                                               image_info),
            "detection_scores": out["detection_scores"],
            "detection_classes": tf.cast(out["detection_classes"],
                                         tf.float32),
            "num_detections": tf.cast(out["num_detections"], tf.float32),
            "detection_multiclass_scores": _source_rows(
                out["detection_boxes"], out["detection_classes"],
                out["detection_scores"], per_class, rows,
                out["num_detections"]),
            "raw_detection_boxes": self._normalize(
                tf.gather(per_class, best, batch_dims=2), image_info),
            "raw_detection_scores": rows,
            "image_info": image_info,
        }
        return {key: value[:count] for key, value in detections.items()}

    def get_inference_signatures(self, function_keys):
        """`serving_default` and the module's own `__call__`, taking
        `input_tensor` (the OD API's name)."""
        (input_type, name), = function_keys.items()
        if input_type == "image_tensor":
            # the channel count is checked in the graph, with a clear message
            spec = tf.TensorSpec([self._batch_size, None, None, None],
                                 tf.uint8, name="input_tensor")

            def call(input_tensor):
                channels = tf.shape(input_tensor)[3]
                check = tf.debugging.Assert(tf.equal(channels, 3), [
                    "Expected input_tensor with 3 channels (uint8 RGB, "
                    "shape [batch, height, width, 3]). Received: "
                    "input_tensor with channels=", channels])
                with tf.control_dependencies([check]):
                    images = tf.ensure_shape(input_tensor,
                                             [None, None, None, 3])
                return self.serve(images)
        else:
            spec = tf.TensorSpec([self._batch_size], tf.string,
                                 name="input_tensor")
            decode = (self._decode_image if input_type == "image_bytes"
                      else self._decode_tf_example)

            def call(input_tensor):
                # Model Garden's map_fn cannot stack an empty batch, so an
                # empty one skips decoding. As in Model Garden and the OD
                # API, the images of one batch must share their size.
                with tf.device("cpu:0"):
                    images = tf.cond(
                        tf.size(input_tensor) > 0,
                        lambda: tf.map_fn(
                            decode, input_tensor,
                            fn_output_signature=tf.TensorSpec(
                                [None, None, 3], tf.uint8)),
                        lambda: tf.zeros([0, *self._input_image_size, 3],
                                         tf.uint8))
                return self.serve(images)

        self.__call__ = tf.function(call, input_signature=[spec])
        return {name: self.__call__.get_concrete_function()}


def load_params(experiment, config_files=(), params_override=""):
    """An experiment config with YAML files and a `--params_override`
    applied strictly (a misspelt key is a KeyError), validated and locked."""
    params = exp_factory.get_exp_config(experiment)
    for config_file in config_files or ():
        params = hyperparams.override_params_dict(params, config_file,
                                                  is_strict=True)
    if params_override:
        params = hyperparams.override_params_dict(params, params_override,
                                                  is_strict=True)
    params.validate()
    params.lock()
    return params


def export(params, checkpoint_path, export_dir, batch_size=None,
           input_image_size=None, input_type: str = "image_tensor",
           overwrite: bool = False) -> str:
    """Exports `checkpoint_path` (a file or a model_dir) to
    `export_dir/saved_model` and returns that path. `input_image_size`
    defaults to the model's input size. `export_dir` is written whole or
    not at all; a non-empty one is refused unless `overwrite`."""
    if not checkpoint_path:
        raise ValueError("Expected a checkpoint file or folder. "
                         f"Received: checkpoint_path={checkpoint_path!r}")
    if input_type not in INPUT_TYPES:
        raise ValueError(f"Expected input_type in {tuple(INPUT_TYPES)}. "
                         f"Received: input_type={input_type!r}")
    check_output(export_dir, overwrite)
    input_type = INPUT_TYPES[input_type]
    size = list(input_image_size or params.task.model.input_size[:2])

    def write(folder):
        module = NormalizedDetectionModule(
            params=params, batch_size=batch_size, input_image_size=size,
            input_type=input_type, num_channels=3)
        export_saved_model_lib.export_inference_graph(
            input_type=input_type, batch_size=batch_size,
            input_image_size=size, params=params,
            checkpoint_path=checkpoint_path, export_dir=str(folder),
            export_module=module, export_checkpoint_subdir=CHECKPOINT_SUBDIR,
            export_saved_model_subdir=SAVED_MODEL_SUBDIR)

    write_atomically(export_dir, write, overwrite)
    return os.path.join(export_dir, SAVED_MODEL_SUBDIR)
