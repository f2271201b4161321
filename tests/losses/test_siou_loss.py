import math

import numpy as np
import pytest

from keras_boxloss import SIoU
from keras_boxloss.losses import siou
from tests.losses import reference
from tests.losses.backend_utils import (
    assert_gradient_matches_reference, to_numpy, value_and_grads)


@pytest.mark.parametrize("target, prediction, expected", [
    # offset along x only: Lambda 0, gamma 2; IoU 1/3; C_w 15; Omega 0
    ([0, 0, 10, 10], [5, 0, 15, 10],
     1 - 1 / 3 + 0.5 * (1 - math.exp(-2 * (5 / 15) ** 2))),
    # offset on the diagonal: Lambda 1, gamma 1; IoU 1/7; C 15 x 15
    ([0, 0, 10, 10], [5, 5, 15, 15],
     1 - 1 / 7 + 0.5 * 2 * (1 - math.exp(-(5 / 15) ** 2))),
    # same centre, half width: Delta 0, Omega (1 - e^-1/2)^4
    ([0, 0, 10, 10], [2.5, 0, 7.5, 10],
     1 - 0.5 + 0.5 * (1 - math.exp(-0.5)) ** 4),
    ([0, 0, 10, 10], [0, 0, 10, 10], 0.0),
])
def test_values_match_geometry(target, prediction, expected):
    value = to_numpy(siou(np.float32([target]), np.float32([prediction])))
    np.testing.assert_allclose(value, [expected], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("theta", [1.0, 4.0, 2.5])
def test_closed_form_angle_matches_the_papers_arcsin_form(theta):
    rng = np.random.default_rng(7)
    t = np.concatenate([rng.uniform(0, 5, (30, 2)),
                        rng.uniform(6, 10, (30, 2))], -1)
    p = t + rng.uniform(-6, 6, t.shape)
    p[:, 2:] = np.maximum(p[:, 2:], p[:, :2] + 0.1)
    expected = [reference.siou_loss(a, b, theta) for a, b in zip(t, p)]
    np.testing.assert_allclose(to_numpy(siou(t, p, theta)), expected,
                               rtol=1e-5, atol=1e-6)


def test_gradient_matches_finite_differences():
    assert_gradient_matches_reference(siou, "siou", seed=8, spread=3)


def test_angle_cost_is_symmetric_in_x_and_y():
    t = np.float32([[0, 0, 10, 10]] * 2)
    p = np.float32([[3, 1, 13, 11], [1, 3, 11, 13]])
    value = to_numpy(siou(t, p))
    assert value[0] == pytest.approx(value[1], rel=1e-6)


def test_degenerate_centres_have_finite_gradients():
    # identical centres (sigma 0) and zero-size boxes
    t = np.float32([[0, 0, 10, 10], [2, 2, 2, 2], [0, 0, 10, 0]])
    p = np.float32([[2, 2, 8, 8], [2, 2, 2, 2], [0, 0, 10, 0]])
    value, (grad,) = value_and_grads(lambda a: siou(t, a), p)
    assert np.isfinite(value) and np.all(np.isfinite(grad))


def test_deltas_need_anchors_and_theta_is_checked():
    with pytest.raises(ValueError, match="anchors"):
        SIoU(box_format="deltas")
    with pytest.raises(ValueError, match="Expected `theta`.*Received: "
                                         "theta=0"):
        SIoU(theta=0)
