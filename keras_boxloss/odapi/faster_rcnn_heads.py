"""`model.faster_rcnn`'s second stage and its Hyperparams messages ->
Model Garden's RoI sampler, detection head, detection generator and loss
settings (see faster_rcnn.py)."""

from __future__ import annotations

from keras_boxloss.odapi import faster_rcnn_schema as schema
from keras_boxloss.odapi.accounting import APPROXIMATED, Section
from keras_boxloss.odapi.faster_rcnn_mapping import (GardenMapping, fail,
                                                     mark_or_default, number,
                                                     positive_int, put_field)

NO_EFFECT = ("no effect here: an implementation switch of the OD API's "
             "graph (TPU/static shapes), same results")


def hyperparams(conv: Section, out: GardenMapping, what: str) -> None:
    """Marks a Hyperparams message; its L2 weight goes to `out.l2`."""
    conv.honoured("op", f"{what}: Model Garden's layers of that kind")
    regularizer = conv.sub("regularizer")
    l2 = regularizer.sub("l2_regularizer")
    if l2:
        weight = number(l2, "weight", 0.0, low=0)
        out.l2.append((f"{l2.path}.weight", weight, l2))
    regularizer.not_supported("l1_regularizer", "Model Garden has L2 "
                              "weight decay only")
    conv.not_supported("initializer", f"Model Garden's own initializer "
                       f"for {what}")
    activation = str(conv.value("activation", "RELU"))
    if activation == "RELU":
        conv.honoured("activation", f"{what}: ReLU, as Model Garden's")
    else:
        conv.approximated("activation", f"{what}: Model Garden's "
                          f"activation (norm_activation), not {activation}")
    for name in ("batch_norm", "sync_batch_norm", "group_norm"):
        conv.approximated(name, f"{what}: Model Garden's normalisation "
                          f"(task.model.norm_activation)")
    conv.not_supported("regularize_depthwise", "no depthwise layers here")
    conv.not_supported("force_use_bias", "Model Garden's own bias choice")


def map_second_stage(frcnn: Section, out: GardenMapping) -> None:
    put_field(frcnn, "second_stage_batch_size", out,
              ("task.model.roi_sampler.num_sampled_rois",), (1, None),
              integer=True)
    put_field(frcnn, "second_stage_balance_fraction", out,
              ("task.model.roi_sampler.foreground_fraction",), (0, 1))
    put_field(frcnn, "second_stage_localization_loss_weight", out,
              ("task.losses.frcnn_box_weight",))
    put_field(frcnn, "second_stage_classification_loss_weight", out,
              ("task.losses.frcnn_class_weight",))
    _box_predictor(frcnn.sub("second_stage_box_predictor"), out)
    _post_processing(frcnn.sub("second_stage_post_processing"), out)
    _classification_loss(frcnn.sub("second_stage_classification_loss"),
                         out)
    frcnn.not_supported("hard_example_miner", "Model Garden samples "
                        "second_stage_batch_size RoIs per image (roi_sampler)"
                        " instead of mining hard examples")
    frcnn.honoured("second_stage_mask_prediction_loss_weight",
                   "no effect: the model predicts no masks")


def _box_predictor(predictor: Section, out: GardenMapping) -> None:
    kind, box = predictor.oneof()
    if kind is None:
        return
    if kind != "mask_rcnn_box_predictor":
        raise ValueError(
            f"{predictor.where()}: Expected `{predictor.path}` to be a "
            f"mask_rcnn_box_predictor (Faster R-CNN; Model Garden has no "
            f"R-FCN). Received: {kind}")
    if box.value("predict_instance_masks", False) is True:
        fail(box, "predict_instance_masks", "to be false (the box-loss "
             "experiment is Faster R-CNN, without masks)", True)
    box.honoured("predict_instance_masks", "no masks")
    for name in ("mask_prediction_conv_depth", "mask_height", "mask_width",
                 "mask_prediction_num_conv_layers", "masks_are_class_agnostic",
                 "convolve_then_upsample_masks", "conv_hyperparams"):
        box.honoured(name, "no effect: used only with masks")
    if box.value("use_dropout", False) is True:
        box.not_supported("use_dropout", "Model Garden's detection head "
                          "has no dropout")
        box.not_supported("dropout_keep_probability", "no dropout")
    else:
        box.honoured("use_dropout", "no dropout, as Model Garden's head")
        box.honoured("dropout_keep_probability", "no effect without "
                                                 "dropout")
    if box.value("box_code_size", 4) != 4:
        fail(box, "box_code_size", "to be 4", box.value("box_code_size"))
    box.honoured("box_code_size", "4 deltas per box")
    shared = box.value("share_box_across_classes", False)
    out.put("task.model.detection_head.class_agnostic_bbox_pred",
            bool(shared), f"{box.path}.share_box_across_classes")
    box.honoured("share_box_across_classes", "task.model.detection_head."
                 f"class_agnostic_bbox_pred: {str(bool(shared)).lower()}")
    hyperparams(box.sub("fc_hyperparams"), out, "the box classifier's fc "
                "layers")


