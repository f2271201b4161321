"""A TF OD API `model { faster_rcnn { } }` pipeline.config as overrides of
the Model Garden experiment `fasterrcnn_resnetfpn_boxloss`.

`to_garden_overrides(root, config_dir, report)` returns a plain nested dict
(`{"runtime": ..., "task": ..., "trainer": ...}`) to apply on top of the
experiment (`keras_boxloss.model_garden.odapi_config` does, strictly, and
validates); `to_garden_yaml` writes the same as YAML with the source field
and line of each value as comments. Every field of the config is marked in
`report` (accounting.Report): honoured, approximated (what it became and
why) or not supported (why). This module does not import Model Garden.

Our box losses: `--set model.faster_rcnn.localization_loss=smooth_iou`
(both stages; `first_stage_localization_loss` / `second_stage_...` for
one), passed in as `box_losses` (pipeline.py's `Pipeline.box_losses`);
otherwise the OD API's smooth L1 (Huber, delta 1), per box
(`normalizer: boxes`), in both stages.
The model part is here; train_config, input readers and eval_config are in
`faster_rcnn_train.py`.
"""

from __future__ import annotations

import math

from keras_boxloss.odapi import faster_rcnn_schema as schema
from keras_boxloss.odapi.accounting import (APPROXIMATED, HONOURED, Report,
                                            Section)
from keras_boxloss.odapi.faster_rcnn_mapping import GardenMapping
from keras_boxloss.odapi.schema import check_names
from keras_boxloss.odapi.text_format import Message

EXPERIMENT = "fasterrcnn_resnetfpn_boxloss"
# `--set KEY=LOSS` (pipeline.py's Pipeline.box_losses) -> stages it sets.
BOX_LOSS_KEYS = {
    "model.faster_rcnn.localization_loss": ("rpn_box_loss", "frcnn_box_loss"),
    "model.faster_rcnn.first_stage_localization_loss": ("rpn_box_loss",),
    "model.faster_rcnn.second_stage_localization_loss": ("frcnn_box_loss",),
}
# Box losses the overrides may name (keras_boxloss.losses.registry.BOX_LOSSES).
BOX_LOSSES = ("huber", "iou", "giou", "diou", "ciou", "smooth_iou")
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
# Model Garden's FPN starts at level 2 (ResNet's C2) and its anchor size
# is a multiple of each level's stride (8: the FPN paper's 32 px at P2).
MIN_LEVEL, ANCHOR_SIZE = 2, 8.0
# A 4:3 image: what the keep-aspect-ratio resizer's canvas is fitted to.
TYPICAL_ASPECT = 4.0 / 3.0
NO_EFFECT = ("no effect here: an implementation switch of the OD API's "
             "graph (TPU/static shapes), same results")


def to_garden_overrides(root: Message, config_dir, report: Report,
                        box_losses: dict | None = None) -> dict:
    """The Model Garden overrides of a parsed pipeline.config holding
    `model.faster_rcnn` (see the module docstring)."""
    return garden_mapping(root, config_dir, report, box_losses).overrides


