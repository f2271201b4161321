"""Shared box math, written once, element-wise on `[..., 4]`.

Every IoU-family loss builds on the helpers here, in the order of the papers:
`intersection_union` -> `box_iou` -> `generalized_box_iou` (adds the
enclosing box) -> `distance_box_iou` (adds the centre distance) ->
`complete_box_iou` (adds the aspect-ratio term). All of them take boxes in
`"xyxy"` and broadcast over the leading dimensions; `to_xyxy` and
`decode_deltas` bring other formats there first.

Numerics: widths and heights are clamped at zero (an inverted box is an empty
box, not a flipped one), and every division has `eps` added to its
denominator, so no helper can produce NaN or inf for finite input, in value or
gradient. No helper uses `where` to hide a bad value: the values are never bad
(`wasserstein_distance` selects its square root's input, not its output, at
0, where the root's gradient is infinite).

Gradients: the private formulas work on `(..., 1)` columns through
`keras_boxloss.dual` (`dm`), so the same code gives values and, in forward
mode, derivatives. GIoU, DIoU, EIoU, Shape-IoU and CIoU differentiate that
way (`_per_box_differentiated`): one vectorised XLA kernel for the backward
pass instead of a scalar one (see `dual`). SIoU keeps autodiff on the
coordinates as rows under XLA (`_per_box_transposed`). The others keep the
backend's autodiff on columns (`_per_box_autodiff`), which measured as fast
or faster for them.
"""

import functools
import math
import numbers

from typing import Any, Sequence, Tuple

from keras import ops
from keras.utils import bounding_boxes

from keras_boxloss import dual as dm

# A backend tensor, NumPy array or nested list of numbers: `keras.ops` accepts
# all of them.
Tensor = Any

# Formats that `keras.utils.bounding_boxes.convert_format` understands.
KERAS_BOX_FORMATS = ("xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw")
# "yxhw" is the Smooth IoU paper's {y1, x1, h, w}; Keras has no such format.
BOX_FORMATS = KERAS_BOX_FORMATS + ("yxhw",)
# The TF Object Detection API / Model Garden Faster R-CNN box coder.
DEFAULT_SCALE_FACTORS = (10.0, 10.0, 5.0, 5.0)
# Largest log-size a delta may decode to, as in Model Garden and Detectron
# (`BBOX_XFORM_CLIP`): exp() of an unbounded prediction would overflow.
MAX_LOG_SIZE = math.log(1000.0 / 16.0)


def compute_dtype(x: Tensor) -> str:
    """float64 stays float64; everything else is computed in float32."""
    dtype = ops.dtype(x) if hasattr(x, "dtype") else "float32"
    return "float64" if dtype == "float64" else "float32"


def to_xyxy(boxes: Tensor, box_format: str, dtype: str = "float32") -> Tensor:
    """Converts boxes in `box_format` (see `BOX_FORMATS`) to `"xyxy"`."""
    if box_format == "yxhw":
        y1, x1, h, w = dm.columns(ops.cast(boxes, dtype))
        return ops.concatenate([x1, y1, x1 + w, y1 + h], axis=-1)
    return bounding_boxes.convert_format(
        boxes, source=box_format, target="xyxy", dtype=dtype
    )


