"""A TF OD API `model { faster_rcnn { } }` pipeline.config as overrides of
the Model Garden experiment `fasterrcnn_resnetfpn_boxloss`.

`garden_mapping(root, config_dir, report)` returns a `GardenMapping`: a
plain nested dict of overrides (`{"runtime": ..., "task": ..., "trainer":
...}`) to apply on top of the experiment (`keras_boxloss.model_garden.
odapi_config` does, strictly, and validates) and, per key, the source field
and line that `to_yaml` writes as comments. Every field of the config is marked in
`report` (accounting.Report): honoured, approximated (what it became and
why) or not supported (why). This module does not import Model Garden.

Our box losses: `--set model.faster_rcnn.localization_loss=smooth_iou`
(both stages; `first_stage_localization_loss` / `second_stage_...` for
one), passed in as `box_losses` (pipeline.py's `Pipeline.box_losses`);
otherwise the OD API's smooth L1 (Huber, delta 1), per box
(`normalizer: boxes`), in both stages.

Modules: here the entry points, feature extractor, first stage, crops and
box losses; `faster_rcnn_anchors.py` anchors and input size;
`faster_rcnn_heads.py` the second stage and Hyperparams;
`faster_rcnn_train.py` train_config, input readers and eval_config;
`faster_rcnn_schema.py` the field names; `faster_rcnn_mapping.py` the
result being built and the checked reads.
"""

from __future__ import annotations

from keras_boxloss.odapi.accounting import (APPROXIMATED, HONOURED, Report,
                                            Section)
from keras_boxloss.odapi.faster_rcnn_anchors import (MIN_LEVEL, map_anchors,
                                                     map_resizer)
from keras_boxloss.odapi.faster_rcnn_heads import (NO_EFFECT, hyperparams,
                                                   map_second_stage)
from keras_boxloss.odapi.faster_rcnn_mapping import (GardenMapping, fail,
                                                     mark_or_default, number,
                                                     positive_int, put_field)
from keras_boxloss.odapi.schema import check_names
from keras_boxloss.odapi.text_format import Message

EXPERIMENT = "fasterrcnn_resnetfpn_boxloss"
# `--set KEY=LOSS` (pipeline.py's Pipeline.box_losses) -> stages it sets.
BOX_LOSS_KEYS = {
    "model.faster_rcnn.localization_loss": ("rpn_box_loss", "frcnn_box_loss"),
    "model.faster_rcnn.first_stage_localization_loss": ("rpn_box_loss",),
    "model.faster_rcnn.second_stage_localization_loss": ("frcnn_box_loss",),
}
# OD API feature extractor (type without `faster_rcnn_` and `_keras`) ->
# (Model Garden ResNet depth, FPN in the original, why when not the same).
BACKBONES = {
    "resnet50": (50, False, None), "resnet101": (101, False, None),
    "resnet152": (152, False, None), "resnet50_fpn": (50, True, None),
    "resnet101_fpn": (101, True, None), "resnet152_fpn": (152, True, None),
    "inception_v2": (50, False, "Model Garden has no Inception V2; "
                     "ResNet-50 is the closest (same era and depth class)"),
    "inception_resnet_v2": (152, False, "Model Garden has no "
                            "Inception-ResNet V2; ResNet-152 is the closest "
                            "in depth and ImageNet accuracy"),
    "nas": (152, False, "Model Garden has no NASNet; ResNet-152 is its "
            "largest classic backbone"),
    "pnas": (152, False, "Model Garden has no PNASNet; ResNet-152 is its "
             "largest classic backbone"),
}


def yaml_header(source: str) -> str:
    """The header of the imported YAML: where it came from, how to train."""
    return (f"Model Garden experiment {EXPERIMENT}, imported from "
            f"{source}.\nTrain it: keras-boxloss garden-train "
            f"--experiment={EXPERIMENT} --config_file=THIS.yaml "
            f"--mode=train_and_eval --model_dir=DIR")


def garden_mapping(root: Message, config_dir, report: Report,
                   box_losses: dict | None = None) -> GardenMapping:
    from keras_boxloss.odapi import faster_rcnn_train

    check_names(root, source=report.source)
    model = Section(root, "", report).sub("model")
    frcnn = model.sub("faster_rcnn")
    if not frcnn:
        raise ValueError(f"{report.source}: Expected a `model {{ "
                         f"faster_rcnn {{ ... }} }}` config. Received: "
                         f"model fields {model.names()}")
    model.honoured("faster_rcnn", f"Model Garden experiment {EXPERIMENT}")
    out = GardenMapping()
    levels = map_model(frcnn, out, dict(box_losses or {}))
    faster_rcnn_train.map_training(Section(root, "", report), config_dir,
                                   out, levels)
    report.finish(root)
    return out


