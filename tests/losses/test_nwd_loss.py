import math

import numpy as np
import pytest
from hypothesis import given

from keras_boxloss import NWD
from keras_boxloss.losses import nwd
from tests.losses import reference
from tests.losses.backend_utils import to_numpy, value_and_grads
from tests.losses.test_deltas_mode import (ANCHORS, PRED_BOXES,
                                           TRUE_BOXES)
from tests.losses.test_properties import SETTINGS, any_side, box_pairs


@pytest.mark.parametrize("target, prediction, expected", [
    # centres 3 and 4 apart, same size: W_2 = 5
    ([0, 0, 4, 4], [3, 4, 7, 8], 1 - math.exp(-5 / 12.8)),
    # same centre, half sizes 2 and 5 (and 2, 2): W_2 = 3
    ([0, 0, 4, 4], [-3, 0, 7, 4], 1 - math.exp(-3 / 12.8)),
    # disjoint boxes still differ by distance: W_2 = sqrt(20^2 + 20^2)
    ([0, 0, 10, 10], [20, 20, 30, 30],
     1 - math.exp(-math.sqrt(800) / 12.8)),
    ([0, 0, 4, 4], [0, 0, 4, 4], 0.0),
])
def test_values_match_the_paper(target, prediction, expected):
    value = to_numpy(nwd(np.float32([target]), np.float32([prediction])))
    np.testing.assert_allclose(value, [expected], rtol=1e-6, atol=1e-7)


def test_identical_boxes_give_zero_and_a_finite_gradient():
    t = np.float32([[0, 0, 4, 4], [2, 2, 2, 2]])
    value, grads = value_and_grads(lambda a, b: nwd(a, b), t, t.copy())
    assert value == 0.0
    for grad in grads:
        np.testing.assert_array_equal(grad, 0.0)


def test_disjoint_tiny_boxes_get_a_gradient_towards_each_other():
    t = np.float32([[0, 0, 2, 2]])
    p = np.float32([[6, 0, 8, 2]])
    _, (grad,) = value_and_grads(lambda a: nwd(t, a), p)
    # moving right (x1, x2 up) raises the loss; no IoU plateau
    assert grad[0, 0] > 0 and grad[0, 2] > 0
    np.testing.assert_allclose(grad[0, 1::2], 0.0, atol=1e-7)


def test_constant_is_a_length_not_scale_invariant():
    t = np.float32([[0, 0, 4, 4]])
    p = np.float32([[3, 4, 7, 8]])
    same = to_numpy(nwd(10 * t, 10 * p, constant=128.0))
    np.testing.assert_allclose(same, to_numpy(nwd(t, p)), rtol=1e-6)
    assert not np.allclose(to_numpy(nwd(10 * t, 10 * p)), to_numpy(nwd(t, p)))


def test_matches_float64_reference_and_its_gradient():
    rng = np.random.default_rng(3)
    t = np.concatenate([rng.uniform(0, 20, (8, 2)),
                        rng.uniform(25, 40, (8, 2))], -1)
    p = t + rng.uniform(-6, 6, t.shape)
    kwargs = {"constant": 8.0}
    value = to_numpy(nwd(t.astype("float32"), p.astype("float32"), **kwargs))
    np.testing.assert_allclose(
        value, [reference.nwd_loss(a, b, **kwargs) for a, b in zip(t, p)],
        rtol=1e-5, atol=1e-6)
    _, (grad,) = value_and_grads(
        lambda a: nwd(t.astype("float32"), a, **kwargs), p.astype("float32"))
    numeric = reference.numeric_grad(lambda a: sum(
        reference.nwd_loss(x, y, **kwargs) for x, y in zip(t, a)), p)
    np.testing.assert_allclose(grad, numeric, rtol=1e-3, atol=1e-5)


def test_deltas_decode_against_the_anchors_and_need_them():
    true_deltas = reference.encode_deltas(TRUE_BOXES, ANCHORS)
    pred_deltas = reference.encode_deltas(PRED_BOXES, ANCHORS)
    on_boxes = to_numpy(nwd(TRUE_BOXES.astype("float32"),
                            PRED_BOXES.astype("float32"), constant=50.0))
    on_deltas = to_numpy(nwd(true_deltas.astype("float32"),
                             pred_deltas.astype("float32"), constant=50.0,
                             box_format="deltas", anchors=ANCHORS))
    np.testing.assert_allclose(on_deltas, on_boxes, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="Expected `anchors` for NWD"):
        NWD(box_format="deltas")


@pytest.mark.parametrize("constant", [0, -1.0, float("nan"), "12.8", True])
def test_bad_constant_is_a_clear_error(constant):
    with pytest.raises(ValueError,
                       match="Expected `constant`.*Received: constant="):
        NWD(constant=constant)


@SETTINGS
@given(box_pairs(sides=any_side))
def test_bounded_symmetric_and_zero_only_for_identical_boxes(pair):
    t, p = pair
    value = to_numpy(nwd(t, p))
    # < 1 exactly; float32 rounds 1 - exp(-16) to 1
    assert np.all((value >= 0) & (value <= 1))
    np.testing.assert_allclose(to_numpy(nwd(p, t)), value, atol=1e-7)
    np.testing.assert_array_equal(to_numpy(nwd(t, t)), 0.0)