def decode_deltas(deltas: Tensor, anchors: Tensor = None,
                  scale_factors: Sequence[float] = DEFAULT_SCALE_FACTORS,
                  anchor_format: str = "yxyx") -> Tensor:
    """Decodes `[ty, tx, th, tw]` deltas against anchors into xyxy boxes.

    This is the Faster R-CNN / TF Object Detection API box coder:
    `yc = ty / sy * ha + yca`, `h = exp(th / sh) * ha` (likewise for x, w).
    SSD's variances `(0.1, 0.1, 0.2, 0.2)` are `1 / scale_factors`.

    Args:
        deltas: `[..., 4]` encoded boxes `[ty, tx, th, tw]`.
        anchors: `[..., 4]` anchors broadcastable to `deltas`, in
            `anchor_format`. `None` decodes against the unit anchor centred at
            the origin, which is enough for IoU and GIoU: both are invariant
            under translation and per-axis scaling, and decoding two deltas
            against the same anchor is exactly such a map of decoding them
            against the unit anchor.
        scale_factors: the coder's `(sy, sx, sh, sw)`.
        anchor_format: the format of `anchors`.

    Returns:
        `[..., 4]` boxes in `"xyxy"`.
    """
    dtype = compute_dtype(deltas)
    deltas = ops.cast(deltas, dtype)
    scaled = deltas / ops.convert_to_tensor(scale_factors, dtype)
    ty, tx, th, tw = dm.columns(scaled)
    half_h = 0.5 * ops.exp(ops.minimum(th, MAX_LOG_SIZE))
    half_w = 0.5 * ops.exp(ops.minimum(tw, MAX_LOG_SIZE))
    yc, xc = ty, tx
    if anchors is not None:
        ax1, ay1, ax2, ay2 = dm.columns(to_xyxy(anchors, anchor_format, dtype))
        ha, wa = ay2 - ay1, ax2 - ax1
        yc = ty * ha + 0.5 * (ay1 + ay2)
        xc = tx * wa + 0.5 * (ax1 + ax2)
        half_h, half_w = half_h * ha, half_w * wa
    return ops.concatenate(
        [xc - half_w, yc - half_h, xc + half_w, yc + half_h], axis=-1)


def encode_deltas(boxes: Tensor, anchors: Tensor,
                  scale_factors: Sequence[float] = DEFAULT_SCALE_FACTORS,
                  box_format: str = "xyxy", anchor_format: str = "yxyx",
                  eps: float = 1e-7) -> Tensor:
    """Inverse of `decode_deltas`: boxes against anchors to `[ty, tx, th, tw]`.

    Sizes are floored at `eps` before the logarithm, so a degenerate box
    encodes to a large negative, finite log-size.
    """
    dtype = compute_dtype(boxes)
    x1, y1, x2, y2 = ops.unstack(to_xyxy(boxes, box_format, dtype), 4, -1)
    ax1, ay1, ax2, ay2 = ops.unstack(to_xyxy(anchors, anchor_format, dtype),
                                     4, -1)
    ha, wa = ay2 - ay1, ax2 - ax1
    h = ops.maximum(y2 - y1, eps)
    w = ops.maximum(x2 - x1, eps)
    deltas = ops.stack([
        (0.5 * (y1 + y2) - 0.5 * (ay1 + ay2)) / ha,
        (0.5 * (x1 + x2) - 0.5 * (ax1 + ax2)) / wa,
        ops.log(h / ha),
        ops.log(w / wa),
    ], axis=-1)
    return deltas * ops.convert_to_tensor(scale_factors, dtype)


def _per_box(value):
    """`(..., 1)` -> `(...)`: the last step of every public helper."""
    return ops.squeeze(value, -1)


def _area(box):
    x1, y1, x2, y2 = box
    return dm.relu(x2 - x1) * dm.relu(y2 - y1)


def _intersection_union(t, p):
    inter_w = dm.relu(dm.minimum(t[2], p[2]) - dm.maximum(t[0], p[0]))
    inter_h = dm.relu(dm.minimum(t[3], p[3]) - dm.maximum(t[1], p[1]))
    intersection = inter_w * inter_h
    return intersection, _area(t) + _area(p) - intersection


def _enclosing(t, p):
    # Over all four corners, whatever their order: for an inverted box the
    # box "between" x1 > x2 could otherwise shrink the enclosing box below
    # the centre distance, and DIoU's rho^2 / c^2 would explode (5e4 for
    # [.9, .9, .6, .6] against the point .8). With every corner inside, both
    # centres are too, so rho <= c and the penalties stay in [0, 1].
    return (dm.minimum(dm.minimum(t[0], t[2]), dm.minimum(p[0], p[2])),
            dm.minimum(dm.minimum(t[1], t[3]), dm.minimum(p[1], p[3])),
            dm.maximum(dm.maximum(t[0], t[2]), dm.maximum(p[0], p[2])),
            dm.maximum(dm.maximum(t[1], t[3]), dm.maximum(p[1], p[3])))


def _iou(t, p, eps):
    intersection, union = _intersection_union(t, p)
    return intersection / (union + eps), union