# --- model.faster_rcnn -------------------------------------------------------

def map_model(frcnn: Section, out: GardenMapping,
              box_losses: dict[str, str]) -> tuple[int, int]:
    """Maps `model.faster_rcnn`; returns Model Garden's (min, max) level."""
    _stages(frcnn)
    num_classes = positive_int(frcnn, "num_classes", required=True)
    out.put("task.model.num_classes", num_classes + 1,
            f"{frcnn.path}.num_classes {num_classes} + background "
            f"(line {frcnn.line('num_classes')})")
    frcnn.honoured("num_classes", f"task.model.num_classes: "
                                  f"{num_classes + 1} (+ background)")
    fpn = _feature_extractor(frcnn.sub("feature_extractor"), out)
    levels = map_anchors(frcnn.sub("first_stage_anchor_generator"), fpn, out)
    map_resizer(frcnn.sub("image_resizer"), levels[1], out)
    _first_stage(frcnn, out)
    _crop(frcnn, out)
    map_second_stage(frcnn, out)
    _box_loss(frcnn, out, box_losses)
    _implementation_switches(frcnn)
    return levels


def _stages(frcnn: Section) -> None:
    stages = number(frcnn, "number_of_stages", 2, integer=True)
    if stages == 1 or frcnn.value("first_stage_only", False) is True:
        name = ("first_stage_only" if frcnn.has("first_stage_only")
                else "number_of_stages")
        fail(frcnn, name, "to build both stages (Model Garden's Faster "
             "R-CNN has no RPN-only model)", frcnn.value(name))
    frcnn.honoured("first_stage_only", "both stages")
    if stages == 3:
        frcnn.approximated("number_of_stages", "2 stages: Model Garden does "
                           "not re-crop the refined boxes at evaluation")
    else:
        frcnn.honoured("number_of_stages", "both stages")


def _feature_extractor(extractor: Section, out: GardenMapping):
    """Backbone; returns the original's FPN (min, max) level or None."""
    kind = str(extractor.value("type", ""))
    key = kind.removeprefix("faster_rcnn_").removesuffix("_keras")
    if key not in BACKBONES:
        fail(extractor, "type", "to be a Faster R-CNN feature extractor "
             "of the TF OD API: one of " + ", ".join(
                  sorted(f"faster_rcnn_{k}" for k in BACKBONES)), kind)
    depth, has_fpn, why = BACKBONES[key]
    out.put("task.model.backbone.type", "resnet", f"{extractor.path}.type "
            f"{kind!r} (line {extractor.line('type')})")
    out.put("task.model.backbone.resnet.model_id", depth,
            why or f"ResNet-{depth}, as the original")
    out.put("task.model.decoder.type", "fpn",
            "Model Garden's Faster R-CNN: ResNet + FPN")
    if why:
        extractor.approximated("type", f"ResNet-{depth} + FPN: {why}")
    elif has_fpn:
        extractor.honoured("type", f"ResNet-{depth} + FPN")
    else:
        extractor.approximated(
            "type", f"ResNet-{depth} + FPN: the original uses ResNet-"
            f"{depth}'s stride-16 C4 map for the RPN and its last block as "
            f"the second stage; Model Garden always has an FPN and a "
            f"4-conv + 1-fc box head")
    if has_fpn:
        extractor.honoured("first_stage_features_stride",
                           "no effect with an FPN (as in the original)")
    else:
        extractor.approximated(
            "first_stage_features_stride", "Model Garden's RPN runs on "
            "every FPN level (see first_stage_anchor_generator)")
    if extractor.value("batch_norm_trainable", False) is True:
        extractor.honoured("batch_norm_trainable", "Model Garden trains "
                                                   "batch norm")
    else:
        mark_or_default(
            extractor, "batch_norm_trainable", APPROXIMATED, "false (frozen "
            "batch norm) -> trained: Model Garden has no per-layer frozen "
            "batch norm "
            "(task.freeze_backbone would freeze every backbone weight)")
    extractor.approximated("pad_to_multiple", "Model Garden pads every "
                           "image to a multiple of 2^max_level")
    fpn = None
    levels = extractor.sub("fpn")
    if levels:
        fpn = (number(levels, "min_level", 3, low=MIN_LEVEL, integer=True),
               number(levels, "max_level", 7, low=MIN_LEVEL, integer=True))
        levels.honoured("min_level", f"task.model.min_level: {fpn[0]}")
        levels.honoured("max_level", f"task.model.max_level: {fpn[1]}")
        depth_ = positive_int(levels, "additional_layer_depth", 256)
        out.put("task.model.decoder.fpn.num_filters", depth_,
                f"{levels.path}.additional_layer_depth")
        levels.honoured("additional_layer_depth",
                        f"task.model.decoder.fpn.num_filters: {depth_}")
    elif has_fpn:
        raise ValueError(f"{extractor.where()}: Expected `{extractor.path}"
                         f".fpn` for type {kind!r}. Received: no fpn field")
    conv = extractor.sub("conv_hyperparams")
    if conv:
        override = extractor.value(
            "override_base_feature_extractor_hyperparams", False)
        _norm_activation(conv, out)
        hyperparams(conv, out, "the FPN's extra layers"
                    + (" (and the backbone's)" if override else ""))
    extractor.honoured("override_base_feature_extractor_hyperparams",
                       "see conv_hyperparams")
    return fpn


