"""The task: Model Garden's `MaskRCNNTask` with the library's box losses.

Only the two box terms change (`box_terms.py`); the RPN score and Fast R-CNN
class terms are Model Garden's, and so is everything else (train and
validation steps, metrics, checkpoints). Inputs are Model Garden's too,
read with `decoder.py`'s decoders, which accept any `image/source_id`
(a file name, empty, missing); validation inputs are checked to give each
image its own id before Model Garden's COCO evaluator sees them.
"""

import tensorflow as tf
from official.common import dataset_fn as dataset_fn_lib
from official.core import task_factory
from official.vision.dataloaders import (input_reader, input_reader_factory,
                                         maskrcnn_input)
from official.vision.losses import maskrcnn_losses
from official.vision.tasks import maskrcnn

from keras_boxloss.model_garden import box_terms, configs, decoder
from keras_boxloss.model_garden.model import ROIS_KEY, with_sampled_rois


@task_factory.register_task_cls(configs.BoxLossMaskRCNNTask)
class BoxLossMaskRCNNTask(maskrcnn.MaskRCNNTask):
    """`MaskRCNNTask` whose box losses are `task.rpn_box_loss` and
    `task.frcnn_box_loss`."""

    def __init__(self, params, logging_dir=None, name=None):
        configs.check_box_loss_configs(params)
        super().__init__(params, logging_dir=logging_dir, name=name)
        losses = params.losses
        # MPDIoU's image: the input size, the pixels of anchors and RoIs.
        image_size = params.model.input_size[:2]
        self.rpn_box_loss = configs.build_box_loss(
            params.rpn_box_loss, losses.rpn_huber_loss_delta, image_size)
        self.frcnn_box_loss = configs.build_box_loss(
            params.frcnn_box_loss, losses.frcnn_huber_loss_delta, image_size)

    @property
    def needs_rois(self):
        # The built loss: an argument may decide it (Alpha-IoU's penalty).
        return self.frcnn_box_loss.requires_anchors

    def build_model(self):
        model = super().build_model()
        if self.needs_rois:
            model = with_sampled_rois(model, self.task_config.model.input_size)
        return model

    def build_inputs(self, params, input_context=None, dataset_fn=None):
        """`MaskRCNNTask.build_inputs` (tf-models-official 2.20) with
        `decoder.build_decoder`'s decoder; TFRecord files are first
        checked by `decoder.check_labels` (unless `label_map_decoder`
        reads the classes) and, for validation, by
        `decoder.check_unique_ids`."""
        include_mask = self.task_config.model.include_mask
        example_decoder = decoder.build_decoder(params, include_mask)
        files = None
        if not params.tfds_name and params.file_type == "tfrecord":
            files = decoder.input_files(params.input_path)
        if files:
            # label_map_decoder takes each class from class/text through
            # its own CSV map, not from class/label
            if params.decoder.type != "label_map_decoder":
                decoder.check_labels(files,
                                     self.task_config.model.num_classes,
                                     self.task_config.label_map)
            if not params.is_training:
                decoder.check_unique_ids(
                    files, params.decoder.get().regenerate_source_id)
        model = self.task_config.model
        parser = maskrcnn_input.Parser(
            output_size=model.input_size[:2],
            min_level=model.min_level,
            max_level=model.max_level,
            num_scales=model.anchor.num_scales,
            aspect_ratios=model.anchor.aspect_ratios,
            anchor_size=model.anchor.anchor_size,
            rpn_match_threshold=params.parser.rpn_match_threshold,
            rpn_unmatched_threshold=params.parser.rpn_unmatched_threshold,
            rpn_batch_size_per_im=params.parser.rpn_batch_size_per_im,
            rpn_fg_fraction=params.parser.rpn_fg_fraction,
            aug_rand_hflip=params.parser.aug_rand_hflip,
            aug_rand_vflip=params.parser.aug_rand_vflip,
            aug_scale_min=params.parser.aug_scale_min,
            aug_scale_max=params.parser.aug_scale_max,
            aug_type=params.parser.aug_type,
            skip_crowd_during_training=(
                params.parser.skip_crowd_during_training),
            max_num_instances=params.parser.max_num_instances,
            include_mask=include_mask,
            outer_boxes_scale=model.outer_boxes_scale,
            mask_crop_size=params.parser.mask_crop_size,
            dtype=params.dtype)
        if not dataset_fn:
            dataset_fn = dataset_fn_lib.pick_dataset_fn(params.file_type)
        reader = input_reader_factory.input_reader_generator(
            params, dataset_fn=dataset_fn,
            decoder_fn=example_decoder.decode,
            combine_fn=input_reader.create_combine_fn(params),
            parser_fn=parser.parse_fn(params.is_training))
        return reader.read(input_context=input_context)

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
