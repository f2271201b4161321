"""SSD default boxes as the TF Object Detection API's SSD anchor generator
(`create_ssd_anchors`, as in `ssd_mobilenet_v2_coco`) makes them.

Layer `i` of `num_layers` has scale `s_i = min + (max - min) i / (L - 1)`
(and `s_L = 1`). Its boxes per location: one per aspect ratio `a`, of height
`s_i / sqrt(a)` and width `s_i sqrt(a)`, plus the extra box of scale
`sqrt(s_i s_{i+1})` and aspect ratio 1; the lowest layer instead has the
reduced set `(0.1, 1), (s_0, 2), (s_0, 0.5)`. Boxes are centred on the cells
of the layer's `H x W` grid, `((i + 0.5) / H, (j + 0.5) / W)`, in normalised
yxyx, ordered row, column, box (box fastest): the order of a head's
`(B, H, W, A * k)` output reshaped to `(B, H * W * A, k)`.
torchvision's `DefaultBoxGenerator` is the same construction.
"""

import inspect
import math
import typing

import numpy as np

# The anchor generator defaults of `ssd_mobilenet_v2_coco`; their one home
# (the training config's defaults import them).
DEFAULT_MIN_SCALE = 0.2
DEFAULT_MAX_SCALE = 0.95
DEFAULT_ASPECT_RATIOS = (1.0, 2.0, 0.5, 3.0, 1.0 / 3.0)


def layer_box_shapes(
        num_layers: int = 6, min_scale: float = DEFAULT_MIN_SCALE,
        max_scale: float = DEFAULT_MAX_SCALE,
        aspect_ratios: typing.Sequence[float] = DEFAULT_ASPECT_RATIOS,
        reduce_boxes_in_lowest_layer: bool = True,
        interpolated_scale_aspect_ratio: float = 1.0,
) -> typing.List[typing.List[typing.Tuple[float, float]]]:
    """Per layer, the list of `(height, width)` of its boxes per location."""
    if num_layers < 1:
        raise ValueError(f"Expected `num_layers` >= 1. "
                         f"Received: num_layers={num_layers}")
    if not 0 < min_scale <= max_scale <= 1:
        raise ValueError(
            "Expected 0 < min_scale <= max_scale <= 1. "
            f"Received: min_scale={min_scale}, max_scale={max_scale}")
    if num_layers == 1:
        scales = [min_scale]
    else:
        scales = [min_scale + (max_scale - min_scale) * i / (num_layers - 1)
                  for i in range(num_layers)]
    scales.append(1.0)
    layers = []
    for i in range(num_layers):
        scale, next_scale = scales[i], scales[i + 1]
        if i == 0 and reduce_boxes_in_lowest_layer:
            specs = [(0.1, 1.0), (scale, 2.0), (scale, 0.5)]
        else:
            specs = [(scale, ratio) for ratio in aspect_ratios]
            if interpolated_scale_aspect_ratio > 0:
                specs.append((math.sqrt(scale * next_scale),
                              interpolated_scale_aspect_ratio))
        layers.append([(s / math.sqrt(a), s * math.sqrt(a)) for s, a in specs])
    return layers


def anchor_settings(**shape_kwargs) -> dict:
    """`shape_kwargs` completed with `layer_box_shapes`' defaults, as plain
    JSON values: what a saved SSD records, so that loading it rebuilds the
    same default boxes even if a default changed since. An unknown name is
    a `TypeError`, as the call would be."""
    parameters = inspect.signature(layer_box_shapes).parameters
    names = [name for name in parameters if name != "num_layers"]
    unknown = sorted(set(shape_kwargs) - set(names))
    if unknown:
        raise TypeError(
            f"Expected anchor settings among {names}. Received: "
            f"{', '.join(f'{n}={shape_kwargs[n]!r}' for n in unknown)}")
    settings = {name: shape_kwargs.get(name, parameters[name].default)
                for name in names}
    settings["aspect_ratios"] = [float(a) for a in settings["aspect_ratios"]]
    return settings


def ssd_default_boxes(
        feature_map_sizes: typing.Sequence[typing.Tuple[int, int]],
        **shape_kwargs) -> np.ndarray:
    """All default boxes, `(num_anchors, 4)` float32 normalised yxyx.

    Args:
        feature_map_sizes: `[(H, W), ...]`, one per layer.
        **shape_kwargs: `layer_box_shapes` arguments (scales, ratios).
    """
    shapes = layer_box_shapes(num_layers=len(feature_map_sizes),
                              **shape_kwargs)
    boxes = []
    for (height, width), sizes in zip(feature_map_sizes, shapes):
        yc, xc = np.meshgrid((np.arange(height) + 0.5) / height,
                             (np.arange(width) + 0.5) / width, indexing="ij")
        centres = np.stack([yc, xc], -1)[:, :, None, :]       # H, W, 1, 2
        half = 0.5 * np.asarray(sizes)[None, None, :, :]       # 1, 1, A, 2
        layer = np.concatenate([centres - half, centres + half], -1)
        boxes.append(layer.reshape(-1, 4))
    return np.concatenate(boxes).astype("float32")


def boxes_per_location(num_layers: int = 6,
                       **shape_kwargs) -> typing.List[int]:
    """How many boxes each layer has per location (its head's `A`)."""
    return [len(s) for s in layer_box_shapes(num_layers, **shape_kwargs)]