def _centre_distance_ratio(t, p, eps):
    """rho^2(b, b_gt) / c^2: squared centre distance over the squared
    diagonal of the enclosing box (the DIoU penalty)."""
    cx1, cy1, cx2, cy2 = _enclosing(t, p)
    diagonal = dm.square(cx2 - cx1) + dm.square(cy2 - cy1)
    # Differences of matching corners first: exactly antisymmetric in
    # float, and better conditioned than differences of coordinate sums.
    distance = 0.25 * (dm.square((t[0] - p[0]) + (t[2] - p[2]))
                       + dm.square((t[1] - p[1]) + (t[3] - p[3])))
    return distance / (diagonal + eps)


def _aspect_ratio_term(t, p, eps):
    # atan(a) - atan(b) = atan((a - b) / (1 + a b)) for a, b >= 0, with
    # a = w_t / (h_t + eps), b = w_p / (h_p + eps) multiplied out: the same
    # value as the two angles' difference with one arctan instead of two.
    # The denominator is at least eps^2, unless that underflows (float16,
    # or a tiny eps): then both boxes are points and the angle is 0, as
    # the two ratios' 0 / eps was. The division's input is selected.
    w_t, h_t = dm.relu(t[2] - t[0]), dm.relu(t[3] - t[1]) + eps
    w_p, h_p = dm.relu(p[2] - p[0]), dm.relu(p[3] - p[1]) + eps
    denominator = h_t * h_p + w_t * w_p
    positive = ops.greater(dm.value(denominator), 0.0)
    ratio = (w_t * h_p - w_p * h_t) / dm.where(positive, denominator, 1.0)
    angle = dm.arctan(dm.where(positive, ratio, 0.0))
    return (4.0 / math.pi**2) * dm.square(angle)


def box_area(boxes: Tensor) -> Tensor:
    """Area of xyxy boxes; inverted sides count as zero."""
    return _per_box(_area(dm.columns(boxes)))


def intersection_union(y_true: Tensor,
                       y_pred: Tensor) -> Tuple[Tensor, Tensor]:
    """Intersection and union areas of two xyxy boxes, element-wise."""
    intersection, union = _intersection_union(dm.columns(y_true),
                                              dm.columns(y_pred))
    return _per_box(intersection), _per_box(union)


def enclosing_box(y_true: Tensor, y_pred: Tensor) -> Tensor:
    """Smallest xyxy box that holds both boxes, element-wise."""
    return ops.concatenate(_enclosing(dm.columns(y_true), dm.columns(y_pred)),
                           axis=-1)


def _per_box_differentiated(formula, y_true, y_pred, forward=False,
                            **settings):
    """`formula(t, p, **settings)` (column tuples -> `(..., 1)`) per box,
    `(...)`, with its gradient in forward mode (`dual.lane_gradient`: one
    vectorised XLA kernel instead of a scalar one; `forward`: see there)."""
    y_true, y_pred = ops.convert_to_tensor(y_true), ops.convert_to_tensor(
        y_pred)
    return dm.lane_gradient(functools.partial(formula, **settings), y_true,
                            y_pred, forward=forward)


def _per_box_autodiff(formula, y_true, y_pred, **settings):
    """`formula` per box with the backend's own gradient: for the formulas
    whose lane gradient measured no faster under XLA (1e6 boxes, see
    docs/benchmarks.md). IoU's and MPDIoU's autodiff is already one
    vectorised kernel; Inner-IoU and NWD gained nothing; in Alpha-IoU (and
    SIoU, see `_per_box_transposed`) XLA still gives divisions and
    transcendental functions used twice per lane kernels of their own, at
    the lanes' shape, which made them slower."""
    return _per_box(formula(dm.columns(y_true), dm.columns(y_pred), **settings))


def _per_box_transposed(formula, y_true, y_pred, **settings):
    """`formula` per box with the backend's autodiff, under XLA on the
    coordinates moved to the first axis (`(4, ...)`, each side a contiguous
    row): the gradient's concatenate then joins 4 rows, each written by a
    vectorised loop of its own, where on `(..., 1)` columns it interleaves
    them and XLA's CPU code is scalar once the formula is long (see `dual`).
    Two more passes over the boxes (the transposes); measured for SIoU at
    1e6 boxes: 17-21x the floor -> 8.5-8.8x. Elsewhere (op by op) the
    columns."""
    if not dm.compiled_by_xla():
        return _per_box_autodiff(formula, y_true, y_pred, **settings)
    rows_true = tuple(ops.split(ops.moveaxis(y_true, -1, 0), 4, axis=0))
    rows_pred = tuple(ops.split(ops.moveaxis(y_pred, -1, 0), 4, axis=0))
    return ops.squeeze(formula(rows_true, rows_pred, **settings), 0)


