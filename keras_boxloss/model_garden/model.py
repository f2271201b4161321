"""A Faster R-CNN model that also outputs the sampled RoIs when training.

Model Garden's second-stage box targets are deltas against the RoIs sampled
inside the model, which it does not output. DIoU and CIoU are not invariant
under the box coder's map, so they need those RoIs: this subclass adds them
to the training outputs as `sampled_rois` (`[B, R, 4]`, yxyx pixels of the
model input). Its variables are the stock model's, so checkpoints and
Model Garden's export are unchanged.
"""

import tf_keras
from official.vision.modeling import maskrcnn_model

ROIS_KEY = "sampled_rois"


class SampledRoIsMaskRCNNModel(maskrcnn_model.MaskRCNNModel):
    """`MaskRCNNModel` whose training outputs include `sampled_rois`."""

    def _run_frcnn_head(self, features, rois, gt_boxes, gt_classes, training,
                        model_outputs, cascade_num, regression_weights,
                        gt_outer_boxes=None):
        results = super()._run_frcnn_head(
            features, rois, gt_boxes, gt_classes, training, model_outputs,
            cascade_num, regression_weights, gt_outer_boxes)
        if training and gt_boxes is not None:
            key = f"{ROIS_KEY}_{cascade_num}" if cascade_num else ROIS_KEY
            results[2][key] = results[-1]  # model_outputs, the sampled rois
        return results


def with_sampled_rois(model, input_size):
    """The same layers (and variables) as a built `MaskRCNNModel`, as a
    `SampledRoIsMaskRCNNModel`, built by the same warm-up call."""
    model = SampledRoIsMaskRCNNModel.from_config(model.get_config())
    model(tf_keras.Input(input_size), image_shape=tf_keras.layers.Input([2]),
          training=False)
    return model
