import math

import numpy as np
import pytest

from keras_boxloss import IoU
from keras_boxloss.losses import iou
from tests.losses.backend_utils import (
    assert_gradient_matches_reference, to_numpy, value_and_grads)


@pytest.mark.parametrize("target, prediction, expected", [
    # 25 / (100 + 100 - 25)
    ([0, 0, 10, 10], [5, 5, 15, 15], 1 - 1 / 7),
    ([0, 0, 10, 10], [20, 20, 30, 30], 1.0),
    # nested: 4 / 100
    ([0, 0, 10, 10], [2, 2, 4, 4], 0.96),
    # 80 / (200 + 100 - 80)
    ([0, 0, 10, 20], [2, 2, 12, 12], 1 - 80 / 220),
    ([0, 0, 10, 10], [0, 0, 10, 10], 0.0),
    # touching edges: zero intersection
    ([0, 0, 10, 10], [10, 0, 20, 10], 1.0),
])
def test_linear_mode_matches_geometry(target, prediction, expected):
    value = to_numpy(iou(np.float32([target]), np.float32([prediction])))
    np.testing.assert_allclose(value, [expected], rtol=1e-6, atol=1e-7)


def test_log_mode_is_negative_log_iou_and_finite_when_disjoint():
    t = np.float32([[0, 0, 10, 10], [0, 0, 10, 10]])
    p = np.float32([[5, 5, 15, 15], [20, 20, 30, 30]])
    value, (grad,) = value_and_grads(lambda a: iou(t, a, mode="log"), p)
    losses = to_numpy(iou(t, p, mode="log"))
    np.testing.assert_allclose(losses[0], -math.log(1 / 7), rtol=1e-5)
    # disjoint: -ln(eps), large and finite
    np.testing.assert_allclose(losses[1], -math.log(1e-7), rtol=1e-4)
    assert np.isfinite(value) and np.all(np.isfinite(grad))


def test_gradient_matches_finite_differences():
    assert_gradient_matches_reference(iou, "iou", seed=1, spread=1.5)


def test_class_reduces_like_keras():
    t = np.float32([[0, 0, 10, 10], [0, 0, 10, 10]])
    p = np.float32([[5, 5, 15, 15], [0, 0, 10, 10]])
    np.testing.assert_allclose(to_numpy(IoU()(t, p)), (1 - 1 / 7) / 2,
                               rtol=1e-6)
    np.testing.assert_allclose(to_numpy(IoU(reduction="sum")(t, p)),
                               1 - 1 / 7, rtol=1e-6)


def test_unknown_mode_is_a_clear_error():
    with pytest.raises(ValueError, match="mode.*Received: mode='sqrt'"):
        IoU(mode="sqrt")
