import numpy as np
import pytest

from keras_boxloss import GIoU
from keras_boxloss.losses import giou
from tests.losses.backend_utils import (
    assert_gradient_matches_reference, to_numpy, value_and_grads)


@pytest.mark.parametrize("target, prediction, expected", [
    # 1 - 1/7 + (225 - 175) / 225
    ([0, 0, 10, 10], [5, 5, 15, 15], 1.0793650),
    # 1 - 0 + (900 - 200) / 900
    ([0, 0, 10, 10], [20, 20, 30, 30], 1.7777778),
    # 1 - 80/220 + (240 - 220) / 240
    ([0, 0, 10, 20], [2, 2, 12, 12], 0.7196970),
    # nested: the enclosing box is the target, so GIoU = IoU = 0.04
    ([0, 0, 10, 10], [2, 2, 4, 4], 0.96),
    ([0, 0, 10, 10], [0, 0, 10, 10], 0.0),
])
def test_values_match_geometry(target, prediction, expected):
    value = to_numpy(giou(np.float32([target]), np.float32([prediction])))
    np.testing.assert_allclose(value, [expected], rtol=1e-6, atol=1e-7)


def test_disjoint_boxes_get_a_gradient_towards_each_other():
    t = np.float32([[0, 0, 10, 10]])
    p = np.float32([[20, 20, 30, 30]])
    _, (grad,) = value_and_grads(lambda a: giou(t, a), p)
    # No plateau (IoU's gradient is 0 here). By hand: loss = 2 - U / C with
    # U = 100 + (x2 - x1)(y2 - y1) = 200 and C = x2 * y2 = 900, so
    # d/dx1 = 10 / 900 and d/dx2 = -(10 * 900 - 200 * 30) / 900^2: the near
    # corner moves towards the target and the box grows.
    np.testing.assert_allclose(grad, [[1 / 90, 1 / 90, -1 / 270, -1 / 270]],
                               rtol=1e-5)


def test_gradient_matches_finite_differences():
    assert_gradient_matches_reference(giou, "giou", seed=2, spread=3)


def test_class_matches_function():
    t = np.float32([[0, 0, 10, 10], [0, 0, 10, 20]])
    p = np.float32([[20, 20, 30, 30], [2, 2, 12, 12]])
    np.testing.assert_allclose(to_numpy(GIoU(reduction="sum")(t, p)),
                               1.7777778 + 0.7196970, rtol=1e-6)