def _norm_activation(conv: Section, out: GardenMapping) -> None:
    """An FPN extractor's batch norm and activation -> Model Garden's
    norm_activation (which every layer of its model shares)."""
    norm = conv.sub("batch_norm")
    if norm:
        decay = number(norm, "decay", 0.999, low=0, high=1)
        epsilon = number(norm, "epsilon", 0.001, low=0)
        out.put("task.model.norm_activation.norm_momentum", decay,
                f"{norm.path}.decay")
        out.put("task.model.norm_activation.norm_epsilon", epsilon,
                f"{norm.path}.epsilon")
        conv.approximated("batch_norm", f"norm_momentum {decay}, "
                          f"norm_epsilon {epsilon} for every batch norm of "
                          f"the model (Model Garden has one setting)")
    activation = str(conv.value("activation", "RELU"))
    names = {"RELU": "relu", "RELU_6": "relu6", "SWISH": "swish"}
    if activation in names:
        out.put("task.model.norm_activation.activation", names[activation],
                f"{conv.path}.activation {activation}")
        conv.approximated("activation", f"norm_activation.activation: "
                          f"{names[activation]} for the whole model")


# --- first stage, crops, second stage ---------------------------------------

def _first_stage(frcnn: Section, out: GardenMapping) -> None:
    roi = "task.model.roi_generator"
    parser = "task.train_data.parser"
    put_field(frcnn, "first_stage_nms_score_threshold", out,
              (f"{roi}.pre_nms_score_threshold",
                f"{roi}.test_pre_nms_score_threshold"))
    put_field(frcnn, "first_stage_nms_iou_threshold", out,
              (f"{roi}.nms_iou_threshold", f"{roi}.test_nms_iou_threshold"),
              (0, 1))
    put_field(frcnn, "first_stage_max_proposals", out,
              (f"{roi}.num_proposals", f"{roi}.test_num_proposals"),
              (1, None), integer=True)
    put_field(frcnn, "first_stage_minibatch_size", out,
              (f"{parser}.rpn_batch_size_per_im",), (1, None), integer=True)
    put_field(frcnn, "first_stage_positive_balance_fraction", out,
              (f"{parser}.rpn_fg_fraction",), (0, 1))
    put_field(frcnn, "first_stage_localization_loss_weight", out,
              ("task.losses.rpn_box_weight",))
    put_field(frcnn, "first_stage_objectness_loss_weight", out,
              ("task.losses.rpn_score_weight",))
    put_field(frcnn, "first_stage_box_predictor_depth", out,
              ("task.model.rpn_head.num_filters",), (1, None), integer=True)
    # The OD API's proposal target assigner matches at IoU 0.7 / 0.3.
    out.put(f"{parser}.rpn_match_threshold", 0.7,
            "the OD API's RPN matcher (fixed): positive IoU >= 0.7")
    out.put(f"{parser}.rpn_unmatched_threshold", 0.3,
            "negative IoU < 0.3")
    frcnn.honoured_if_default("first_stage_box_predictor_kernel_size", 3,
                              "3x3, as Model Garden's RPN conv",
                              "Model Garden's RPN conv is 3x3")
    frcnn.honoured_if_default("first_stage_atrous_rate", 1, "no dilation",
                              "Model Garden's RPN conv is not dilated")
    conv = frcnn.sub("first_stage_box_predictor_conv_hyperparams")
    hyperparams(conv, out, "the RPN conv")


