import math

import numpy as np
import pytest
from hypothesis import given

from keras_boxloss import ShapeIoU
from keras_boxloss.losses import diou, shape_iou
from tests.losses import reference
from tests.losses.backend_utils import to_numpy, value_and_grads
from tests.losses.test_deltas_mode import (ANCHORS, PRED_BOXES,
                                           TRUE_BOXES)
from tests.losses.test_properties import SETTINGS, any_side, box_pairs


def cost(omega):
    return (1 - math.exp(-omega)) ** 4


@pytest.mark.parametrize("target, prediction, scale, expected", [
    # same size, centres 1 apart along x: 1 - 9/11 + 1 / (11^2 + 10^2)
    ([0, 0, 10, 10], [1, 0, 11, 10], 0.0, 1 - 9 / 11 + 1 / 221),
    # twice as wide, same corner: IoU 1/2, dx^2 = 25 over c^2 = 500,
    # omega_w = 10 / 20
    ([0, 0, 10, 10], [0, 0, 20, 10], 0.0, 0.5 + 0.05 + 0.5 * cost(0.5)),
    # wide target 20 x 10, scale 1: ww = 4/3, hh = 2/3. Prediction 1 lower
    # (dy = 1) and 5 narrower: IoU 135 / 215, distance ww (1 + 2.5^2) / c^2
    # with c^2 = 20^2 + 11^2, omega_w = hh 5 / 20
    ([0, 0, 20, 10], [0, 1, 15, 11], 1.0,
     1 - 135 / 215 + (2 / 3 * 2.5**2 + 4 / 3 * 1) / 521
     + 0.5 * cost(2 / 3 * 5 / 20)),
    ([0, 0, 10, 10], [0, 0, 10, 10], 1.0, 0.0),
])
def test_values_match_the_paper(target, prediction, scale, expected):
    value = to_numpy(shape_iou(np.float32([target]), np.float32([prediction]),
                               scale=scale))
    np.testing.assert_allclose(value, [expected], rtol=1e-6, atol=1e-7)


def test_scale_zero_is_diou_plus_the_shape_cost():
    t = np.float32([[0, 0, 10, 10], [0, 0, 10, 20], [3, 1, 8, 9]])
    p = np.float32([[5, 5, 15, 15], [2, 2, 12, 12], [3, 1, 8, 9]])
    shapes = np.array([0.0, 0.5 * (cost(0.0) + cost(10 / 20)), 0.0])
    np.testing.assert_allclose(to_numpy(shape_iou(t, p)),
                               to_numpy(diou(t, p)) + shapes, rtol=1e-6,
                               atol=1e-7)


def test_a_wide_target_weights_the_short_side_more():
    t = np.float32([[0, 0, 40, 10]] * 2)
    p = np.float32([[2, 0, 42, 10], [0, 2, 40, 12]])  # along x, along y
    flat = to_numpy(shape_iou(t, p, scale=0.0))
    shaped = to_numpy(shape_iou(t, p, scale=1.0))
    assert shaped[0] < flat[0] and shaped[1] > flat[1]


def test_large_scale_and_huge_boxes_stay_finite():
    # w^scale would overflow float32 (1e4^10); the sigmoid form does not
    t = np.float32([[0, 0, 1e4, 2e4], [0, 0, 0, 5]])
    p = np.float32([[10, 10, 9e3, 2e4], [1, 1, 2, 2]])
    value, grads = value_and_grads(lambda a, b: shape_iou(a, b, scale=10.0),
                                   t, p)
    assert np.isfinite(value)
    assert all(np.all(np.isfinite(g)) for g in grads)


@pytest.mark.parametrize("scale", [0.0, 0.7, 1.5])
def test_matches_float64_reference_and_its_gradient(scale):
    rng = np.random.default_rng(8)
    t = np.concatenate([rng.uniform(0, 5, (8, 2)),
                        rng.uniform(6, 10, (8, 2))], -1)
    p = t + rng.uniform(-3, 3, t.shape)
    value = to_numpy(shape_iou(t.astype("float32"), p.astype("float32"),
                               scale=scale))
    expected = [reference.shape_iou_loss(a, b, scale) for a, b in zip(t, p)]
    np.testing.assert_allclose(value, expected, rtol=1e-5, atol=1e-6)
    _, (grad,) = value_and_grads(
        lambda a: shape_iou(t.astype("float32"), a, scale=scale),
        p.astype("float32"))
    numeric = reference.numeric_grad(lambda a: sum(
        reference.shape_iou_loss(x, y, scale) for x, y in zip(t, a)), p)
    np.testing.assert_allclose(grad, numeric, rtol=1e-3, atol=1e-4)


def test_deltas_decode_against_the_anchors_and_need_them():
    true_deltas = reference.encode_deltas(TRUE_BOXES, ANCHORS)
    pred_deltas = reference.encode_deltas(PRED_BOXES, ANCHORS)
    on_boxes = to_numpy(shape_iou(TRUE_BOXES.astype("float32"),
                                  PRED_BOXES.astype("float32"), 1.0))
    on_deltas = to_numpy(shape_iou(true_deltas.astype("float32"),
                                   pred_deltas.astype("float32"), 1.0,
                                   box_format="deltas", anchors=ANCHORS))
    np.testing.assert_allclose(on_deltas, on_boxes, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="Expected `anchors` for ShapeIoU"):
        ShapeIoU(box_format="deltas")


@pytest.mark.parametrize("scale", [-0.5, float("nan"), "1", True, None])
def test_bad_scale_is_a_clear_error(scale):
    with pytest.raises(ValueError, match="Expected `scale`.*Received: scale="):
        ShapeIoU(scale=scale)


@SETTINGS
@given(box_pairs(sides=any_side))
def test_bounded_for_any_boxes_inverted_included(pair):
    t, p = pair
    for scale in (0.0, 1.0):
        # 1 - IoU <= 1, the weighted distance <= 2, half the cost <= 1
        value = to_numpy(shape_iou(t, p, scale=scale))
        assert np.all((value >= -1e-6) & (value <= 4 + 1e-6)), scale
