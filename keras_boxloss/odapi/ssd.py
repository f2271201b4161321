"""`model.ssd` of a TF OD API pipeline.config -> our Keras SSD's
`DetectorConfig` values (see odapi/convert.py for the whole pipeline).

Each field read is marked honoured / approximated / not supported in the
`Report` (odapi/accounting.py); `Target` records which of our keys each
value came from, for the comments `import-config` writes.
"""

from __future__ import annotations

import math

from keras_boxloss.backbones import BACKBONES
from keras_boxloss.odapi.accounting import (Report, Section, get_dotted,
                                             set_dotted)
from keras_boxloss.odapi.pipeline import Pipeline, enum_name

# OD API feature extractor type -> (our backbone, exact?)
FEATURE_EXTRACTORS = {
    "ssd_mobilenet_v2": ("mobilenet_v2", True),
    "ssd_mobilenet_v2_keras": ("mobilenet_v2", True),
    "ssd_mobilenet_v3_small": ("mobilenet_v3_small", True),
}
OUR_BACKBONES = BACKBONES  # one home: keras_boxloss/backbones.py
KERAS_MOBILENET_V2_ALPHAS = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)
CONV_HYPERPARAMS_NOTE = (
    "our layers use Keras defaults (Glorot-uniform init, no L2 "
    "regularizer, batch norm momentum 0.99, epsilon 1e-3, ReLU6 in the "
    "backbone and extra layers)")


class Target:
    """Our config values being built, and where each came from."""

    def __init__(self):
        self.values: dict = {}
        self.origins: dict[str, list[str]] = {}

    def set(self, key: str, value, origin: str | None = None) -> None:
        set_dotted(self.values, key, value)
        if origin:
            self.origins.setdefault(key, [])
            if origin not in self.origins[key]:
                self.origins[key].append(origin)

    def get(self, key: str, default=None):
        return get_dotted(self.values, key, default)


