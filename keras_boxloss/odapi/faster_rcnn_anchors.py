"""`model.faster_rcnn` anchors and image resizer -> Model Garden's FPN
levels, anchor config and input size (see faster_rcnn.py).

The OD API's grid anchors sit on one feature map (stride 16): sizes
`scales x base`. Model Garden has one size per FPN level (or
`num_scales` per octave), `anchor_size x stride`: sizes that double become
levels exactly, others the nearest octaves (said so). Its parser fits each
image into one padded square canvas.
"""

from __future__ import annotations

import math

from keras_boxloss.odapi import faster_rcnn_schema as schema
from keras_boxloss.odapi.accounting import Section
from keras_boxloss.odapi.faster_rcnn_mapping import (GardenMapping, fail,
                                                     number, positive_int)

# Model Garden's FPN starts at level 2 (ResNet's C2) and its anchor size
# is a multiple of each level's stride (8: the FPN paper's 32 px at P2).
MIN_LEVEL, ANCHOR_SIZE = 2, 8.0
# A 4:3 image: what the keep-aspect-ratio resizer's canvas is fitted to.
TYPICAL_ASPECT = 4.0 / 3.0


def map_anchors(anchors: Section, fpn, out: GardenMapping) -> tuple[int, int]:
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
    height = positive_int(grid, "height", d["height"])
    width = positive_int(grid, "width", d["width"])
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
    min_level = number(multi, "min_level", d["min_level"], low=MIN_LEVEL,
                       integer=True)
    max_level = number(multi, "max_level", d["max_level"], low=min_level,
                       integer=True)
    if fpn is not None and tuple(fpn) != (min_level, max_level):
        raise ValueError(
            f"{multi.where('min_level')}: Expected `{multi.path}` levels "
            f"to be the feature extractor's fpn levels {fpn[0]}-{fpn[1]}. "
            f"Received: min_level={min_level}, max_level={max_level}")
    scale = number(multi, "anchor_scale", d["anchor_scale"], low=0)
    per_octave = positive_int(multi, "scales_per_octave",
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


def map_resizer(resizer: Section, max_level: int, out: GardenMapping) -> None:
    kind, sub = resizer.oneof()
    multiple = 2 ** max_level  # Model Garden's input size divides by it
    if kind == "keep_aspect_ratio_resizer":
        low = positive_int(sub, "min_dimension", 600)
        high = positive_int(sub, "max_dimension", 1024)
        if low > high:
            fail(sub, "min_dimension", f"to be <= max_dimension {high}",
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
        height = positive_int(sub, "height", 300)
        width = positive_int(sub, "width", 300)
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
