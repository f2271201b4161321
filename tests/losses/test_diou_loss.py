import numpy as np
import pytest

from keras_boxloss import DIoU
from keras_boxloss.losses import diou
from tests.losses.backend_utils import (
    assert_gradient_matches_reference, to_numpy)


@pytest.mark.parametrize("target, prediction, expected", [
    # 1 - 1/7 + rho^2 50 / c^2 450
    ([0, 0, 10, 10], [5, 5, 15, 15], 0.96825397),
    # 1 - 0 + 800 / 1800
    ([0, 0, 10, 10], [20, 20, 30, 30], 1.4444444),
    # 1 - 80/220 + 13 / 544
    ([0, 0, 10, 20], [2, 2, 12, 12], 0.66026068),
    # nested, centres (5, 5) and (3, 3): 1 - 0.04 + 8 / 200
    ([0, 0, 10, 10], [2, 2, 4, 4], 1.0),
])
def test_values_match_geometry(target, prediction, expected):
    value = to_numpy(diou(np.float32([target]), np.float32([prediction])))
    np.testing.assert_allclose(value, [expected], rtol=1e-6, atol=1e-7)


def test_gradient_matches_finite_differences():
    assert_gradient_matches_reference(diou, "diou", seed=3, spread=3)


def test_deltas_without_anchors_is_a_clear_error():
    with pytest.raises(ValueError, match="Expected `anchors` for DIoU"):
        DIoU(box_format="deltas")
    with pytest.raises(ValueError, match="Received: anchors=None"):
        diou(np.zeros((2, 4)), np.zeros((2, 4)), box_format="deltas")
