"""The field names of the TF OD API's protos (research/object_detection/
protos), for the messages a pipeline.config may hold, so that a misspelt
field is an error naming it and its line (as `text_format.Merge` would).

`MESSAGES[type] = {field: kind}`, kind being `None` (a scalar), the name of
another message type, or `ANY` (its contents are not checked: options we
report as not supported as a whole). Written from the protos' field lists,
not generated; fields added to the OD API later are unknown here, and the
error says so. odapi/faster_rcnn.py adds its own types to `MESSAGES`.
"""

from __future__ import annotations

from keras_boxloss.odapi.text_format import Message

ANY = "*"


def _scalars(*names: str) -> dict:
    return {name: None for name in names}


MESSAGES: dict[str, dict] = {
    "TrainEvalPipelineConfig": {
        "model": "DetectionModel", "train_config": "TrainConfig",
        "train_input_reader": "InputReader", "eval_config": "EvalConfig",
        "eval_input_reader": "InputReader", "graph_rewriter": ANY,
    },
    "DetectionModel": {
        "ssd": "Ssd", "faster_rcnn": "FasterRcnn",
        "experimental_model": ANY, "center_net": ANY,
    },
    "Ssd": {
        **_scalars("num_classes", "encode_background_as_zeros",
                   "negative_class_weight", "normalize_loss_by_num_matches",
                   "normalize_loc_loss_by_codesize", "freeze_batchnorm",
                   "inplace_batchnorm_update", "add_background_class",
                   "explicit_background_class", "use_confidences_as_targets",
                   "implicit_example_weight",
                   "return_raw_detections_during_predict"),
        "image_resizer": "ImageResizer",
        "feature_extractor": "SsdFeatureExtractor",
        "box_coder": "BoxCoder", "matcher": "Matcher",
        "similarity_calculator": "RegionSimilarityCalculator",
        "box_predictor": "BoxPredictor",
        "anchor_generator": "AnchorGenerator",
        "post_processing": "PostProcessing", "loss": "Loss",
        "mask_head_config": ANY,
    },
    "SsdFeatureExtractor": {
        **_scalars("type", "depth_multiplier", "min_depth",
                   "override_base_feature_extractor_hyperparams",
                   "pad_to_multiple", "use_explicit_padding", "use_depthwise",
                   "num_layers", "replace_preprocessor_with_placeholder",
                   "batch_norm_trainable"),
        "conv_hyperparams": "Hyperparams", "fpn": "FeaturePyramidNetworks",
        "bifpn": ANY,
    },
    "FeaturePyramidNetworks": _scalars("min_level", "max_level",
                                       "additional_layer_depth"),
    "ImageResizer": {
        "keep_aspect_ratio_resizer": "KeepAspectRatioResizer",
        "fixed_shape_resizer": "FixedShapeResizer",
        "identity_resizer": ANY, "conditional_shape_resizer": ANY,
        "pad_to_multiple_resizer": ANY,
    },
    "KeepAspectRatioResizer": _scalars(
        "min_dimension", "max_dimension", "resize_method",
        "pad_to_max_dimension", "convert_to_grayscale",
        "per_channel_pad_value"),
    "FixedShapeResizer": _scalars("height", "width", "resize_method",
                                  "convert_to_grayscale"),
    "BoxCoder": {
        "faster_rcnn_box_coder": "FasterRcnnBoxCoder",
        "mean_stddev_box_coder": ANY, "square_box_coder": ANY,
        "keypoint_box_coder": ANY,
    },
    "FasterRcnnBoxCoder": _scalars("y_scale", "x_scale", "height_scale",
                                   "width_scale"),
    "Matcher": {"argmax_matcher": "ArgMaxMatcher",
                "bipartite_matcher": ANY},
    "ArgMaxMatcher": _scalars(
        "matched_threshold", "unmatched_threshold", "ignore_thresholds",
        "negatives_lower_than_unmatched", "force_match_for_each_row",
        "use_matmul_gather"),
    "RegionSimilarityCalculator": {
        "iou_similarity": "Empty", "neg_sq_dist_similarity": ANY,
        "ioa_similarity": ANY, "thresholded_iou_similarity": ANY,
    },
    "Empty": {},
    "AnchorGenerator": {
        "ssd_anchor_generator": "SsdAnchorGenerator",
        "grid_anchor_generator": "GridAnchorGenerator",
        "multiscale_anchor_generator": "MultiscaleAnchorGenerator",
        "flexible_grid_anchor_generator": ANY,
    },
    "SsdAnchorGenerator": _scalars(
        "num_layers", "min_scale", "max_scale", "scales", "aspect_ratios",
        "interpolated_scale_aspect_ratio", "base_anchor_height",
        "base_anchor_width", "height_stride", "width_stride",
        "height_offset", "width_offset", "reduce_boxes_in_lowest_layer"),
    "GridAnchorGenerator": _scalars(
        "height", "width", "height_stride", "width_stride", "height_offset",
        "width_offset", "scales", "aspect_ratios"),
    "MultiscaleAnchorGenerator": _scalars(
        "min_level", "max_level", "anchor_scale", "aspect_ratios",
        "scales_per_octave", "normalize_coordinates"),
    "BoxPredictor": {
        "convolutional_box_predictor": "ConvolutionalBoxPredictor",
        "mask_rcnn_box_predictor": ANY, "rfcn_box_predictor": ANY,
        "weight_shared_convolutional_box_predictor":
            "WeightSharedConvolutionalBoxPredictor",
    },
    "ConvolutionalBoxPredictor": {
        **_scalars("min_depth", "max_depth", "num_layers_before_predictor",
                   "use_dropout", "dropout_keep_probability", "kernel_size",
                   "box_code_size", "apply_sigmoid_to_scores",
                   "class_prediction_bias_init", "use_depthwise",
                   "box_encodings_clip_range"),
        "conv_hyperparams": "Hyperparams",
    },
    "WeightSharedConvolutionalBoxPredictor": {
        **_scalars("num_layers_before_predictor", "depth", "kernel_size",
                   "box_code_size", "class_prediction_bias_init",
                   "use_dropout", "dropout_keep_probability",
                   "share_prediction_tower", "use_depthwise",
                   "score_converter", "apply_batch_norm"),
        "conv_hyperparams": "Hyperparams", "box_encodings_clip_range": ANY,
    },
    "Hyperparams": {
        **_scalars("op", "activation", "regularize_depthwise", "force_use_bias"),
        "regularizer": ANY, "initializer": ANY, "batch_norm": ANY,
        "group_norm": ANY, "sync_batch_norm": ANY,
    },
    "Loss": {
        **_scalars("classification_weight", "localization_weight",
                   "expected_loss_weights", "min_num_negative_samples",
                   "desired_negative_sampling_ratio"),
        "localization_loss": "LocalizationLoss",
        "classification_loss": "ClassificationLoss",
        "hard_example_miner": "HardExampleMiner",
        "random_example_sampler": ANY, "equalization_loss": ANY,
    },
    "LocalizationLoss": {
        "weighted_l2": ANY, "weighted_smooth_l1": "WeightedSmoothL1",
        "weighted_iou": "Empty", "l1_localization_loss": ANY,
        "weighted_giou": "Empty",
    },
    "WeightedSmoothL1": _scalars("anchorwise_output", "delta"),
    "ClassificationLoss": {
        "weighted_sigmoid": "WeightedSigmoid",
        "weighted_softmax": "WeightedSoftmax",
        "weighted_logits_softmax": ANY, "bootstrapped_sigmoid": ANY,
        "weighted_sigmoid_focal": "SigmoidFocal", "penalty_reduced_logistic_focal_loss": ANY,
        "weighted_dice_classification_loss": ANY,
    },
    "WeightedSigmoid": _scalars("anchorwise_output"),
    "WeightedSoftmax": _scalars("anchorwise_output", "logit_scale"),
    "SigmoidFocal": _scalars("anchorwise_output", "gamma", "alpha"),
    "HardExampleMiner": _scalars(
        "num_hard_examples", "iou_threshold", "loss_type",
        "max_negatives_per_positive", "min_negatives_per_image"),
    "PostProcessing": {
        **_scalars("score_converter", "logit_scale"),
        "batch_non_max_suppression": "BatchNonMaxSuppression",
        "calibration_config": ANY,
    },
    "BatchNonMaxSuppression": _scalars(
        "score_threshold", "iou_threshold", "max_detections_per_class",
        "max_total_detections", "use_static_shapes",
        "use_class_agnostic_nms", "max_classes_per_detection",
        "soft_nms_sigma", "combined_nms", "use_combined_nms",
        "change_coordinate_frame", "use_partitioned_nms",
        "use_hard_nms"),
    "TrainConfig": {
        **_scalars(
            "batch_size", "sync_replicas", "keep_checkpoint_every_n_hours",
            "gradient_clipping_by_norm", "fine_tune_checkpoint",
            "fine_tune_checkpoint_type", "fine_tune_checkpoint_version",
            "from_detection_checkpoint",
            "load_all_detection_checkpoint_vars", "num_steps",
            "startup_delay_steps", "bias_grad_multiplier",
            "update_trainable_variables", "freeze_variables",
            "replicas_to_aggregate", "batch_queue_capacity",
            "num_batch_queue_threads", "prefetch_queue_capacity",
            "merge_multiple_label_boxes", "use_multiclass_scores",
            "add_regularization_loss", "max_number_of_boxes",
            "unpad_groundtruth_tensors", "retain_original_images",
            "use_bfloat16", "summarize_gradients",
            "checkpoint_every_n", "num_steps_per_iteration"),
        "data_augmentation_options": "PreprocessingStep",
        "optimizer": "Optimizer",
    },
    "Optimizer": {
        **_scalars("use_moving_average", "moving_average_decay"),
        "rms_prop_optimizer": "RMSPropOptimizer",
        "momentum_optimizer": "MomentumOptimizer",
        "adam_optimizer": "AdamOptimizer",
    },
    "RMSPropOptimizer": {
        **_scalars("momentum_optimizer_value", "decay", "epsilon"),
        "learning_rate": "LearningRate",
    },
    "MomentumOptimizer": {
        **_scalars("momentum_optimizer_value"),
        "learning_rate": "LearningRate",
    },
    "AdamOptimizer": {**_scalars("epsilon"), "learning_rate": "LearningRate"},
    "LearningRate": {
        "constant_learning_rate": "ConstantLearningRate",
        "exponential_decay_learning_rate": "ExponentialDecayLearningRate",
        "manual_step_learning_rate": "ManualStepLearningRate",
        "cosine_decay_learning_rate": "CosineDecayLearningRate",
    },
    "ConstantLearningRate": _scalars("learning_rate"),
    "ExponentialDecayLearningRate": _scalars(
        "initial_learning_rate", "decay_steps", "decay_factor", "staircase",
        "burnin_learning_rate", "burnin_steps", "min_learning_rate"),
    "ManualStepLearningRate": {
        **_scalars("initial_learning_rate", "warmup"),
        "schedule": "LearningRateSchedule",
    },
    "LearningRateSchedule": _scalars("step", "learning_rate"),
    "CosineDecayLearningRate": _scalars(
        "learning_rate_base", "total_steps", "warmup_learning_rate",
        "warmup_steps", "hold_base_rate_steps"),
    "PreprocessingStep": {
        **{name: ANY for name in (
            "normalize_image", "random_pixel_value_scale",
            "random_image_scale", "random_rgb_to_gray",
            "random_adjust_brightness", "random_adjust_contrast",
            "random_adjust_hue", "random_adjust_saturation",
            "random_distort_color", "random_jitter_boxes",
            "random_crop_image", "random_pad_image",
            "random_absolute_pad_image", "random_crop_pad_image",
            "random_crop_to_aspect_ratio", "random_pad_to_aspect_ratio",
            "random_black_patches", "random_resize_method",
            "scale_boxes_to_pixel_coordinates", "resize_image",
            "subtract_channel_mean", "ssd_random_crop_pad",
            "ssd_random_crop_fixed_aspect_ratio",
            "ssd_random_crop_pad_fixed_aspect_ratio",
            "random_vertical_flip", "random_rotation90", "rgb_to_gray",
            "convert_class_logits_to_softmax", "random_self_concat_image",
            "autoaugment_image", "drop_label_probabilistically",
            "remap_labels", "random_jpeg_quality",
            "random_downscale_to_target_pixels", "random_patch_gaussian",
            "random_square_crop_by_scale",
            "random_scale_crop_and_pad_to_square", "adjust_gamma")},
        "random_horizontal_flip": "RandomHorizontalFlip",
        "ssd_random_crop": "SSDRandomCrop",
    },
    "RandomHorizontalFlip": {**_scalars("keypoint_flip_permutation",
                                        "probability")},
    "SSDRandomCrop": {"operations": ANY},
    "InputReader": {
        **_scalars(
            "name", "label_map_path", "shuffle", "shuffle_buffer_size",
            "filenames_shuffle_buffer_size", "num_epochs",
            "sample_1_of_n_examples", "num_readers", "num_parallel_batches",
            "num_prefetch_batches", "queue_capacity", "min_after_dequeue",
            "read_block_length", "prefetch_size", "num_parallel_map_calls",
            "num_additional_channels", "num_keypoints",
            "keypoint_type_weight", "max_number_of_boxes",
            "load_multiclass_scores", "load_context_features",
            "load_instance_masks", "mask_type", "load_dense_pose",
            "load_track_id", "use_display_name", "include_source_id",
            "input_type", "expand_labels_hierarchy",
            "frame_index", "num_parallel_reads"),
        "tf_record_input_reader": "TFRecordInputReader",
        "external_input_reader": ANY,
    },
    "TFRecordInputReader": _scalars("input_path"),
    "EvalConfig": _scalars(
        "batch_size", "num_visualizations", "num_examples",
        "eval_interval_secs", "max_evals", "save_graph",
        "visualization_export_dir", "eval_master", "metrics_set",
        "export_path", "ignore_groundtruth", "use_moving_averages",
        "eval_instance_masks", "min_score_threshold",
        "max_num_boxes_to_visualize", "skip_scores", "skip_labels",
        "visualize_groundtruth_boxes", "groundtruth_box_visualization_color",
        "keep_image_id_for_visualization_export", "retain_original_images",
        "include_metrics_per_category", "recall_lower_bound",
        "recall_upper_bound", "retain_original_image_additional_channels",
        "force_no_resize", "use_dummy_loss_in_eval", "keypoint_edge",
        "skip_predictions_for_unlabeled_class", "super_categories",
        "parameterized_metric"),
}


def check_names(message: Message, type_name: str = "TrainEvalPipelineConfig",
                path: str = "", source: str = "<string>") -> None:
    """Raises ValueError for a field name `type_name` does not have (or a
    value where a message belongs, and the reverse), naming field and
    line. Types not in MESSAGES (yet) and ANY are not looked into."""
    known = MESSAGES.get(type_name)
    if known is None:
        return
    for f in message.fields:
        where = f"{path}.{f.name}" if path else f.name
        if f.name not in known:
            raise ValueError(
                f"{source}:{f.line}: Expected a field of `{path or '<top>'}` "
                f"({type_name}) of the TF OD API: one of "
                f"{sorted(known)}. Received: unknown field `{f.name}`")
        kind = known[f.name]
        if kind is None:
            if isinstance(f.value, Message):
                raise ValueError(
                    f"{source}:{f.line}: Expected `{where}` to be a value. "
                    f"Received: a message {{ ... }}")
        elif kind != ANY:
            if not isinstance(f.value, Message):
                raise ValueError(
                    f"{source}:{f.line}: Expected `{where}` to be a message "
                    f"{{ ... }}. Received: {f.value!r}")
            check_names(f.value, kind, where, source)