def _post_processing(post: Section, out: GardenMapping) -> None:
    gen = "task.model.detection_generator"
    nms = post.sub("batch_non_max_suppression")
    d = schema.NMS_DEFAULTS
    score = number(nms, "score_threshold", d["score_threshold"], low=0,
                   high=1)
    iou = number(nms, "iou_threshold", d["iou_threshold"], low=0, high=1)
    per_class = positive_int(nms, "max_detections_per_class",
                             d["max_detections_per_class"])
    total = positive_int(nms, "max_total_detections",
                         d["max_total_detections"])
    for key, value, name in (
            (f"{gen}.pre_nms_score_threshold", score, "score_threshold"),
            (f"{gen}.nms_iou_threshold", iou, "iou_threshold"),
            (f"{gen}.max_num_detections", total, "max_total_detections")):
        where = (f"line {nms.line(name)}" if nms.has(name)
                 else "OD API default")
        out.put(key, value, f"{nms.path}.{name} ({where})")
        nms.honoured(name, f"{key}: {value}")
    if per_class < total:
        nms.approximated("max_detections_per_class", f"Model Garden keeps "
                         f"up to max_num_detections ({total}) per class")
    else:
        nms.honoured("max_detections_per_class", "no effect: at most "
                     f"max_total_detections ({total}) in all")
    sigma = number(nms, "soft_nms_sigma", 0.0, low=0)
    if sigma > 0:
        out.put(f"{gen}.nms_version", "v1", "soft NMS needs Model "
                "Garden's v1 NMS")
        out.put(f"{gen}.soft_nms_sigma", sigma, f"{nms.path}.soft_nms_sigma")
        nms.honoured("soft_nms_sigma", f"{gen}.soft_nms_sigma: {sigma}")
    else:
        nms.honoured("soft_nms_sigma", "hard NMS")
    combined = any(nms.value(n, False) is True
                   for n in ("combined_nms", "use_combined_nms"))
    if combined and sigma == 0:
        out.put(f"{gen}.nms_version", "batched", "combined NMS")
    for name in ("combined_nms", "use_combined_nms"):
        nms.honoured(name, f"{gen}.nms_version: batched" if combined
                     else "Model Garden's per-class NMS")
    if nms.value("use_class_agnostic_nms", False) is True:
        nms.not_supported("use_class_agnostic_nms", "Model Garden's NMS is "
                          "per class")
        nms.not_supported("max_classes_per_detection", "per-class NMS")
    else:
        nms.honoured("use_class_agnostic_nms", "per-class NMS")
        nms.honoured("max_classes_per_detection", "no effect: per-class "
                                                  "NMS")
    for name in ("use_static_shapes", "use_partitioned_nms",
                 "change_coordinate_frame", "use_hard_nms"):
        nms.honoured(name, NO_EFFECT)
    converter = str(post.value("score_converter", "IDENTITY"))
    if converter in ("SOFTMAX", "SIGMOID"):
        sigmoid = converter == "SIGMOID"
        out.put(f"{gen}.use_sigmoid_probability", sigmoid,
                f"{post.path}.score_converter {converter}")
        post.honoured("score_converter", f"{gen}.use_sigmoid_probability: "
                                         f"{str(sigmoid).lower()}")
    else:
        out.put(f"{gen}.use_sigmoid_probability", False,
                f"{post.path}.score_converter {converter}: softmax")
        mark_or_default(post, "score_converter", APPROXIMATED,
                          f"{converter} (raw logits as scores) -> softmax: "
                          f"Model Garden's scores are probabilities")
    if number(post, "logit_scale", 1.0) == 1.0:
        post.honoured("logit_scale", "1: no scaling")
    else:
        post.not_supported("logit_scale", "Model Garden does not scale "
                           "logits")
    post.not_supported("calibration_config", "Model Garden has no score "
                       "calibration")


def _classification_loss(loss: Section, out: GardenMapping) -> None:
    kind, sub = loss.oneof()
    key = "task.losses.frcnn_class_use_binary_cross_entropy"
    if kind in (None, "weighted_softmax"):
        out.put(key, False, f"{loss.path}: softmax cross-entropy"
                + (" (OD API default)" if kind is None else ""))
        loss.honoured("weighted_softmax", f"{key}: false")
        if number(sub, "logit_scale", 1.0) != 1.0:
            sub.not_supported("logit_scale", "Model Garden does not scale "
                              "logits")
        sub.honoured("logit_scale", "1: no scaling")
        sub.honoured("anchorwise_output", "no effect on the loss value")
    elif kind == "weighted_sigmoid":
        out.put(key, True, f"{loss.path}.weighted_sigmoid")
        loss.honoured("weighted_sigmoid", f"{key}: true")
    else:
        loss.not_supported(kind, "Model Garden's second stage has softmax "
                           "or sigmoid cross-entropy only: softmax used")
        out.put(key, False, f"{loss.path}.{kind} is not supported: softmax")