def box_iou(y_true: Tensor, y_pred: Tensor,
            eps: float = 1e-7) -> Tensor:
    """IoU = |A n B| / (|A u B| + eps), element-wise; in [0, 1]."""
    return _per_box_autodiff(_box_iou, y_true, y_pred, eps=eps)


def _box_iou(t, p, eps):
    return _iou(t, p, eps)[0]


def _generalized_box_iou(t, p, eps):
    iou, union = _iou(t, p, eps)
    enclosing = _area(_enclosing(t, p))
    return iou - (enclosing - union) / (enclosing + eps)


def generalized_box_iou(y_true: Tensor, y_pred: Tensor,
                        eps: float = 1e-7) -> Tensor:
    """GIoU = IoU - |C \\ (A u B)| / |C| (Rezatofighi et al., 2019)."""
    return _per_box_differentiated(_generalized_box_iou, y_true, y_pred,
                                   eps=eps)


def _distance_box_iou(t, p, eps):
    return _iou(t, p, eps)[0] - _centre_distance_ratio(t, p, eps)


def distance_box_iou(y_true: Tensor, y_pred: Tensor,
                     eps: float = 1e-7) -> Tensor:
    """DIoU = IoU - rho^2 / c^2 (Zheng et al., 2020)."""
    return _per_box_differentiated(_distance_box_iou, y_true, y_pred,
                                   eps=eps)


def aspect_ratio_term(y_true: Tensor, y_pred: Tensor,
                      eps: float = 1e-7) -> Tensor:
    """CIoU's v = 4 / pi^2 (atan(w_t / h_t) - atan(w_p / h_p))^2."""
    return _per_box_autodiff(_aspect_ratio_term, y_true, y_pred, eps=eps)


def complete_box_iou(y_true: Tensor, y_pred: Tensor,
                     eps: float = 1e-7) -> Tensor:
    """CIoU = DIoU - alpha * v, alpha = v / (1 - IoU + v) held constant
    (Zheng et al., 2020: alpha is a trade-off weight, not a gradient path)."""
    return _per_box_differentiated(_complete_box_iou, y_true, y_pred,
                                   forward=True, eps=eps)


def _complete_box_iou(t, p, eps):
    iou = _iou(t, p, eps)[0]
    v = _aspect_ratio_term(t, p, eps)
    alpha = dm.stop_gradient(v / (1.0 - iou + v + eps))
    return iou - _centre_distance_ratio(t, p, eps) - alpha * v


def pairwise_iou(boxes_a: Tensor, boxes_b: Tensor,
                 eps: float = 1e-7) -> Tensor:
    """IoU of every box in `[N, 4]` with every box in `[M, 4]` -> `[N, M]`.

    Only for anchor matching; losses compare boxes element-wise.
    """
    return box_iou(ops.expand_dims(boxes_a, -2), ops.expand_dims(boxes_b, -3),
                   eps)


def _inner(box, ratio):
    """Inner-IoU's auxiliary box: the box scaled about its centre by `ratio`,
    `x1' = cx - ratio w / 2 = a x1 + b x2` with `a = (1 + ratio) / 2`,
    `b = (1 - ratio) / 2` (likewise the other sides): a fixed linear map.

    An inverted box maps to an inverted box (`x2' - x1' = ratio (x2 - x1)`),
    empty as the inverted box is, so its IoU with anything stays 0 and its
    gradient through the clamped sides 0. Written as the map, not through
    the centre and a clamped size: the gradient's per-side expression stays
    as small as IoU's, which XLA vectorises (see docs/benchmarks.md)."""
    a, b = 0.5 * (1.0 + ratio), 0.5 * (1.0 - ratio)
    x1, y1, x2, y2 = box
    return a * x1 + b * x2, a * y1 + b * y2, b * x1 + a * x2, b * y1 + a * y2


