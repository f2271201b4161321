import numpy as np
import pytest

from keras_boxloss import AlphaIoU
from keras_boxloss.losses import alpha_iou, ciou, diou, giou, iou
from tests.losses import reference
from tests.losses.backend_utils import (
    assert_gradient_matches_reference, to_numpy, value_and_grads)

PENALTIES = ["iou", "giou", "diou", "ciou"]


def random_boxes(seed, n=20, spread=4):
    rng = np.random.default_rng(seed)
    t = np.concatenate([rng.uniform(0, 5, (n, 2)),
                        rng.uniform(6, 10, (n, 2))], -1)
    p = t + rng.uniform(-spread, spread, t.shape)
    p[:, 2:] = np.maximum(p[:, 2:], p[:, :2] + 0.1)
    return t, p


@pytest.mark.parametrize("penalty, plain", [
    ("iou", iou), ("giou", giou), ("diou", diou), ("ciou", ciou)])
def test_alpha_one_is_the_plain_loss(penalty, plain):
    t, p = random_boxes(0)
    np.testing.assert_allclose(to_numpy(alpha_iou(t, p, 1.0, penalty)),
                               to_numpy(plain(t, p)), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("alpha", [0.5, 2.0, 3.0])
@pytest.mark.parametrize("penalty", PENALTIES)
def test_matches_reference_on_random_boxes(penalty, alpha):
    t, p = random_boxes(1)
    expected = [reference.alpha_iou_loss(a, b, alpha, penalty)
                for a, b in zip(t, p)]
    # below eps the power continues linearly: off by at most eps^alpha
    np.testing.assert_allclose(to_numpy(alpha_iou(t, p, alpha, penalty)),
                               expected, rtol=1e-5,
                               atol=max(1e-6, 1e-7 ** alpha))


def test_gradient_matches_finite_differences_without_penalty():
    assert_gradient_matches_reference(alpha_iou, "alpha_iou", seed=5,
                                      spread=3)


@pytest.mark.parametrize("penalty", ["giou", "diou", "ciou"])
def test_gradient_matches_finite_differences(penalty):
    t, p = random_boxes(6, n=6, spread=2)
    _, (grad,) = value_and_grads(
        lambda a: alpha_iou(t.astype("float32"), a, 3.0, penalty),
        p.astype("float32"))
    numeric = reference.numeric_grad(
        lambda a: sum(reference.alpha_iou_loss(x, y, 3.0, penalty)
                      for x, y in zip(t, a)), p)
    np.testing.assert_allclose(grad, numeric, rtol=1e-3, atol=1e-4)


def test_hand_worked_values():
    t, p = np.float32([[0, 0, 10, 10]]), np.float32([[5, 5, 15, 15]])
    # IoU 1/7; GIoU penalty 50/225; DIoU penalty 50/450
    np.testing.assert_allclose(
        to_numpy(alpha_iou(t, p, 2.0, "giou")),
        [1 - (1 / 7) ** 2 + (50 / 225) ** 2], rtol=1e-6)
    np.testing.assert_allclose(
        to_numpy(alpha_iou(t, p, 2.0, "diou")),
        [1 - (1 / 7) ** 2 + (50 / 450) ** 2], rtol=1e-6)


def test_identical_boxes_reach_zero_with_finite_gradient_for_small_alpha():
    t = np.float32([[0, 0, 10, 10], [0, 0, 10, 5]])
    for penalty in PENALTIES:
        value, (grad,) = value_and_grads(
            lambda a, q=penalty: alpha_iou(t, a, 0.3, q), t.copy())
        assert abs(value) < 1e-5
        assert np.all(np.isfinite(grad))


def test_deltas_need_anchors_only_for_centre_penalties():
    AlphaIoU(penalty="iou", box_format="deltas")
    AlphaIoU(penalty="giou", box_format="deltas")
    for penalty in ("diou", "ciou"):
        with pytest.raises(ValueError, match="anchors"):
            AlphaIoU(penalty=penalty, box_format="deltas")
    # the per-instance choice does not leak into the class
    assert AlphaIoU.requires_anchors is False


def test_bad_penalty_is_named():
    with pytest.raises(ValueError, match="Expected `penalty`.*Received: "
                                         "penalty='eiou'"):
        AlphaIoU(penalty="eiou")
