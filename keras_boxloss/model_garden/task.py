"""The task: Model Garden's `MaskRCNNTask` with the library's box losses.

Only the two box terms change (`box_terms.py`); the RPN score and Fast R-CNN
class terms are Model Garden's, and so is everything else (inputs, train and
validation steps, metrics, checkpoints).
"""

import tensorflow as tf
from official.core import task_factory
from official.vision.losses import maskrcnn_losses
from official.vision.tasks import maskrcnn

from keras_boxloss.model_garden import box_terms, configs
from keras_boxloss.model_garden.model import ROIS_KEY, with_sampled_rois


@task_factory.register_task_cls(configs.BoxLossMaskRCNNTask)
class BoxLossMaskRCNNTask(maskrcnn.MaskRCNNTask):
    """`MaskRCNNTask` whose box losses are `task.rpn_box_loss` and
    `task.frcnn_box_loss`."""

    def __init__(self, params, logging_dir=None, name=None):
        configs.check_box_loss_configs(params)
        super().__init__(params, logging_dir=logging_dir, name=name)
        losses = params.losses
        self.rpn_box_loss = configs.build_box_loss(
            params.rpn_box_loss, losses.rpn_huber_loss_delta)
        self.frcnn_box_loss = configs.build_box_loss(
            params.frcnn_box_loss, losses.frcnn_huber_loss_delta)

    @property
    def needs_rois(self):
        return self.task_config.frcnn_box_loss.type in configs.ANCHORED_TYPES

    def build_model(self):
        model = super().build_model()
        if self.needs_rois:
            model = with_sampled_rois(model, self.task_config.model.input_size)
        return model

    def _build_rpn_losses(self, outputs, labels):
        score_loss_fn = maskrcnn_losses.RpnScoreLoss(
            tf.shape(outputs["box_outputs"])[1])
        score_loss = tf.reduce_mean(score_loss_fn(
            outputs["rpn_scores"], labels["rpn_score_targets"]))
        box_loss = box_terms.rpn_box_loss(
            self.rpn_box_loss, self.task_config.rpn_box_loss.normalizer,
            outputs["rpn_boxes"], labels["rpn_box_targets"],
            labels["anchor_boxes"])
        return score_loss, box_loss

    def _build_frcnn_losses(self, outputs, labels):
        losses = self.task_config.losses
        class_loss_fn = maskrcnn_losses.FastrcnnClassLoss(
            use_binary_cross_entropy=(
                losses.frcnn_class_use_binary_cross_entropy),
            top_k_percent=losses.frcnn_class_loss_top_k_percent)
        class_loss = tf.reduce_mean(class_loss_fn(
            outputs["class_outputs"], outputs["class_targets"],
            losses.class_weights))
        box_loss = box_terms.frcnn_box_loss(
            self.frcnn_box_loss, self.task_config.frcnn_box_loss.normalizer,
            outputs["box_outputs"], outputs["class_targets"],
            outputs["box_targets"], outputs.get(ROIS_KEY),
            self.task_config.model.detection_head.class_agnostic_bbox_pred)
        return class_loss, box_loss