def _corner_distances(t, p):
    """(d1^2, d2^2): squared distances between the top-left corners and
    between the bottom-right corners (MPDIoU)."""
    return (dm.square(t[0] - p[0]) + dm.square(t[1] - p[1]),
            dm.square(t[2] - p[2]) + dm.square(t[3] - p[3]))


def _wasserstein_squared(t, p):
    """W_2^2 of the boxes as 2-D Gaussians N((cx, cy), diag(w^2, h^2) / 4):
    ||(cx, cy, w / 2, h / 2)_t - (cx, cy, w / 2, h / 2)_p||^2 (NWD)."""
    centre = 0.25 * (dm.square((t[0] - p[0]) + (t[2] - p[2]))
                     + dm.square((t[1] - p[1]) + (t[3] - p[3])))
    size = 0.25 * (dm.square(dm.relu(t[2] - t[0]) - dm.relu(p[2] - p[0]))
                   + dm.square(dm.relu(t[3] - t[1]) - dm.relu(p[3] - p[1])))
    return centre + size


def _shape_weights(t, scale, eps):
    """Shape-IoU's (ww, hh) = 2 (w^s, h^s) / (w^s + h^s) of the target,
    written 2 sigmoid(+-s (ln w - ln h)): w^s overflows float32 for large
    boxes and s, and the gradient of w^s at w = 0 is 0 * inf for s = 0."""
    if isinstance(scale, numbers.Real) and scale == 0:
        # 2 sigmoid(0) = 1 for both: the default costs no log or sigmoid
        # (under XLA each was a pass of its own; 1e6 boxes: 8.4x -> 6.8x
        # the floor)
        return 1.0, 1.0
    log_ratio = (dm.log(dm.relu(t[2] - t[0]) + eps)
                 - dm.log(dm.relu(t[3] - t[1]) + eps))
    return (2.0 * dm.sigmoid(scale * log_ratio),
            2.0 * dm.sigmoid(-scale * log_ratio))


def inner_box_iou(y_true: Tensor, y_pred: Tensor, ratio: float = 0.75,
                  eps: float = 1e-7) -> Tensor:
    """IoU of the boxes scaled about their centres by `ratio` (Inner-IoU,
    Zhang et al., 2023); like IoU, invariant under translation and per-axis
    scaling."""
    return _per_box_autodiff(_inner_box_iou, y_true, y_pred,
                             ratio=ratio, eps=eps)


def _inner_box_iou(t, p, ratio, eps):
    return _iou(_inner(t, ratio), _inner(p, ratio), eps)[0]


def mpd_box_iou(y_true: Tensor, y_pred: Tensor,
                image_size: Sequence[float] = (1.0, 1.0),
                eps: float = 1e-7) -> Tensor:
    """MPDIoU = IoU - d1^2 / (w^2 + h^2) - d2^2 / (w^2 + h^2) (Ma and Xu,
    2023), `(h, w) = image_size`, in the boxes' units."""
    return _per_box_autodiff(_mpd_box_iou, y_true, y_pred,
                             image_size=image_size, eps=eps)


def _mpd_box_iou(t, p, image_size, eps):
    height, width = image_size
    d1, d2 = _corner_distances(t, p)
    return (_iou(t, p, eps)[0]
            - (d1 + d2) / (width**2 + height**2 + eps))


def wasserstein_distance(y_true: Tensor, y_pred: Tensor) -> Tensor:
    """W_2 of the boxes as 2-D Gaussians (NWD, Wang et al., 2021).

    The square root's gradient at 0 is infinite, so the input is masked
    (identical boxes take sqrt(1) in a branch that is not selected) and the
    distance there is 0 with gradient 0, a subgradient of the norm.
    """
    return _per_box_autodiff(_wasserstein_distance, y_true, y_pred)


def _wasserstein_distance(t, p):
    squared = _wasserstein_squared(t, p)
    positive = ops.greater(dm.value(squared), 0.0)
    safe = dm.where(positive, squared, ops.ones_like(dm.value(squared)))
    return dm.where(positive, dm.sqrt(safe),
                    ops.zeros_like(dm.value(squared)))


