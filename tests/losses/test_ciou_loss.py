import math

import numpy as np
import pytest

from keras_boxloss import CIoU
from keras_boxloss.losses import ciou, diou
from tests.losses import reference
from tests.losses.backend_utils import to_numpy, value_and_grads


def test_aspect_ratio_term_worked_by_hand():
    # target 10 wide, 20 high; prediction 10 x 10.
    iou = 80 / 220
    v = 4 / math.pi**2 * (math.atan(10 / 20) - math.atan(10 / 10)) ** 2
    alpha = v / (1 - iou + v)
    expected = 1 - iou + 13 / 544 + alpha * v
    assert expected == pytest.approx(0.66285580, abs=1e-7)
    value = to_numpy(ciou(np.float32([[0, 0, 10, 20]]),
                          np.float32([[2, 2, 12, 12]])))
    np.testing.assert_allclose(value, [expected], rtol=1e-6)


def test_equals_diou_when_aspect_ratios_match():
    t = np.float32([[0, 0, 10, 10], [0, 0, 10, 10]])
    p = np.float32([[5, 5, 15, 15], [20, 20, 30, 30]])
    np.testing.assert_allclose(to_numpy(ciou(t, p)), [0.96825397, 1.4444444],
                               rtol=1e-6)
    np.testing.assert_allclose(to_numpy(ciou(t, p)), to_numpy(diou(t, p)))


def test_alpha_takes_no_gradient():
    rng = np.random.default_rng(4)
    t = np.concatenate([rng.uniform(0, 5, (6, 2)),
                        rng.uniform(6, 10, (6, 2))], -1)
    p = t + rng.uniform(-2, 2, t.shape)
    _, (grad,) = value_and_grads(lambda a: ciou(t.astype("float32"), a),
                                 p.astype("float32"))
    # Finite differences with alpha frozen at its value for the point.
    def frozen_alpha_loss(a):
        total = 0.0
        for tb, pb, pb0 in zip(t, a, p):
            v = reference.aspect_v(tuple(tb), tuple(pb0))
            alpha = v / (1 - reference.iou(tuple(tb), tuple(pb0)) + v + 1e-7)
            total += reference.ciou_loss(tuple(tb), tuple(pb), alpha=alpha)
        return total
    numeric = reference.numeric_grad(frozen_alpha_loss, p)
    np.testing.assert_allclose(grad, numeric, rtol=1e-3, atol=1e-4)


def test_zero_area_boxes_stay_finite_where_torchvision_gives_nan():
    t = np.float32([[3, 3, 3, 3], [0, 0, 10, 10]])
    p = np.float32([[3, 3, 3, 3], [5, 5, 5, 9]])
    value, grads = value_and_grads(lambda a, b: ciou(a, b), t, p)
    assert np.isfinite(value)
    assert all(np.all(np.isfinite(g)) for g in grads)


def test_class_requires_anchors_for_deltas():
    with pytest.raises(ValueError, match="Expected `anchors` for CIoU"):
        CIoU(box_format="deltas")
