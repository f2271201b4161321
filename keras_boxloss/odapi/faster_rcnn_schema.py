"""The field names of `model.faster_rcnn` (faster_rcnn.proto and the
messages only it uses), added to `schema.MESSAGES` in its format, and the
proto defaults the mapping relies on.

Messages shared with the SSD (ImageResizer, Hyperparams, AnchorGenerator,
PostProcessing, ClassificationLoss, ...) are `schema.py`'s. Importing this
module registers the types; `faster_rcnn.py` imports it.
"""

from keras_boxloss.odapi.schema import ANY, MESSAGES


def _scalars(*names: str) -> dict:
    return {name: None for name in names}


FASTER_RCNN_MESSAGES = {
    "FasterRcnn": {
        **_scalars(
            "number_of_stages", "first_stage_only", "num_classes",
            "first_stage_atrous_rate",
            "first_stage_box_predictor_kernel_size",
            "first_stage_box_predictor_depth", "first_stage_minibatch_size",
            "first_stage_positive_balance_fraction",
            "first_stage_nms_score_threshold",
            "first_stage_nms_iou_threshold", "first_stage_max_proposals",
            "first_stage_localization_loss_weight",
            "first_stage_objectness_loss_weight", "initial_crop_size",
            "maxpool_kernel_size", "maxpool_stride",
            "second_stage_batch_size", "second_stage_balance_fraction",
            "second_stage_localization_loss_weight",
            "second_stage_classification_loss_weight",
            "second_stage_mask_prediction_loss_weight",
            "inplace_batchnorm_update", "use_matmul_crop_and_resize",
            "clip_anchors_to_image", "use_matmul_gather_in_matcher",
            "use_static_balanced_label_sampler", "use_static_shapes",
            "resize_masks", "use_static_shapes_for_eval",
            "use_partitioned_nms_in_first_stage",
            "return_raw_detections_during_predict",
            "output_final_box_features", "output_final_box_rpn_features"),
        "image_resizer": "ImageResizer",
        "feature_extractor": "FasterRcnnFeatureExtractor",
        "first_stage_anchor_generator": "AnchorGenerator",
        "first_stage_box_predictor_conv_hyperparams": "Hyperparams",
        "second_stage_box_predictor": "FasterRcnnBoxPredictor",
        "second_stage_post_processing": "PostProcessing",
        "hard_example_miner": "HardExampleMiner",
        "second_stage_classification_loss": "ClassificationLoss",
        "context_config": ANY,
    },
    "FasterRcnnFeatureExtractor": {
        **_scalars("type", "first_stage_features_stride",
                   "batch_norm_trainable",
                   "override_base_feature_extractor_hyperparams",
                   "pad_to_multiple"),
        "conv_hyperparams": "Hyperparams", "fpn": "FeaturePyramidNetworks",
    },
    # BoxPredictor with mask_rcnn_box_predictor looked into (schema.py's
    # BoxPredictor leaves it unchecked: the SSD does not use it).
    "FasterRcnnBoxPredictor": {
        "mask_rcnn_box_predictor": "MaskRCNNBoxPredictor",
        "rfcn_box_predictor": ANY, "convolutional_box_predictor": ANY,
        "weight_shared_convolutional_box_predictor": ANY,
    },
    "MaskRCNNBoxPredictor": {
        **_scalars("use_dropout", "dropout_keep_probability",
                   "box_code_size", "predict_instance_masks",
                   "mask_prediction_conv_depth", "mask_height", "mask_width",
                   "mask_prediction_num_conv_layers",
                   "masks_are_class_agnostic", "share_box_across_classes",
                   "convolve_then_upsample_masks"),
        "fc_hyperparams": "Hyperparams", "conv_hyperparams": "Hyperparams",
    },
}
for _name, _fields in FASTER_RCNN_MESSAGES.items():
    MESSAGES.setdefault(_name, _fields)

# faster_rcnn.proto's defaults for fields the mapping sets even when the
# config leaves them out (the OD API then uses these values).
DEFAULTS = {
    "first_stage_box_predictor_depth": 512,
    "first_stage_minibatch_size": 256,
    "first_stage_positive_balance_fraction": 0.5,
    "first_stage_nms_score_threshold": 0.0,
    "first_stage_nms_iou_threshold": 0.7,
    "first_stage_max_proposals": 300,
    "first_stage_localization_loss_weight": 1.0,
    "first_stage_objectness_loss_weight": 1.0,
    "second_stage_batch_size": 64,
    "second_stage_balance_fraction": 0.25,
    "second_stage_localization_loss_weight": 1.0,
    "second_stage_classification_loss_weight": 1.0,
}
# post_processing.proto's BatchNonMaxSuppression defaults.
NMS_DEFAULTS = {"score_threshold": 0.0, "iou_threshold": 0.6,
                "max_detections_per_class": 100, "max_total_detections": 100}
# grid_anchor_generator.proto / multiscale_anchor_generator.proto defaults.
GRID_DEFAULTS = {"height": 256, "width": 256, "height_stride": 16,
                 "width_stride": 16, "height_offset": 0, "width_offset": 0}
MULTISCALE_DEFAULTS = {"min_level": 3, "max_level": 7, "anchor_scale": 4.0,
                       "scales_per_octave": 2}