def shape_box_iou(y_true: Tensor, y_pred: Tensor, scale: float = 0.0,
                  eps: float = 1e-7) -> Tensor:
    """Shape-IoU = IoU - distance^shape - 0.5 Omega^shape (Zhang and Zhang,
    2023): the DIoU distance with the x and y terms weighted by the target's
    shape, hh and ww, plus the shape cost
    `sum_{w, h} (1 - exp(-omega))^4`, `omega_w = hh |w_p - w_t| /
    max(w_p, w_t)`, `omega_h = ww |h_p - h_t| / max(h_p, h_t)`."""
    return _per_box_differentiated(_shape_box_iou, y_true, y_pred,
                                   scale=scale, eps=eps)


def _shape_box_iou(t, p, scale, eps):
    ww, hh = _shape_weights(t, scale, eps)
    cx1, cy1, cx2, cy2 = _enclosing(t, p)
    diagonal = dm.square(cx2 - cx1) + dm.square(cy2 - cy1)
    dx = 0.25 * dm.square((t[0] - p[0]) + (t[2] - p[2]))
    dy = 0.25 * dm.square((t[1] - p[1]) + (t[3] - p[3]))
    distance = (hh * dx + ww * dy) / (diagonal + eps)
    w_t, h_t = dm.relu(t[2] - t[0]), dm.relu(t[3] - t[1])
    w_p, h_p = dm.relu(p[2] - p[0]), dm.relu(p[3] - p[1])
    omega_w = hh * dm.abs(w_p - w_t) / (dm.maximum(w_p, w_t) + eps)
    omega_h = ww * dm.abs(h_p - h_t) / (dm.maximum(h_p, h_t) + eps)
    # 1 - exp(-omega) as -expm1(-omega); the 4th power by squaring, which
    # has a finite gradient at 0 (a float pow need not).
    cost = (dm.square(dm.square(-dm.expm1(-omega_w)))
            + dm.square(dm.square(-dm.expm1(-omega_h))))
    return _iou(t, p, eps)[0] - distance - 0.5 * cost



def _power(x, exponent, eps):
    """x ** exponent for x >= 0, with a finite gradient everywhere.

    The gradient of x ** a at 0 is infinite for a < 1 (and NaN through
    `pow` in some backends for any non-integer a), so below `eps` the power
    continues as the line x * eps ** (a - 1), which meets it at eps: the
    value is within eps ** a of the true power and the gradient is bounded
    by max(a, 1) * eps ** (a - 1). The input is masked, not the output.
    """
    above = ops.greater(dm.value(x), eps)
    safe = dm.where(above, x, ops.ones_like(dm.value(x)))
    return dm.where(above, dm.power(safe, exponent),
                     x * float(eps) ** (exponent - 1.0))


def _size_difference_ratios(t, p, eps):
    """EIoU's (w - w_gt)^2 / C_w^2 and (h - h_gt)^2 / C_h^2, C_w and C_h the
    enclosing box's width and height."""
    cx1, cy1, cx2, cy2 = _enclosing(t, p)
    dw = dm.relu(p[2] - p[0]) - dm.relu(t[2] - t[0])
    dh = dm.relu(p[3] - p[1]) - dm.relu(t[3] - t[1])
    return (dm.square(dw) / (dm.square(cx2 - cx1) + eps),
            dm.square(dh) / (dm.square(cy2 - cy1) + eps))


