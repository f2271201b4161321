import numpy as np
import pytest

from keras_boxloss import HuberBox, IoU, SmoothIoU
from keras_boxloss.losses import huber_box, iou, smooth_iou
from tests.losses import reference
from tests.losses.backend_utils import to_numpy, value_and_grads

TARGETS = np.float32([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 20]])
PREDICTIONS = np.float32([[0, 0, 10, 10], [20, 20, 30, 30], [2, 2, 12, 12]])


def test_algorithm_1_worked_by_hand():
    # IoUs 1, 0, 80/220 -> lambda = (1 + 0 + 4/11) / 3 = 5/11
    lam = 5 / 11
    # Huber, delta 1: errors 0; 20 x 4; 2, 2, 2, 8
    huber = [0.0, 4 * 19.5, 3 * 1.5 + 7.5]
    ious = [1.0, 0.0, 80 / 220]
    expected = [lam * (1 - i) + (1 - lam) * h for i, h in zip(ious, huber)]
    value = to_numpy(smooth_iou(TARGETS, PREDICTIONS))
    np.testing.assert_allclose(value, expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(value, reference.smooth_iou(
        TARGETS.astype("float64"), PREDICTIONS.astype("float64")),
        rtol=1e-6, atol=1e-6)


def test_lambda_limits_are_huber_and_iou():
    np.testing.assert_allclose(
        to_numpy(smooth_iou(TARGETS, PREDICTIONS, lambda_weight=0.0)),
        to_numpy(huber_box(TARGETS, PREDICTIONS)), rtol=1e-7)
    np.testing.assert_allclose(
        to_numpy(smooth_iou(TARGETS, PREDICTIONS, lambda_weight=1.0)),
        to_numpy(iou(TARGETS, PREDICTIONS)), rtol=1e-7)
    for weight, other in ((0.0, HuberBox()), (1.0, IoU())):
        np.testing.assert_allclose(
            to_numpy(SmoothIoU(lambda_weight=weight)(TARGETS, PREDICTIONS)),
            to_numpy(other(TARGETS, PREDICTIONS)), rtol=1e-7)


def test_batch_lambda_tends_to_the_limits():
    # all boxes perfect: lambda = 1, the loss is 1 - IoU = 0;
    # all disjoint: lambda = 0, the loss is Huber.
    np.testing.assert_allclose(to_numpy(smooth_iou(TARGETS, TARGETS)), 0.0,
                               atol=1e-6)
    far = TARGETS + 100.0
    np.testing.assert_allclose(to_numpy(smooth_iou(TARGETS, far)),
                               to_numpy(huber_box(TARGETS, far)), rtol=1e-6)


def test_lambda_is_a_constant_by_default_and_a_path_on_request():
    t, p = TARGETS[1:], PREDICTIONS[1:] + 0.3

    def by_hand(a, lam_from):
        boxes_t = [tuple(b) for b in t]
        ious = [reference.iou(bt, tuple(bp)) for bt, bp in zip(boxes_t, lam_from)]
        lam = sum(ious) / len(ious)
        return sum(lam * (1 - reference.iou(bt, tuple(bp)))
                   + (1 - lam) * reference.huber_box(bt, tuple(bp))
                   for bt, bp in zip(boxes_t, a))

    _, (grad,) = value_and_grads(lambda a: smooth_iou(t, a), p)
    frozen = reference.numeric_grad(lambda a: by_hand(a, p), p)
    np.testing.assert_allclose(grad, frozen, rtol=1e-3, atol=1e-4)

    _, (grad,) = value_and_grads(
        lambda a: smooth_iou(t, a, lambda_gradient=True), p)
    coupled = reference.numeric_grad(lambda a: by_hand(a, a), p)
    np.testing.assert_allclose(grad, coupled, rtol=1e-3, atol=1e-4)
    assert not np.allclose(frozen, coupled, rtol=1e-2)


def test_zero_weight_boxes_do_not_count_towards_lambda():
    padded_t = np.concatenate([TARGETS, -np.ones((2, 4), "float32")])
    padded_p = np.concatenate([PREDICTIONS, -np.ones((2, 4), "float32")])
    weights = np.float32([1, 1, 1, 0, 0])
    loss = SmoothIoU(reduction="sum")
    # padding made of identical boxes would pull lambda up if it counted
    np.testing.assert_allclose(
        to_numpy(loss(padded_t, padded_p, sample_weight=weights)),
        to_numpy(loss(TARGETS, PREDICTIONS)), rtol=1e-6)


@pytest.mark.parametrize("kwargs, name", [
    ({"lambda_weight": 1.5}, "lambda_weight"),
    ({"lambda_weight": "mean"}, "lambda_weight"),
    ({"lambda_gradient": "yes"}, "lambda_gradient"),
    ({"delta": -1.0}, "delta"),
])
def test_bad_arguments_are_clear_errors(kwargs, name):
    with pytest.raises(ValueError, match=f"Expected `{name}`.*Received: {name}="):
        SmoothIoU(**kwargs)
