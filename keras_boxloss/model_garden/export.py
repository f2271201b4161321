"""SavedModel export of a trained checkpoint, through Model Garden's exporter.

`serving_default` takes uint8 images `[B, H, W, 3]` of any size and returns
the TF Object Detection API's outputs: `detection_boxes` `[B, N, 4]`
normalised yxyx of the *original* image (Model Garden returns pixels of its
resized canvas), `detection_scores`, `detection_classes` (label-map ids, as
float32 like the TF OD API), `num_detections` (float32), plus Model Garden's
`image_info`. The SavedModel needs only TensorFlow to run.
"""

import os

from official.core import exp_factory
from official.modeling import hyperparams
from official.vision.serving import detection, export_saved_model_lib

from keras_boxloss.model_garden import registry_imports  # noqa: F401

SAVED_MODEL_SUBDIR = "saved_model"
CHECKPOINT_SUBDIR = "checkpoint"


class NormalizedDetectionModule(detection.DetectionModule):
    """Model Garden's `DetectionModule` with boxes normalised to the
    original image and the TF OD API's dtypes."""

    def serve(self, images):
        import tensorflow as tf

        outputs = super().serve(images)
        outputs = self._normalize_coordinates(
            outputs, ["detection_boxes"], outputs["image_info"])
        for key in ("detection_classes", "num_detections"):
            outputs[key] = tf.cast(outputs[key], tf.float32)
        return outputs


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
           input_image_size=None, input_type="image_tensor"):
    """Exports `checkpoint_path` (a file or a model_dir) to
    `export_dir/saved_model` and returns that path. `input_image_size`
    defaults to the model's input size."""
    if not checkpoint_path:
        raise ValueError("Expected a checkpoint file or folder. "
                         f"Received: checkpoint_path={checkpoint_path!r}")
    size = list(input_image_size or params.task.model.input_size[:2])
    module = NormalizedDetectionModule(
        params=params, batch_size=batch_size, input_image_size=size,
        input_type=input_type, num_channels=3)
    export_saved_model_lib.export_inference_graph(
        input_type=input_type, batch_size=batch_size, input_image_size=size,
        params=params, checkpoint_path=checkpoint_path, export_dir=export_dir,
        export_module=module, export_checkpoint_subdir=CHECKPOINT_SUBDIR,
        export_saved_model_subdir=SAVED_MODEL_SUBDIR)
    return os.path.join(export_dir, SAVED_MODEL_SUBDIR)
