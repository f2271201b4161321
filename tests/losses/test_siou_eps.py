"""SIoU's angle cost: eps guards the division by sigma^2, it does not bias
the angle of nearly converged boxes."""

import math

import numpy as np

from keras_boxloss.losses import siou
from tests.losses.backend_utils import to_numpy, value_and_grads


def test_a_tiny_diagonal_offset_has_the_diagonal_angle():
    # Tiny normalised boxes (1e-4 of the image), the prediction 1e-4 off
    # along the diagonal, touching the target at a corner: IoU 0, same
    # sizes (no shape cost), and the angle cost Lambda = sin(2 * 45 deg) =
    # 1, so gamma = 2 - 1 = 1. With rho = dx^2 / (C_w^2 + eps) (the
    # family's enclosing-box denominator, as DIoU's; C_w = 2e-4), SIoU =
    # 1 - 0 + 2 (1 - exp(-gamma rho)) / 2. With `/ (sigma^2 + eps)` the
    # angle was 2e-8 / 1.2e-7 = 1/6 and gamma 11/6: 1.1227 instead of
    # 1.0689.
    t = np.float32([[0.0, 0.0, 1e-4, 1e-4]])
    p = np.float32([[1e-4, 1e-4, 2e-4, 2e-4]])
    rho = 1e-8 / (4e-8 + 1e-7)
    np.testing.assert_allclose(to_numpy(siou(t, p)), [1 - math.expm1(-rho)],
                               rtol=1e-5)


def test_aligned_and_nearly_aligned_centres_have_finite_gradients():
    t = np.float32([[0.1, 0.1, 0.2, 0.2]] * 4)
    offsets = np.float32([0.0, 1e-30, 1e-20, 1e-9])[:, None]
    p = t + offsets * np.float32([1, 1, 1, 1])
    value, grads = value_and_grads(siou, t, p)
    assert np.isfinite(value)
    for grad in grads:
        assert np.all(np.isfinite(grad))