def _siou_costs(t, p, theta, eps):
    """SIoU's distance cost Delta (with the angle cost Lambda folded in) and
    shape cost Omega (Gevorgyan, 2022).

    Lambda = 1 - 2 sin^2(arcsin(c_h / sigma) - pi / 4) is cos(2 alpha -
    pi / 2) = sin(2 alpha) = 2 c_w c_h / sigma^2, with c_w, c_h the centre
    offsets along x and y and sigma the centre distance: the same value
    without arcsin (whose gradient is infinite at 1) or sqrt (infinite at 0).
    """
    dx = 0.5 * ((p[0] - t[0]) + (p[2] - t[2]))
    dy = 0.5 * ((p[1] - t[1]) + (p[3] - t[3]))
    # Not `/ (sigma^2 + eps)`: as the boxes converge both sides of the
    # ratio go to 0 and eps would bias it (1/6 instead of 1 for a diagonal
    # offset of 1e-4). Guard the division instead: centres closer than eps
    # count as aligned (Lambda = 0), which changes the value by at most
    # gamma's 1 times rho < eps^2 / c^2 and keeps the division's
    # derivative (1 / sigma^4) finite in float32.
    sigma2 = dm.square(dx) + dm.square(dy)
    apart = ops.greater(dm.value(sigma2), eps * eps)
    angle = dm.where(apart, 2.0 * dm.abs(dx) * dm.abs(dy)
                     / dm.where(apart, sigma2, 1.0), 0.0)
    gamma = 2.0 - angle
    cx1, cy1, cx2, cy2 = _enclosing(t, p)
    rho_x = dm.square(dx) / (dm.square(cx2 - cx1) + eps)
    rho_y = dm.square(dy) / (dm.square(cy2 - cy1) + eps)
    # 1 - exp(-z) as -expm1(-z): exact for small z.
    distance = -dm.expm1(-gamma * rho_x) - dm.expm1(-gamma * rho_y)
    w_t, h_t = dm.relu(t[2] - t[0]), dm.relu(t[3] - t[1])
    w_p, h_p = dm.relu(p[2] - p[0]), dm.relu(p[3] - p[1])
    omega_w = dm.abs(w_p - w_t) / (dm.maximum(w_p, w_t) + eps)
    omega_h = dm.abs(h_p - h_t) / (dm.maximum(h_p, h_t) + eps)
    shape = (_power(-dm.expm1(-omega_w), theta, eps)
             + _power(-dm.expm1(-omega_h), theta, eps))
    return distance, shape


def efficient_box_iou(y_true: Tensor, y_pred: Tensor,
                      eps: float = 1e-7) -> Tensor:
    """EIoU = IoU - rho^2 / c^2 - (w - w_gt)^2 / C_w^2 - (h - h_gt)^2 / C_h^2
    (Zhang et al., 2021): DIoU with CIoU's aspect ratio replaced by the
    width and height differences over the enclosing box's."""
    return _per_box_differentiated(_efficient_box_iou, y_true, y_pred,
                                   eps=eps)


def _efficient_box_iou(t, p, eps):
    width, height = _size_difference_ratios(t, p, eps)
    return (_iou(t, p, eps)[0] - _centre_distance_ratio(t, p, eps)
            - width - height)


def scylla_box_iou(y_true: Tensor, y_pred: Tensor, theta: float = 4.0,
                   eps: float = 1e-7) -> Tensor:
    """SIoU = IoU - (Delta + Omega) / 2 (Gevorgyan, 2022): the distance cost
    Delta, shaped by the angle cost, and the shape cost Omega with exponent
    `theta`; see `_siou_costs`."""
    return _per_box_transposed(_scylla_box_iou, y_true, y_pred,
                               theta=theta, eps=eps)


def _scylla_box_iou(t, p, theta, eps):
    distance, shape = _siou_costs(t, p, theta, eps)
    return _iou(t, p, eps)[0] - 0.5 * (distance + shape)


def alpha_box_iou(y_true: Tensor, y_pred: Tensor, alpha: float = 3.0,
                  penalty: str = "iou", eps: float = 1e-7) -> Tensor:
    """Alpha-IoU = IoU^alpha - penalty^alpha (He et al., 2021): `penalty`
    "iou" (none), "giou" (|C \\ (A u B)| / |C|), "diou" (rho^2 / c^2, so
    rho^(2 alpha) / c^(2 alpha)) or "ciou" (that plus (beta v)^alpha, beta
    = v / (1 - IoU + v) held constant as in CIoU). Each term is raised to
    alpha on its own, as the paper writes it; powers by `_power`."""
    return _per_box_autodiff(_alpha_box_iou, y_true, y_pred,
                             alpha=alpha, penalty=penalty, eps=eps)


def _alpha_box_iou(t, p, alpha, penalty, eps):
    iou, union = _iou(t, p, eps)
    value = _power(iou, alpha, eps)
    if penalty == "giou":
        enclosing = _area(_enclosing(t, p))
        value -= _power((enclosing - union) / (enclosing + eps), alpha, eps)
    elif penalty in ("diou", "ciou"):
        value -= _power(_centre_distance_ratio(t, p, eps), alpha, eps)
    if penalty == "ciou":
        v = _aspect_ratio_term(t, p, eps)
        beta = dm.stop_gradient(v / (1.0 - iou + v + eps))
        value -= _power(beta * v, alpha, eps)
    return value
