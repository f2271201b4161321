import numpy as np
import pytest

from keras_boxloss import HuberBox
from keras_boxloss.losses import huber_box
from tests.losses.backend_utils import to_numpy, value_and_grads


def test_sums_the_four_coordinates():
    # errors 0.5, 2, 0, 1 with delta 1: 0.125 + 1.5 + 0 + 0.5
    t = np.float32([[0, 0, 10, 10]])
    p = np.float32([[0.5, 2, 10, 11]])
    np.testing.assert_allclose(to_numpy(huber_box(t, p)), [2.125], rtol=1e-6)


def test_delta_changes_the_knee():
    # error 2 with delta 3 is quadratic: 0.5 * 4; with delta 0.5 linear:
    # 0.5 * (2 - 0.25)
    t, p = np.float32([[0, 0, 0, 0]]), np.float32([[2, 0, 0, 0]])
    np.testing.assert_allclose(to_numpy(huber_box(t, p, delta=3.0)), [2.0])
    np.testing.assert_allclose(to_numpy(huber_box(t, p, delta=0.5)), [0.875])


def test_gradient_is_continuous_at_the_knee():
    t = np.float32([[0, 0, 0, 0]] * 2)
    p = np.float32([[0.999, 0, 0, 0], [1.001, 0, 0, 0]])
    _, (grad,) = value_and_grads(lambda a: huber_box(t, a), p)
    np.testing.assert_allclose(grad[:, 0], [0.999, 1.0], rtol=1e-5)


def test_config_keeps_delta_unlike_keras_huber():
    config = HuberBox(delta=2.5).get_config()
    assert config["delta"] == 2.5
    assert HuberBox.from_config(config).get_config()["delta"] == 2.5


@pytest.mark.parametrize("delta", [-1.0, 0.0, float("nan"), "1", True])
def test_bad_delta_is_a_clear_error(delta):
    with pytest.raises(ValueError, match="Expected `delta`.*Received: delta="):
        HuberBox(delta=delta)
