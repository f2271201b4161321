import numpy as np
import pytest

from keras_boxloss import EIoU, FocalEIoU
from keras_boxloss.losses import eiou, focal_eiou
from tests.losses import reference
from tests.losses.backend_utils import (
    assert_gradient_matches_reference, to_numpy, value_and_grads)


@pytest.mark.parametrize("target, prediction, expected", [
    # 1 - 80/220 + 13/544 + 0/144 + 100/400
    ([0, 0, 10, 20], [2, 2, 12, 12], 1 - 80 / 220 + 13 / 544 + 0.25),
    # disjoint, same size: 1 - 0 + 800/1800
    ([0, 0, 10, 10], [20, 20, 30, 30], 1 + 800 / 1800),
    # half the width, same left edge: 1 - 1/2 + 1/20 + 4/16
    ([0, 0, 4, 2], [0, 0, 2, 2], 0.8),
    ([0, 0, 10, 10], [0, 0, 10, 10], 0.0),
])
def test_values_match_geometry(target, prediction, expected):
    value = to_numpy(eiou(np.float32([target]), np.float32([prediction])))
    np.testing.assert_allclose(value, [expected], rtol=1e-6, atol=1e-7)


def test_matches_reference_on_random_boxes():
    rng = np.random.default_rng(0)
    t = np.concatenate([rng.uniform(0, 5, (20, 2)),
                        rng.uniform(6, 10, (20, 2))], -1)
    p = t + rng.uniform(-4, 4, t.shape)
    p[:, 2:] = np.maximum(p[:, 2:], p[:, :2] + 0.1)
    np.testing.assert_allclose(to_numpy(eiou(t, p)),
                               reference.per_box("eiou", t, p), rtol=1e-5)
    np.testing.assert_allclose(to_numpy(focal_eiou(t, p)),
                               reference.per_box("focal_eiou", t, p),
                               rtol=1e-5, atol=1e-7)


def test_gradient_matches_finite_differences():
    assert_gradient_matches_reference(eiou, "eiou", seed=3, spread=3)


def test_focal_weight_gradient_matches_finite_differences():
    assert_gradient_matches_reference(
        lambda t, p: focal_eiou(t, p, weight_gradient=True), "focal_eiou",
        seed=4, spread=2)


def test_held_weight_only_rescales_the_eiou_gradient():
    t = np.float32([[0, 0, 10, 20], [0, 0, 4, 2]])
    p = np.float32([[2, 2, 12, 12], [1, 0, 3, 3]])
    _, (held,) = value_and_grads(lambda a: focal_eiou(t, a), p)
    _, (plain,) = value_and_grads(lambda a: eiou(t, a), p)
    weight = np.array([reference.iou(a, b) ** 0.5 for a, b in zip(t, p)])
    np.testing.assert_allclose(held, weight[:, None] * plain, rtol=1e-5)
    _, (full,) = value_and_grads(
        lambda a: focal_eiou(t, a, weight_gradient=True), p)
    assert not np.allclose(full, held)


def test_disjoint_boxes_get_zero_focal_loss_and_gradient():
    t, p = np.float32([[0, 0, 10, 10]]), np.float32([[20, 20, 30, 30]])
    for flag in (False, True):
        value, (grad,) = value_and_grads(
            lambda a, f=flag: focal_eiou(t, a, weight_gradient=f), p)
        assert value == 0.0
        np.testing.assert_array_equal(grad, 0.0)


def test_box_formats_agree():
    t = np.float32([[0, 0, 10, 20]])
    p = np.float32([[2, 2, 12, 12]])
    xywh = lambda b: np.concatenate([b[:, :2], b[:, 2:] - b[:, :2]], -1)
    np.testing.assert_allclose(
        to_numpy(eiou(xywh(t), xywh(p), box_format="xywh")),
        to_numpy(eiou(t, p)), rtol=1e-6)


def test_deltas_need_anchors():
    with pytest.raises(ValueError, match="anchors"):
        EIoU(box_format="deltas")
    with pytest.raises(ValueError, match="anchors"):
        FocalEIoU(box_format="deltas")


def test_class_matches_function():
    t = np.float32([[0, 0, 10, 10], [0, 0, 10, 20]])
    p = np.float32([[5, 5, 15, 15], [2, 2, 12, 12]])
    loss = FocalEIoU(gamma=1.0, reduction="sum")
    np.testing.assert_allclose(to_numpy(loss(t, p)),
                               to_numpy(focal_eiou(t, p, gamma=1.0)).sum(),
                               rtol=1e-6)