def _crop(frcnn: Section, out: GardenMapping) -> None:
    crop = positive_int(frcnn, "initial_crop_size", None)
    kernel = positive_int(frcnn, "maxpool_kernel_size", None)
    stride = positive_int(frcnn, "maxpool_stride", None)
    if crop is None:
        return  # Model Garden's 7x7 RoIAlign stays (the config has none)
    pooled = crop if not kernel else (crop - kernel) // (stride or 1) + 1
    if pooled < 1:
        fail(frcnn, "maxpool_kernel_size", f"to leave a pooled crop of at "
             f"least 1 from initial_crop_size {crop}", kernel)
    out.put("task.model.roi_aligner.crop_size", pooled,
            f"{crop}x{crop} crop" + (f" + {kernel}x{kernel} max-pool, "
                                     f"stride {stride}" if kernel else ""))
    note = (f"RoIAlign straight to {pooled}x{pooled} (the size after the "
            f"original's {crop}x{crop} crop" + (" and max-pool" if kernel
                                                else "") + ")")
    if kernel:
        for name in ("initial_crop_size", "maxpool_kernel_size",
                     "maxpool_stride"):
            frcnn.approximated(name, note)
    else:
        frcnn.honoured("initial_crop_size", note)


def _box_loss(frcnn: Section, out: GardenMapping,
              box_losses: dict[str, str]) -> None:
    """Ours: each stage's box loss (absent: the OD API's smooth L1); any
    registered box loss."""
    from keras_boxloss.losses.registry import BOX_LOSSES

    chosen = {"rpn_box_loss": "huber", "frcnn_box_loss": "huber"}
    sources = dict.fromkeys(chosen, "the OD API's smooth L1 (Huber, delta "
                                    "1)")
    for key, name in box_losses.items():
        if key not in BOX_LOSS_KEYS:
            raise ValueError(f"Expected a Faster R-CNN box-loss override "
                             f"--set {' or '.join(BOX_LOSS_KEYS)}=LOSS. "
                             f"Received: --set {key}={name}")
        if name not in BOX_LOSSES:
            raise ValueError(f"Expected --set {key}= one of "
                             f"{list(BOX_LOSSES)}. Received: {name!r}")
    # The both-stage key first, so that a per-stage key wins.
    both = "model.faster_rcnn.localization_loss"
    for key in sorted(box_losses, key=lambda k: k != both):
        for stage in BOX_LOSS_KEYS[key]:
            chosen[stage], sources[stage] = box_losses[key], f"--set {key}"
        frcnn.report.mark(key, None, HONOURED, "task." + " and task.".join(
            f"{stage}.type: {box_losses[key]}"
            for stage in BOX_LOSS_KEYS[key]))
    for stage, kind in chosen.items():
        out.put(f"task.{stage}.type", kind, sources[stage])
        # Per box, as the OD API (its smooth L1 sums the 4 coordinates).
        out.put(f"task.{stage}.normalizer", "boxes", "the OD API's per-box "
                "loss normalisation")
    # The OD API's WeightedSmoothL1LocalizationLoss: delta 1 in both stages
    # (Model Garden's RPN default is 1/9).
    for stage in ("rpn", "frcnn"):
        out.put(f"task.losses.{stage}_huber_loss_delta", 1.0, "the OD API's "
                "smooth L1 delta (fixed)")


def _implementation_switches(frcnn: Section) -> None:
    for name in ("inplace_batchnorm_update", "use_matmul_crop_and_resize",
                 "use_matmul_gather_in_matcher",
                 "use_static_balanced_label_sampler", "use_static_shapes",
                 "use_static_shapes_for_eval",
                 "use_partitioned_nms_in_first_stage", "resize_masks",
                 "return_raw_detections_during_predict"):
        frcnn.honoured(name, NO_EFFECT)
    if frcnn.value("clip_anchors_to_image", False) is True:
        frcnn.approximated("clip_anchors_to_image", "Model Garden keeps "
                           "anchors across the image border unclipped")
    else:
        frcnn.honoured("clip_anchors_to_image", "anchors not clipped")
    for name in ("output_final_box_features",
                 "output_final_box_rpn_features"):
        frcnn.not_supported(name, "extra feature outputs are not exported")
    frcnn.not_supported("context_config", "Model Garden has no Context "
                        "R-CNN: a plain Faster R-CNN is trained")