def _num(section: Section, name: str, default, kind=float):
    value = section.value(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{section.where(name)}: Expected `{section.path}."
                         f"{name}` to be a number. Received: {value!r}")
    if kind is int:
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(f"{section.where(name)}: Expected `{section.path}"
                             f".{name}` to be an integer. Received: {value!r}")
        return int(value)
    return float(value)


def _bool(section: Section, name: str, default: bool) -> bool:
    value = section.value(name, default)
    if not isinstance(value, bool):
        raise ValueError(f"{section.where(name)}: Expected `{section.path}."
                         f"{name}` to be true or false. Received: {value!r}")
    return value


def map_ssd(pipe: Pipeline, report: Report, target: Target) -> None:
    ssd = Section(pipe.root, "", report).sub("model").sub("ssd")
    target.set("detector", "ssd")
    if not ssd.has("num_classes"):
        raise ValueError(f"{ssd.where()}: Expected model.ssd.num_classes. "
                         "Received: no num_classes")
    num_classes = _num(ssd, "num_classes", 0, int)
    if num_classes < 1:
        raise ValueError(f"{ssd.where('num_classes')}: Expected "
                         f"model.ssd.num_classes >= 1. Received: {num_classes}")
    target.set("model.num_classes", num_classes, "model.ssd.num_classes")
    ssd.honoured("num_classes", f"model.num_classes: {num_classes}")
    _image_resizer(ssd.sub("image_resizer"), target)
    _feature_extractor(ssd.sub("feature_extractor"), target)
    _anchors(ssd.sub("anchor_generator"), target)
    _box_coder(ssd.sub("box_coder"))
    _matcher(ssd, target)
    _box_predictor(ssd.sub("box_predictor"))
    _loss(ssd, pipe, target)
    _post_processing(ssd.sub("post_processing"), target)
    _background_class(ssd, target)
    for name, good, note in (
            ("freeze_batchnorm", False, "batch norm layers train"),
            ("inplace_batchnorm_update", None,
             "Keras updates batch norm statistics in place"),
            ("negative_class_weight", 1.0, "negatives weigh 1"),
            ("explicit_background_class", False,
             "no explicit background column in the ground truth"),
            ("use_confidences_as_targets", False,
             "targets are the matched classes"),
            ("return_raw_detections_during_predict", None,
             "exports always return raw_detection_boxes and "
             "raw_detection_scores")):
        if not ssd.has(name):
            continue
        value = ssd.value(name)
        if good is None or value == good:
            ssd.honoured(name, note)
        else:
            ssd.not_supported(name, f"{note} (no setting for {value!r})")
    # read by the OD API only with use_confidences_as_targets
    if ssd.has("implicit_example_weight"):
        if _bool(ssd, "use_confidences_as_targets", False):
            ssd.not_supported("implicit_example_weight",
                              "no confidences as targets to weigh")
        else:
            ssd.honoured("implicit_example_weight",
                         "used only with use_confidences_as_targets")


def _background_class(ssd: Section, target: Target) -> None:
    """`add_background_class` (default true) is what our classification
    head does already: softmax has a background column, sigmoid focal has
    none (EfficientDet's configs set false with it)."""
    if not ssd.has("add_background_class"):
        return
    add = _bool(ssd, "add_background_class", True)
    softmax = target.get("loss.classification") == "softmax"
    note = ("softmax over background + num_classes" if softmax
            else "sigmoid scores over num_classes, no background column")
    if add == softmax:
        ssd.honoured("add_background_class", note)
    else:
        ssd.approximated("add_background_class", f"{note} (set by "
                         "model.ssd.loss.classification_loss)")


def _image_resizer(section: Section, target: Target) -> None:
    kind, resizer = section.oneof()
    if kind == "fixed_shape_resizer":
        height = _num(resizer, "height", 300, int)
        width = _num(resizer, "width", 300, int)
        size = max(height, width)
        target.set("model.image_size", size, f"{resizer.path}.height/width")
        target.set("data.resize_mode", "fixed", resizer.path)
        if height == width:
            resizer.honoured("height", f"model.image_size: {size}")
            resizer.honoured("width", f"model.image_size: {size}")
        else:
            note = (f"model.image_size: {size} (our SSD takes square "
                    f"inputs: {height}x{width} became {size}x{size})")
            resizer.approximated("height", note)
            resizer.approximated("width", note)
    elif kind == "keep_aspect_ratio_resizer":
        size = _num(resizer, "max_dimension", 1024, int)
        target.set("model.image_size", size,
                   f"{resizer.path}.max_dimension")
        target.set("data.resize_mode", "pad", resizer.path)
        resizer.approximated(
            "max_dimension", f"model.image_size: {size} and data.resize_mode:"
            " pad (the longer side scaled to it, the rest padded: a square "
            "canvas, as pad_to_max_dimension)")
        resizer.approximated(
            "min_dimension", "not applied: the pad mode scales the longer "
            "side to max_dimension")
        resizer.honoured("pad_to_max_dimension",
                         "the pad mode pads to max_dimension square")
        resizer.not_supported("per_channel_pad_value", "padding is zeros")
    elif kind is None:
        raise ValueError(f"{section.where()}: Expected model.ssd.image_"
                         "resizer (fixed_shape_resizer or keep_aspect_ratio_"
                         "resizer). Received: none")
    else:
        raise ValueError(
            f"{section.where(kind)}: Expected fixed_shape_resizer or "
            f"keep_aspect_ratio_resizer in {section.path} (our SSD has a "
            f"fixed input size). Received: {kind}")
    method = enum_name(resizer.value("resize_method", "BILINEAR"))
    if method == "BILINEAR":
        resizer.honoured("resize_method", "bilinear resizing")
    else:
        resizer.approximated("resize_method",
                             f"bilinear resizing (not {method})")
    if resizer.value("convert_to_grayscale", False):
        resizer.not_supported("convert_to_grayscale", "images stay RGB")
    else:
        resizer.honoured("convert_to_grayscale", "RGB")


def _feature_extractor(section: Section, target: Target) -> None:
    if not section:
        raise ValueError(f"{section.where()}: Expected model.ssd.feature_"
                         "extractor. Received: none")
    kind = str(section.value("type", ""))
    if kind in OUR_BACKBONES:
        backbone = kind
        section.honoured("type", f"model.backbone: {kind} (a keras-boxloss "
                                 "backbone name)")
    elif kind in FEATURE_EXTRACTORS:
        backbone = FEATURE_EXTRACTORS[kind][0]
        section.honoured("type", f"model.backbone: {backbone}")
    elif kind.startswith("ssd_") or kind.startswith("embedded_ssd_"):
        backbone = "mobilenet_v2"
        section.approximated(
            "type", f"model.backbone: mobilenet_v2, the nearest backbone we "
            f"have to {kind} (ours: {', '.join(OUR_BACKBONES)}); MobileNetV2"
            " features at strides 16 and 32 plus SSD extra layers"
            + (", no FPN" if "fpn" in kind else ""))
    else:
        raise ValueError(
            f"{section.where('type')}: Expected model.ssd.feature_extractor."
            f"type to be an OD API SSD feature extractor (ssd_mobilenet_v2, "
            f"...) or one of ours {list(OUR_BACKBONES)}. Received: {kind!r}")
    target.set("model.backbone", backbone, f"{section.path}.type")
    alpha = _num(section, "depth_multiplier", 1.0)
    if backbone == "mobilenet_v2" and alpha not in KERAS_MOBILENET_V2_ALPHAS:
        raise ValueError(
            f"{section.where('depth_multiplier')}: Expected model.ssd."
            f"feature_extractor.depth_multiplier in {KERAS_MOBILENET_V2_ALPHAS}"
            f" (Keras' MobileNetV2). Received: {alpha}")
    target.set("model.backbone_alpha", alpha,
               f"{section.path}.depth_multiplier")
    section.honoured("depth_multiplier", f"model.backbone_alpha: {alpha}")
    # MobileNet SSDs on CPU: XLA makes depthwise convolutions ~7x slower.
    target.set("trainer.jit_compile", backbone == "tiny")
    section.not_supported("min_depth", "our extra layers have fixed depths "
                                       "(512, 256, 256, 128)")
    section.honoured_if_default("pad_to_multiple", 1,
                                "no padding to a multiple",
                                "inputs are not padded to a multiple")
    section.not_supported("use_explicit_padding", "Keras 'same' padding")
    if section.value("use_depthwise", False):
        section.approximated("use_depthwise", "the extra layers are plain "
                                              "(not depthwise) convolutions")
    else:
        section.honoured("use_depthwise", "plain convolutions")
    section.sub("conv_hyperparams").mark_self("not supported",
                                              CONV_HYPERPARAMS_NOTE)
    section.not_supported("override_base_feature_extractor_hyperparams",
                          CONV_HYPERPARAMS_NOTE)
    if section.value("batch_norm_trainable", True):
        section.honoured("batch_norm_trainable", "batch norm trains")
    else:
        section.not_supported("batch_norm_trainable", "batch norm trains")
    for pyramid in ("fpn", "bifpn"):  # EfficientDet's is a BiFPN
        section.sub(pyramid).mark_self(
            "approximated", f"no {pyramid.upper()}: SSD feature maps (the "
            "backbone's two, then extra layers)")
    section.not_supported("num_layers", "feature maps: model.num_layers (from"
                                        " the anchor generator)")


def _anchors(section: Section, target: Target) -> None:
    kind, gen = section.oneof()
    if kind == "ssd_anchor_generator":
        num_layers = _num(gen, "num_layers", 6, int)
        min_scale = _num(gen, "min_scale", 0.2)
        max_scale = _num(gen, "max_scale", 0.95)
        ratios = [float(r) for r in gen.values("aspect_ratios")]
        interpolated = _num(gen, "interpolated_scale_aspect_ratio", 1.0)
        reduce = _bool(gen, "reduce_boxes_in_lowest_layer", True)
        scales = [float(s) for s in gen.values("scales")]
        if scales:
            min_scale, max_scale = scales[0], scales[-1]
            if len(scales) != num_layers:
                raise ValueError(
                    f"{gen.where('scales')}: Expected one scale per layer "
                    f"(num_layers={num_layers}). Received: {len(scales)} "
                    f"scales")
            linear = [min_scale + (max_scale - min_scale) * i / max(
                num_layers - 1, 1) for i in range(num_layers)]
            if all(math.isclose(a, b, abs_tol=1e-6)
                   for a, b in zip(scales, linear)):
                gen.honoured("scales", "linear from min_scale to max_scale")
            else:
                gen.approximated(
                    "scales", f"model.min_scale {min_scale} / max_scale "
                    f"{max_scale}, linear in between (ours are linear)")
        for name, value in (("num_layers", num_layers),
                            ("min_scale", min_scale),
                            ("max_scale", max_scale),
                            ("aspect_ratios", ratios),
                            ("interpolated_scale_aspect_ratio", interpolated),
                            ("reduce_boxes_in_lowest_layer", reduce)):
            target.set(f"model.{name}", value, f"{gen.path}.{name}")
            gen.honoured(name, f"model.{name}: {value}")
        for name, good in (("base_anchor_height", 1.0),
                           ("base_anchor_width", 1.0)):
            if gen.value(name, good) == good:
                gen.honoured(name, "1.0")
            else:
                gen.not_supported(name, "the base anchor size is 1.0")
        for name in ("height_stride", "width_stride", "height_offset",
                     "width_offset"):
            gen.approximated(name, "anchors are centred on each feature "
                                   "map's cells (the OD API default)")
    elif kind == "multiscale_anchor_generator":
        min_level = _num(gen, "min_level", 3, int)
        max_level = _num(gen, "max_level", 7, int)
        anchor_scale = _num(gen, "anchor_scale", 4.0)
        size = target.get("model.image_size", 320)
        low = min(anchor_scale * 2 ** min_level / size, 0.95)
        high = min(anchor_scale * 2 ** max_level / size, 1.0)
        low = min(low, high)
        ratios = [float(r) for r in gen.values("aspect_ratios")] or [1.0]
        values = {"num_layers": max_level - min_level + 1,
                  "min_scale": round(low, 6), "max_scale": round(high, 6),
                  "aspect_ratios": ratios,
                  "interpolated_scale_aspect_ratio": 1.0,
                  "reduce_boxes_in_lowest_layer": False}
        for name, value in values.items():
            target.set(f"model.{name}", value, gen.path)
        note = (f"SSD anchors: {values['num_layers']} layers, scales "
                f"{values['min_scale']}-{values['max_scale']} (anchor_scale "
                f"x 2^level / image size, capped at 1), aspect ratios "
                f"{ratios}, plus one interpolated box")
        gen.approximated("min_level", note)
        gen.approximated("max_level", note)
        gen.approximated("anchor_scale", note)
        gen.honoured("aspect_ratios", f"model.aspect_ratios: {ratios}")
        gen.approximated("scales_per_octave", "one in-between scale per "
                         "level (the interpolated box), not per aspect ratio")
        gen.honoured("normalize_coordinates", "normalised coordinates")
    elif kind is None:
        raise ValueError(f"{section.where()}: Expected model.ssd.anchor_"
                         "generator.ssd_anchor_generator. Received: none")
    else:
        raise ValueError(
            f"{section.where(kind)}: Expected ssd_anchor_generator or "
            f"multiscale_anchor_generator in {section.path}. Received: {kind}")


def _box_coder(section: Section) -> None:
    kind, coder = section.oneof()
    if kind == "faster_rcnn_box_coder":
        for name, default in (("y_scale", 10.0), ("x_scale", 10.0),
                              ("height_scale", 5.0), ("width_scale", 5.0)):
            value = _num(coder, name, default)
            if value == default:
                coder.honoured(name, f"{value:g} (our SSD's coder: 10/10/5/5)")
            else:
                coder.approximated(name, f"{default:g}: our SSD's box coder "
                                         "is fixed at 10/10/5/5")
    elif kind is not None:
        coder.mark_self("approximated", "the faster_rcnn box coder, 10/10/5/5"
                                        " (our SSD's only coder)")


def _matcher(ssd: Section, target: Target) -> None:
    kind, matcher = ssd.sub("matcher").oneof()
    if kind == "argmax_matcher":
        matched = _num(matcher, "matched_threshold", 0.5)
        unmatched = _num(matcher, "unmatched_threshold", matched)
        if matcher.value("ignore_thresholds", False):
            matcher.not_supported("ignore_thresholds",
                                  "the thresholds are applied")
        else:
            matcher.honoured("ignore_thresholds", "thresholds applied")
        target.set("loss.matched_threshold", matched,
                   f"{matcher.path}.matched_threshold")
        target.set("loss.unmatched_threshold", unmatched,
                   f"{matcher.path}.unmatched_threshold")
        matcher.honoured("matched_threshold",
                         f"loss.matched_threshold: {matched}")
        matcher.honoured("unmatched_threshold",
                         f"loss.unmatched_threshold: {unmatched}")
        if matcher.value("negatives_lower_than_unmatched", True):
            matcher.honoured("negatives_lower_than_unmatched",
                             "below unmatched_threshold = background")
        else:
            matcher.not_supported("negatives_lower_than_unmatched",
                                  "below unmatched_threshold = background")
        if matcher.value("force_match_for_each_row", False):
            matcher.honoured("force_match_for_each_row",
                             "every box gets its best anchor")
        else:
            matcher.approximated("force_match_for_each_row",
                                 "our matcher always force-matches each box"
                                 " to its best anchor")
        matcher.honoured("use_matmul_gather",
                         "an implementation detail (same matches)")
    elif kind is not None:
        matcher.mark_self("approximated", "the argmax matcher 0.5 / 0.5 with "
                                          "force match")
    kind, sim = ssd.sub("similarity_calculator").oneof()
    if kind == "iou_similarity":
        ssd.sub("similarity_calculator").honoured("iou_similarity", "IoU")
    elif kind is not None:
        ssd.sub("similarity_calculator").approximated(kind, "IoU similarity")


def _box_predictor(section: Section) -> None:
    kind, pred = section.oneof()
    if kind is None:
        return
    kernel = pred.value("kernel_size", 3)
    note = ("plain convolution heads (3x3, one box and one class head per "
            "feature map, zero layers before the predictor)")
    if kind == "convolutional_box_predictor" and kernel == 3:
        pred.honoured("kernel_size", "3x3 heads")
    pred.honoured("box_code_size", "4")
    if pred.value("num_layers_before_predictor", 0) == 0:
        pred.honoured("num_layers_before_predictor", "none")
    if not pred.value("use_dropout", False):
        pred.honoured("use_dropout", "no dropout")
        pred.honoured("dropout_keep_probability", "no dropout")
    pred.sub("conv_hyperparams").mark_self("not supported",
                                           CONV_HYPERPARAMS_NOTE)
    pred.rest("approximated", note)


def _loss(ssd: Section, pipe: Pipeline, target: Target) -> None:
    loss = ssd.sub("loss")
    # Localization
    override_key = "model.ssd.loss.localization_loss"
    override = pipe.box_losses.get(override_key)
    kind, loc = loss.sub("localization_loss").oneof()
    if override:
        target.set("loss.box_loss", override, f"--set {override_key}")
        target.set("loss.box_loss_params", {}, f"--set {override_key}")
        loss.honoured("localization_loss",
                      f"replaced by --set {override_key}={override}: "
                      f"loss.box_loss: {override}")
        report_set = loss.report
        report_set.mark(override_key, None, "honoured",
                        f"loss.box_loss: {override} (--set)")
    elif kind == "weighted_smooth_l1":
        delta = _num(loc, "delta", 1.0)
        target.set("loss.box_loss", "huber", f"{loc.path}")
        target.set("loss.box_loss_params", {"delta": delta},
                   f"{loc.path}.delta")
        loss.sub("localization_loss").honoured(
            kind, f"loss.box_loss: huber, delta {delta:g}")
    elif kind in ("weighted_iou", "weighted_giou"):
        name = kind.split("_")[1]
        target.set("loss.box_loss", name, loc.path)
        target.set("loss.box_loss_params", {}, loc.path)
        loss.sub("localization_loss").honoured(kind, f"loss.box_loss: {name}")
    elif kind is None:
        raise ValueError(f"{loss.where()}: Expected model.ssd.loss."
                         "localization_loss. Received: none")
    else:
        target.set("loss.box_loss", "huber", loc.path)
        target.set("loss.box_loss_params", {"delta": 1.0}, loc.path)
        loss.sub("localization_loss").approximated(
            kind, "loss.box_loss: huber, delta 1 (the library has no "
                  f"{kind}; pick one with --set {override_key}=NAME)")
    # Classification and hard example mining
    kind, cls = loss.sub("classification_loss").oneof()
    miner = loss.sub("hard_example_miner")
    focal_scale = 1.0  # our classification term / the OD API's
    if kind == "weighted_softmax" or (kind == "weighted_sigmoid" and miner):
        target.set("loss.classification", "softmax", cls.path)
        if kind == "weighted_softmax":
            loss.sub("classification_loss").honoured(
                kind, "loss.classification: softmax")
            scale = cls.value("logit_scale", 1.0)
            if scale == 1.0:
                cls.honoured("logit_scale", "1")
            else:
                cls.not_supported("logit_scale", "logits are not scaled")
        else:
            loss.sub("classification_loss").approximated(
                kind, "loss.classification: softmax over num_classes + "
                "background: our MultiBox mines hard negatives with the "
                "softmax loss only (as model_garden_configs/ssd/"
                "ssd_mobilenet_v2_coco.yaml)")
        cls.not_supported("anchorwise_output", "deprecated in the OD API")
    elif kind in ("weighted_sigmoid_focal", "weighted_sigmoid"):
        target.set("loss.classification", "sigmoid_focal", cls.path)
        if kind == "weighted_sigmoid_focal":
            gamma = _num(cls, "gamma", 2.0)
            target.set("loss.focal_gamma", gamma, f"{cls.path}.gamma")
            cls.honoured("gamma", f"loss.focal_gamma: {gamma:g}")
            if cls.has("alpha"):
                alpha = _num(cls, "alpha", 0.25)
                cls.honoured("alpha", f"loss.focal_alpha: {alpha:g}")
                loss.sub("classification_loss").honoured(
                    kind, "loss.classification: sigmoid_focal")
            else:
                alpha, focal_scale = 0.5, 0.5
                loss.sub("classification_loss").approximated(
                    kind, "loss.classification: sigmoid_focal, focal_alpha "
                    "0.5 (no alpha in the OD API = weight 1 on both sides; "
                    "alpha 0.5 halves it, and loss.alpha doubles the box "
                    "term to keep the ratio)")
        else:
            gamma, alpha, focal_scale = 0.0, 0.5, 0.5
            target.set("loss.focal_gamma", 0.0, cls.path)
            loss.sub("classification_loss").approximated(
                kind, "loss.classification: sigmoid_focal with gamma 0, "
                "alpha 0.5 = half the sigmoid cross-entropy on every anchor "
                "(loss.alpha doubles the box term to keep the ratio)")
        target.set("loss.focal_alpha", alpha, f"{cls.path}")
        cls.not_supported("anchorwise_output", "deprecated in the OD API")
    elif kind is None:
        raise ValueError(f"{loss.where()}: Expected model.ssd.loss."
                         "classification_loss. Received: none")
    else:
        target.set("loss.classification", "softmax", cls.path)
        loss.sub("classification_loss").approximated(
            kind, "loss.classification: softmax (the nearest we have)")
    softmax = target.get("loss.classification") == "softmax"
    if miner and softmax:
        ratio = _num(miner, "max_negatives_per_positive", 0, int)
        if ratio > 0:
            target.set("loss.neg_pos_ratio", float(ratio),
                       f"{miner.path}.max_negatives_per_positive")
            miner.honoured("max_negatives_per_positive",
                           f"loss.neg_pos_ratio: {ratio}")
        else:
            target.set("loss.neg_pos_ratio", 1e6, miner.path)
            miner.approximated("max_negatives_per_positive",
                               "loss.neg_pos_ratio: 1e6 (no limit)")
        least = _num(miner, "min_negatives_per_image", 0, int)
        target.set("loss.min_negatives_per_image", least,
                   f"{miner.path}.min_negatives_per_image")
        miner.honoured("min_negatives_per_image",
                       f"loss.min_negatives_per_image: {least}")
        miner.approximated("num_hard_examples", "no cap on mined examples "
                           "besides neg_pos_ratio per positive")
        miner.approximated("iou_threshold", "no NMS among the negatives: "
                           "all are ranked by loss (as the SSD paper and "
                           "torchvision)")
        loss_type = enum_name(miner.value("loss_type", "BOTH"))
        if loss_type == "CLASSIFICATION":
            miner.honoured("loss_type", "ranked by classification loss")
        else:
            miner.approximated("loss_type", "ranked by classification loss "
                               "(negatives have no box loss)")
    elif miner:
        miner.mark_self("not supported", "sigmoid focal classification "
                        "counts every anchor: no mining")
        loss.honoured("hard_example_miner", "")
    elif softmax:
        target.set("loss.neg_pos_ratio", 1e6, f"{loss.path}")
        target.set("loss.min_negatives_per_image", 0, f"{loss.path}")
        loss.report.mark(f"{loss.path}.hard_example_miner", None,
                         "approximated", "absent: every negative counted "
                         "(loss.neg_pos_ratio 1e6), except in images "
                         "without objects", line=loss.line())
    # Weights: ours is L_cls + alpha L_loc, the OD API's w_c L_cls + w_l L_loc
    w_cls = _num(loss, "classification_weight", 1.0)
    w_loc = _num(loss, "localization_weight", 1.0)
    if w_cls <= 0:
        raise ValueError(f"{loss.where('classification_weight')}: Expected "
                         f"classification_weight > 0. Received: {w_cls}")
    alpha = w_loc / w_cls * focal_scale
    note = ""
    if _bool(ssd, "normalize_loc_loss_by_codesize", False):
        alpha /= 4.0
        ssd.honoured("normalize_loc_loss_by_codesize",
                     "loss.alpha divided by 4 (the box code size)")
    target.set("loss.alpha", alpha, f"{loss.path}.localization_weight")
    if w_cls == 1.0:
        loss.honoured("classification_weight", "1")
    else:
        note = (f" (the whole loss is 1/{w_cls:g} of the OD API's: the same "
                "minimum, gradients scaled)")
        loss.approximated("classification_weight",
                          f"loss.alpha = localization/classification weight"
                          f"{note}")
    loss.honoured("localization_weight", f"loss.alpha: {alpha:g}")
    if _bool(ssd, "normalize_loss_by_num_matches", True):
        ssd.honoured("normalize_loss_by_num_matches",
                     "divided by the matches in the batch")
    else:
        ssd.not_supported("normalize_loss_by_num_matches",
                          "our MultiBox always divides by the matches")
    if ssd.has("encode_background_as_zeros"):
        ssd.honoured("encode_background_as_zeros",
                     "sigmoid: background = all zeros; softmax: class 0")
    for name in ("random_example_sampler", "equalization_loss",
                 "expected_loss_weights", "min_num_negative_samples",
                 "desired_negative_sampling_ratio"):
        loss.not_supported(name, "no such sampling in our MultiBox")


def _post_processing(section: Section, target: Target) -> None:
    nms = section.sub("batch_non_max_suppression")
    for name, ours, default in (
            ("score_threshold", "score_threshold", 0.0),
            ("iou_threshold", "iou_threshold", 0.6),
            ("max_detections_per_class", "max_detections_per_class", 100),
            ("max_total_detections", "max_total_detections", 100)):
        if not nms:
            break
        kind = int if name.startswith("max") else float
        value = _num(nms, name, default, kind)
        target.set(f"postprocess.{ours}", value, f"{nms.path}.{name}")
        nms.honoured(name, f"postprocess.{ours}: {value:g}")
    if nms.value("use_class_agnostic_nms", False):
        nms.not_supported("use_class_agnostic_nms", "NMS is per class")
    if nms.value("soft_nms_sigma", 0.0):
        nms.not_supported("soft_nms_sigma", "hard NMS")
    nms.rest("honoured", "an NMS implementation detail (ours: "
                         "tf.image.combined_non_max_suppression)")
    converter = enum_name(section.value("score_converter", "IDENTITY"))
    classification = target.get("loss.classification")
    expected = "SIGMOID" if classification == "sigmoid_focal" else "SOFTMAX"
    if not section.has("score_converter"):
        pass
    elif converter == expected:
        section.honoured("score_converter", converter.lower())
    else:
        section.approximated(
            "score_converter", f"{expected.lower()} scores (our "
            f"classification is {classification})")
    section.honoured_if_default("logit_scale", 1.0, "1",
                                "logits are not scaled")
    section.sub("calibration_config").mark_self("not supported",
                                                "no score calibration")