def to_garden_yaml(root: Message, config_dir, report: Report,
                   box_losses: dict | None = None) -> str:
    """`to_garden_overrides` as YAML, each value commented with its source
    field and line."""
    mapping = garden_mapping(root, config_dir, report, box_losses)
    return mapping.to_yaml(
        f"Model Garden experiment {EXPERIMENT}, imported from "
        f"{report.source}.\nTrain it: keras-boxloss garden-train "
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
    num_classes = _positive_int(frcnn, "num_classes", required=True)
    out.put("task.model.num_classes", num_classes + 1,
            f"{frcnn.path}.num_classes {num_classes} + background "
            f"(line {frcnn.line('num_classes')})")
    frcnn.honoured("num_classes", f"task.model.num_classes: "
                                  f"{num_classes + 1} (+ background)")
    fpn = _feature_extractor(frcnn.sub("feature_extractor"), out)
    levels = _anchors(frcnn.sub("first_stage_anchor_generator"), fpn, out)
    _resizer(frcnn.sub("image_resizer"), levels[1], out)
    _first_stage(frcnn, out)
    _crop(frcnn, out)
    _second_stage(frcnn, out)
    _box_loss(frcnn, out, box_losses)
    _implementation_switches(frcnn)
    return levels


def _fail(section: Section, name: str, expected: str, value) -> None:
    raise ValueError(f"{section.where(name)}: Expected "
                     f"`{section.path}.{name}` {expected}. "
                     f"Received: {name}={value!r}")


def _number(section: Section, name: str, default=None, low=None, high=None,
            integer=False, required=False):
    value = section.value(name, default)
    if value is None:
        if required:
            raise ValueError(f"{section.where()}: Expected "
                             f"`{section.path}.{name}` (it has no default). "
                             f"Received: no {name} field")
        return None
    kind = "an integer" if integer else "a number"
    ok = (not isinstance(value, bool) and isinstance(value, (int, float))
          and (not integer or isinstance(value, int))
          and math.isfinite(value)
          and (low is None or value >= low)
          and (high is None or value <= high))
    if not ok:
        bounds = "".join([f" >= {low}" if low is not None else "",
                          f" <= {high}" if high is not None else ""])
        _fail(section, name, f"to be {kind}{bounds}", value)
    return value


def _mark_or_default(section: Section, name: str, status: str,
                     note: str) -> None:
    """Marks `name`; when absent (its proto default applies), records the
    note at the enclosing message's line, so the user still sees it."""
    if section.has(name):
        section.report.mark(f"{section.path}.{name}",
                            section.message.field(name), status, note)
    elif section:
        section.report.mark(f"{section.path}.{name}", None, status,
                            f"(absent: the OD API default) {note}",
                            line=section.line())


def _positive_int(section: Section, name: str, default=None,
                  required=False):
    return _number(section, name, default, low=1, integer=True,
                   required=required)


def _put_field(frcnn: Section, name: str, out: GardenMapping,
               keys: tuple[str, ...], value_range=(0, None),
               integer=False) -> None:
    """A scalar with a proto default, copied to Model Garden `keys`."""
    default = schema.DEFAULTS[name]
    low, high = value_range
    value = _number(frcnn, name, default, low=low, high=high,
                    integer=integer)
    where = (f"line {frcnn.line(name)}" if frcnn.has(name)
             else "OD API default")
    for key in keys:
        out.put(key, value, f"{frcnn.path}.{name} ({where})")
    frcnn.honoured(name, ", ".join(f"{key}: {value}" for key in keys))


def _stages(frcnn: Section) -> None:
    stages = _number(frcnn, "number_of_stages", 2, integer=True)
    if stages == 1 or frcnn.value("first_stage_only", False) is True:
        name = ("first_stage_only" if frcnn.has("first_stage_only")
                else "number_of_stages")
        _fail(frcnn, name, "to build both stages (Model Garden's Faster "
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
        _fail(extractor, "type", "to be a Faster R-CNN feature extractor "
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
        _mark_or_default(
            extractor, "batch_norm_trainable", APPROXIMATED, "false (frozen batch norm) "
            "-> trained: Model Garden has no per-layer frozen batch norm "
            "(task.freeze_backbone would freeze every backbone weight)")
    extractor.approximated("pad_to_multiple", "Model Garden pads every "
                           "image to a multiple of 2^max_level")
    fpn = None
    levels = extractor.sub("fpn")
    if levels:
        fpn = (_number(levels, "min_level", 3, low=MIN_LEVEL, integer=True),
               _number(levels, "max_level", 7, low=MIN_LEVEL, integer=True))
        levels.honoured("min_level", f"task.model.min_level: {fpn[0]}")
        levels.honoured("max_level", f"task.model.max_level: {fpn[1]}")
        depth_ = _positive_int(levels, "additional_layer_depth", 256)
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
        decay = _number(norm, "decay", 0.999, low=0, high=1)
        epsilon = _number(norm, "epsilon", 0.001, low=0)
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


def hyperparams(conv: Section, out: GardenMapping, what: str) -> None:
    """Marks a Hyperparams message; its L2 weight goes to `out.l2`."""
    conv.honoured("op", f"{what}: Model Garden's layers of that kind")
    regularizer = conv.sub("regularizer")
    l2 = regularizer.sub("l2_regularizer")
    if l2:
        weight = _number(l2, "weight", 0.0, low=0)
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


# --- anchors and input size ------------------------------------------------

def _anchors(anchors: Section, fpn, out: GardenMapping) -> tuple[int, int]:
    kind, generator = anchors.oneof()
    if kind == "multiscale_anchor_generator":
        return _multiscale_anchors(generator, fpn, out)
    if kind != "grid_anchor_generator":
        raise ValueError(f"{anchors.where()}: Expected `{anchors.path}` to "
                         f"hold grid_anchor_generator or multiscale_anchor_"
                         f"generator (Faster R-CNN). Received: {kind}")
    return _grid_anchors(generator, out)


def _grid_anchors(grid: Section, out: GardenMapping) -> tuple[int, int]:
    """One feature map of anchors, sizes `scales x base`, -> one size per
    FPN level (sizes doubling level to level; exact when the original's
    do, otherwise the nearest octaves)."""
    scales = [float(s) for s in grid.values("scales")]
    ratios = [float(r) for r in grid.values("aspect_ratios")]
    if not scales or not ratios or min(scales + ratios) <= 0:
        raise ValueError(f"{grid.where()}: Expected `{grid.path}` to have "
                         f"positive scales and aspect_ratios. Received: "
                         f"scales={scales}, aspect_ratios={ratios}")
    d = schema.GRID_DEFAULTS
    height = _positive_int(grid, "height", d["height"])
    width = _positive_int(grid, "width", d["width"])
    # A non-square base anchor is the square of the same area with every
    # aspect ratio (width / height, both libraries) times width / height.
    base = math.sqrt(height * width)
    ratios = [r * width / height for r in ratios]
    sizes = sorted(s * base for s in scales)
    min_level = max(MIN_LEVEL, round(math.log2(sizes[0] / ANCHOR_SIZE)))
    anchor_size = sizes[0] / 2 ** min_level
    per_octave, levels, exact = _octaves(sizes)
    max_level = min_level + levels - 1
    made = [anchor_size * 2 ** (level + j / per_octave)
            for level in range(min_level, max_level + 1)
            for j in range(per_octave)]
    out.put("task.model.min_level", min_level, f"{grid.path}: sizes "
            f"{_px(sizes)} px -> one octave per level")
    out.put("task.model.max_level", max_level,
            f"anchors {_px(made)} px at P{min_level}-P{max_level}")
    out.put("task.model.anchor.anchor_size", anchor_size,
            f"{_px([sizes[0]])} px at P{min_level} (stride "
            f"{2 ** min_level})")
    out.put("task.model.anchor.num_scales", per_octave, "scales per level")
    out.put("task.model.anchor.aspect_ratios", ratios,
            f"{grid.path}.aspect_ratios (width / height)")
    where = (f"{_px(sizes)} px on one stride-"
             f"{grid.value('height_stride', d['height_stride'])} map")
    note = (f"{where} -> Model Garden's FPN anchors {_px(made)} px, "
            f"{per_octave} per level at P{min_level}-P{max_level}")
    if exact:
        grid.approximated("scales", note + ": the same sizes, each on its "
                          "own level's grid")
    else:
        grid.approximated("scales", note + ": the nearest octaves (Model "
                          "Garden's sizes double level to level)")
    grid.honoured("aspect_ratios", f"task.model.anchor.aspect_ratios: "
                                   f"{_px(ratios, 4)}")
    for name in ("height", "width"):
        grid.honoured(name, f"base anchor {height}x{width} folded into "
                            f"anchor_size and aspect_ratios")
    for name in ("height_stride", "width_stride"):
        grid.approximated(name, f"Model Garden's anchors sit on each FPN "
                          f"level's grid (strides {2 ** min_level}-"
                          f"{2 ** max_level})")
    for name in ("height_offset", "width_offset"):
        grid.approximated(name, "Model Garden centres anchors at half a "
                          "stride")
    return min_level, max_level


def _octaves(sizes: list[float]) -> tuple[int, int, bool]:
    """(sizes per octave, levels, exact) of sorted anchor sizes."""
    if len(sizes) == 1:
        return 1, 1, True
    steps = [b / a for a, b in zip(sizes, sizes[1:])]
    if min(steps) > 1:
        per_octave = max(1, round(1 / math.log2(steps[0])))
        factor = 2 ** (1 / per_octave)
        if (all(math.isclose(s, factor, rel_tol=1e-6) for s in steps)
                and len(sizes) % per_octave == 0):
            return per_octave, len(sizes) // per_octave, True
    levels = round(math.log2(sizes[-1] / sizes[0])) + 1
    return 1, levels, False


def _multiscale_anchors(multi: Section, fpn, out) -> tuple[int, int]:
    """RetinaNet-style anchors: Model Garden's own scheme, exactly."""
    d = schema.MULTISCALE_DEFAULTS
    min_level = _number(multi, "min_level", d["min_level"], low=MIN_LEVEL,
                        integer=True)
    max_level = _number(multi, "max_level", d["max_level"], low=min_level,
                        integer=True)
    if fpn is not None and tuple(fpn) != (min_level, max_level):
        raise ValueError(
            f"{multi.where('min_level')}: Expected `{multi.path}` levels "
            f"to be the feature extractor's fpn levels {fpn[0]}-{fpn[1]}. "
            f"Received: min_level={min_level}, max_level={max_level}")
    scale = _number(multi, "anchor_scale", d["anchor_scale"], low=0)
    per_octave = _positive_int(multi, "scales_per_octave",
                               d["scales_per_octave"])
    ratios = [float(r) for r in multi.values("aspect_ratios")]
    if not ratios:
        raise ValueError(f"{multi.where()}: Expected `{multi.path}."
                         f"aspect_ratios`. Received: none")
    for key, value, name in (
            ("task.model.min_level", min_level, "min_level"),
            ("task.model.max_level", max_level, "max_level"),
            ("task.model.anchor.anchor_size", scale, "anchor_scale"),
            ("task.model.anchor.num_scales", per_octave, "scales_per_octave"),
            ("task.model.anchor.aspect_ratios", ratios, "aspect_ratios")):
        out.put(key, value, f"{multi.path}.{name}")
        multi.honoured(name, f"{key}: {value}")
    multi.honoured("normalize_coordinates", "no effect (internal frame)")
    return min_level, max_level


def _px(values, digits=1) -> str:
    return ", ".join(f"{v:.{digits}f}".rstrip("0").rstrip(".")
                     for v in values)


def _resizer(resizer: Section, max_level: int, out: GardenMapping) -> None:
    kind, sub = resizer.oneof()
    multiple = 2 ** max_level  # Model Garden's input size divides by it
    if kind == "keep_aspect_ratio_resizer":
        low = _positive_int(sub, "min_dimension", 600)
        high = _positive_int(sub, "max_dimension", 1024)
        if low > high:
            _fail(sub, "min_dimension", f"to be <= max_dimension {high}",
                  low)
        side = min(high, round(low * TYPICAL_ASPECT))
        size = math.ceil(side / multiple) * multiple
        out.put("task.model.input_size", [size, size, 3],
                f"{sub.path} {low}/{high}: a {TYPICAL_ASPECT:.3g}:1 image "
                f"gets a long side of {side}; rounded up to a multiple of "
                f"2^max_level = {multiple}")
        exact = (low == high and size == high
                 and sub.value("pad_to_max_dimension", False) is True)
        if exact:
            for name in ("min_dimension", "max_dimension",
                         "pad_to_max_dimension"):
                sub.honoured(name, f"task.model.input_size: "
                                   f"[{size}, {size}, 3]")
        else:
            note = (f"task.model.input_size [{size}, {size}, 3]: Model "
                    f"Garden fits each image into one {size}x{size} padded "
                    f"canvas (long side {size}); the original scales the "
                    f"short side to {low} unless the long side would "
                    f"pass {high} (a 4:3 image: {side}x"
                    f"{round(side / TYPICAL_ASPECT)} there, {size}x"
                    f"{round(size / TYPICAL_ASPECT)} here)")
            for name in ("min_dimension", "max_dimension",
                         "pad_to_max_dimension"):
                sub.approximated(name, note)
        sub.not_supported("per_channel_pad_value", "Model Garden pads "
                          "with zeros")
    elif kind == "fixed_shape_resizer":
        height = _positive_int(sub, "height", 300)
        width = _positive_int(sub, "width", 300)
        shape = [math.ceil(height / multiple) * multiple,
                 math.ceil(width / multiple) * multiple, 3]
        out.put("task.model.input_size", shape, f"{sub.path} {height}x"
                f"{width}, rounded up to multiples of {multiple}")
        for name in ("height", "width"):
            sub.approximated(name, f"task.model.input_size {shape}: Model "
                             f"Garden keeps the aspect ratio and pads, "
                             f"instead of stretching to {height}x{width}")
    else:
        raise ValueError(
            f"{resizer.where()}: Expected `{resizer.path}` to hold "
            f"keep_aspect_ratio_resizer or fixed_shape_resizer. "
            f"Received: {kind}")
    method = str(sub.value("resize_method", "BILINEAR"))
    if method == "BILINEAR":
        sub.honoured("resize_method", "bilinear, as Model Garden's")
    else:
        sub.approximated("resize_method", f"bilinear (Model Garden's), not "
                                          f"{method}")
    if sub.value("convert_to_grayscale", False) is True:
        sub.not_supported("convert_to_grayscale", "Model Garden reads 3 "
                          "channels: images stay in colour")
    else:
        sub.honoured("convert_to_grayscale", "colour images")


# --- first stage, crops, second stage ---------------------------------------

def _first_stage(frcnn: Section, out: GardenMapping) -> None:
    roi = "task.model.roi_generator"
    parser = "task.train_data.parser"
    _put_field(frcnn, "first_stage_nms_score_threshold", out,
               (f"{roi}.pre_nms_score_threshold",
                f"{roi}.test_pre_nms_score_threshold"))
    _put_field(frcnn, "first_stage_nms_iou_threshold", out,
               (f"{roi}.nms_iou_threshold", f"{roi}.test_nms_iou_threshold"),
               (0, 1))
    _put_field(frcnn, "first_stage_max_proposals", out,
               (f"{roi}.num_proposals", f"{roi}.test_num_proposals"),
               (1, None), integer=True)
    _put_field(frcnn, "first_stage_minibatch_size", out,
               (f"{parser}.rpn_batch_size_per_im",), (1, None), integer=True)
    _put_field(frcnn, "first_stage_positive_balance_fraction", out,
               (f"{parser}.rpn_fg_fraction",), (0, 1))
    _put_field(frcnn, "first_stage_localization_loss_weight", out,
               ("task.losses.rpn_box_weight",))
    _put_field(frcnn, "first_stage_objectness_loss_weight", out,
               ("task.losses.rpn_score_weight",))
    _put_field(frcnn, "first_stage_box_predictor_depth", out,
               ("task.model.rpn_head.num_filters",), (1, None), integer=True)
    # The OD API's proposal target assigner matches at IoU 0.7 / 0.3.
    out.put(f"{parser}.rpn_match_threshold", 0.7,
            "the OD API's RPN matcher (fixed): positive IoU >= 0.7")
    out.put(f"{parser}.rpn_unmatched_threshold", 0.3,
            "negative IoU < 0.3")
    if frcnn.value("first_stage_box_predictor_kernel_size", 3) == 3:
        frcnn.honoured("first_stage_box_predictor_kernel_size",
                       "3x3, as Model Garden's RPN conv")
    else:
        frcnn.not_supported("first_stage_box_predictor_kernel_size",
                            "Model Garden's RPN conv is 3x3")
    if frcnn.value("first_stage_atrous_rate", 1) == 1:
        frcnn.honoured("first_stage_atrous_rate", "no dilation")
    else:
        frcnn.not_supported("first_stage_atrous_rate", "Model Garden's RPN "
                            "conv is not dilated")
    conv = frcnn.sub("first_stage_box_predictor_conv_hyperparams")
    hyperparams(conv, out, "the RPN conv")


def _crop(frcnn: Section, out: GardenMapping) -> None:
    crop = _positive_int(frcnn, "initial_crop_size", None)
    kernel = _positive_int(frcnn, "maxpool_kernel_size", None)
    stride = _positive_int(frcnn, "maxpool_stride", None)
    if crop is None:
        return  # Model Garden's 7x7 RoIAlign stays (the config has none)
    pooled = crop if not kernel else (crop - kernel) // (stride or 1) + 1
    if pooled < 1:
        _fail(frcnn, "maxpool_kernel_size", f"to leave a pooled crop of at "
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


def _second_stage(frcnn: Section, out: GardenMapping) -> None:
    _put_field(frcnn, "second_stage_batch_size", out,
               ("task.model.roi_sampler.num_sampled_rois",), (1, None),
               integer=True)
    _put_field(frcnn, "second_stage_balance_fraction", out,
               ("task.model.roi_sampler.foreground_fraction",), (0, 1))
    _put_field(frcnn, "second_stage_localization_loss_weight", out,
               ("task.losses.frcnn_box_weight",))
    _put_field(frcnn, "second_stage_classification_loss_weight", out,
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
        _fail(box, "predict_instance_masks", "to be false (the box-loss "
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
        _fail(box, "box_code_size", "to be 4", box.value("box_code_size"))
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
    score = _number(nms, "score_threshold", d["score_threshold"], low=0,
                    high=1)
    iou = _number(nms, "iou_threshold", d["iou_threshold"], low=0, high=1)
    per_class = _positive_int(nms, "max_detections_per_class",
                              d["max_detections_per_class"])
    total = _positive_int(nms, "max_total_detections",
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
    sigma = _number(nms, "soft_nms_sigma", 0.0, low=0)
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
        _mark_or_default(post, "score_converter", APPROXIMATED,
                          f"{converter} (raw logits as scores) -> softmax: "
                          f"Model Garden's scores are probabilities")
    if _number(post, "logit_scale", 1.0) == 1.0:
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
        if _number(sub, "logit_scale", 1.0) != 1.0:
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


def _box_loss(frcnn: Section, out: GardenMapping,
              box_losses: dict[str, str]) -> None:
    """Ours: each stage's box loss (absent: the OD API's smooth L1)."""
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
    for key in sorted(box_losses,
                      key=lambda k: k != "model.faster_rcnn.localization_loss"):
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

