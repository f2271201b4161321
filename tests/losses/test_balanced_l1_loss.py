import math

import numpy as np
import pytest
from hypothesis import given

from keras_boxloss import BalancedL1, HuberBox
from keras_boxloss.losses import balanced_l1, huber_box
from keras_boxloss.losses.balanced_l1_loss import _log1p
from tests.losses import reference
from tests.losses.backend_utils import (compiled_value_and_grads, to_numpy,
                                        value_and_grads)
from tests.losses.test_properties import SETTINGS, any_side, box_pairs

B = math.e**3 - 1  # exp(gamma / alpha) - 1 at the defaults: 19.0855


@pytest.mark.parametrize("error, expected", [
    # outlier: gamma |x| + gamma / b - alpha = 3 + 1.5 / 19.0855 - 0.5
    (2.0, 2.5785935),
    # inlier: alpha / b (b |x| + 1) ln(b |x| + 1) - alpha |x|
    #       = 0.5 / 19.0855 * 10.5428 * ln(10.5428) - 0.25
    (0.5, 0.4005675),
    (0.0, 0.0),
    # at the knee both pieces agree: 1.5 + 1.5 / b - 0.5
    (1.0, 1.0 + 1.5 / B),
])
def test_values_match_the_paper(error, expected):
    t = np.float32([[0, 0, 0, 0]])
    p = np.float32([[0, 0, -error, 0]])
    np.testing.assert_allclose(to_numpy(balanced_l1(t, p)), [expected],
                               rtol=1e-6, atol=1e-7)


def test_sums_the_four_coordinates_like_huber_box():
    t = np.float32([[0, 0, 10, 10]])
    p = np.float32([[0.5, 0.5, 10.5, 9.5]])
    np.testing.assert_allclose(to_numpy(balanced_l1(t, p)), [4 * 0.4005675],
                               rtol=1e-6)
    # the same inputs and shape as HuberBox: one value per box
    assert to_numpy(huber_box(t, p)).shape == to_numpy(
        balanced_l1(t, p)).shape


def test_gradient_is_alpha_log_inside_and_gamma_outside():
    t = np.zeros((4, 4), "float32")
    p = np.float32([[0.1, 0, 0, 0], [0.5, 0, 0, 0], [0.999, 0, 0, 0],
                    [3.0, 0, 0, 0]])
    _, (grad,) = value_and_grads(lambda a: balanced_l1(t, a), p)
    np.testing.assert_allclose(
        grad[:, 0], [0.5 * math.log(B * 0.1 + 1), 0.5 * math.log(B * 0.5 + 1),
                     0.5 * math.log(B * 0.999 + 1), 1.5], rtol=1e-5)
    # Libra R-CNN's point: inliers get a larger gradient than smooth L1's
    _, (huber_grad,) = value_and_grads(lambda a: huber_box(t, a), p)
    assert np.all(grad[:2, 0] > huber_grad[:2, 0])


def test_beta_moves_the_knee_as_beta_times_the_unit_loss():
    t = np.zeros((3, 4), "float32")
    p = np.float32([[0.2, 0, 0, 0], [0.6, 0, 0, 0], [2.0, 0, 0, 0]])
    scaled = to_numpy(balanced_l1(t, p, beta=0.4))
    unit = to_numpy(balanced_l1(t, p / 0.4, beta=1.0))
    np.testing.assert_allclose(scaled, 0.4 * unit, rtol=1e-5)
    _, (grad,) = value_and_grads(lambda a: balanced_l1(t, a, beta=0.4), p)
    np.testing.assert_allclose(grad[1:, 0], [1.5, 1.5], rtol=1e-6)


@pytest.mark.parametrize("kwargs", [{}, {"alpha": 1.0, "gamma": 3.0,
                                         "beta": 0.5}])
def test_matches_float64_reference_and_its_gradient(kwargs):
    rng = np.random.default_rng(5)
    t = rng.uniform(-5, 5, (16, 4))
    p = t + rng.uniform(-3, 3, t.shape)
    value = to_numpy(balanced_l1(t.astype("float32"), p.astype("float32"),
                                 **kwargs))
    expected = [reference.balanced_l1(a, b, **kwargs) for a, b in zip(t, p)]
    np.testing.assert_allclose(value, expected, rtol=1e-5, atol=1e-6)
    _, (grad,) = value_and_grads(
        lambda a: balanced_l1(t.astype("float32"), a, **kwargs),
        p.astype("float32"))
    numeric = reference.numeric_grad(lambda a: sum(
        reference.balanced_l1(x, y, **kwargs) for x, y in zip(t, a)), p)
    np.testing.assert_allclose(grad, numeric, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("kwargs", [{}, {"alpha": 1.0, "gamma": 3.0,
                                         "beta": 0.5},
                                    {"alpha": 0.02, "gamma": 1.6}])
def test_compiled_gradient_is_the_closed_form_and_matches_the_reference(
        kwargs):
    """Under XLA the derivative is written out (not autodiff): the value is
    the float64 reference's, the gradient alpha ln(b |x| / beta + 1)
    sign(x) w.r.t. y_pred and its negative w.r.t. y_true, at the kinks
    (x = 0, |x| = beta) too, for tiny errors, and with b = e^80 - 1."""
    alpha, gamma, beta = (kwargs.get("alpha", 0.5), kwargs.get("gamma", 1.5),
                          kwargs.get("beta", 1.0))
    b = math.expm1(gamma / alpha)
    rng = np.random.default_rng(11)
    t = rng.uniform(-5, 5, (24, 4))
    x = np.concatenate([rng.uniform(-3, 3, (16, 4)).ravel(),
                        [0.0, beta, -beta, 1e-9, -1e-6, 1e-4, 3e-3, 30.0]
                        * 4])
    x = x.reshape(-1, 4).astype("float32").astype("float64")
    p = (t + x).astype("float32")
    x = p.astype("float64") - t.astype("float32")  # the float32 difference
    value, (grad_t, grad_p) = compiled_value_and_grads(
        lambda a, c: balanced_l1(a, c, **kwargs), t.astype("float32"), p)
    expected = sum(reference.balanced_l1(a, c, **kwargs)
                   for a, c in zip(t.astype("float32").astype("float64"),
                                   p.astype("float64")))
    np.testing.assert_allclose(value, expected, rtol=1e-5)
    slope = alpha * np.sign(x) * np.log1p(
        b * np.minimum(np.abs(x), beta) / beta)
    # atol: alpha 2^-24 from log(1 + x) (see `_log1p`)
    np.testing.assert_allclose(grad_p, slope, rtol=2e-6,
                               atol=alpha * 2.0**-23)
    np.testing.assert_array_equal(grad_t, -grad_p)


def test_compiled_log1p_is_within_float32_rounding():
    """Under XLA `_log1p` is log(1 + x): within 2^-24 absolute (the rounding
    of 1 + x) plus 1.5e-7 relative of float64's log1p, 0 at 0."""
    x = np.concatenate([[0.0, 1e-30, 1e-8, 1.0, 2.0, 19.085537],
                        np.linspace(0, 1, 20001),
                        np.logspace(-30, 30, 20001)]).astype("float32")
    got = to_numpy(_compiled(_log1p, x))
    want = np.log1p(x.astype("float64"))
    assert got[0] == 0.0
    assert np.all(np.abs(got - want) <= 2.0**-24 + 1.5e-7 * want)


@pytest.mark.parametrize("compiled", [False, True])
def test_small_b_and_large_beta_keep_the_value_exact(compiled):
    """b = e^0.01 - 1 and beta = 1000 amplify the logarithmic piece's
    (1 + s) ln(1 + s) - s by beta / b = 1e5: no cancellation left in it
    (written directly, float32 kept ~2 eps / s of it, and log(1 + s) made
    it negative)."""
    kwargs = {"alpha": 1.0, "gamma": 0.01, "beta": 1000.0}
    t = np.zeros((5, 4), "float32")
    p = np.float32([[1.0, 0, 0, 0], [0.1, 0, 0, 0], [10.0, 0, 0, 0],
                    [1e-3, 0, 0, 0], [35.0, 0, 0, 0]])
    fn = (lambda a: _compiled(lambda c: balanced_l1(t, c, **kwargs), a)
          ) if compiled else (lambda a: balanced_l1(t, a, **kwargs))
    expected = [reference.balanced_l1(a, c, **kwargs)
                for a, c in zip(t.astype("float64"), p.astype("float64"))]
    np.testing.assert_allclose(to_numpy(fn(p)), expected, rtol=4e-6)


@pytest.mark.parametrize("compiled", [False, True])
def test_value_at_tiny_errors_is_the_series(compiled):
    """Defaults, |x| from 1e-9 to 1: within 4e-6 relative of the float64
    value (about alpha b x^2 / 2 for tiny x), never negative."""
    x = np.logspace(-9, 0, 400).astype("float32")
    p = np.zeros((400, 4), "float32")
    p[:, 0] = x
    t = np.zeros_like(p)
    fn = (lambda a: _compiled(lambda c: balanced_l1(t, c), a)
          ) if compiled else (lambda a: balanced_l1(t, a))
    got = to_numpy(fn(p))
    expected = [reference.balanced_l1(a, c) for a, c in
                zip(t.astype("float64"), p.astype("float64"))]
    assert np.all(got >= 0.0)
    np.testing.assert_allclose(got, expected, rtol=4e-6, atol=1e-30)


def test_compiled_gradient_of_a_broadcast_y_true_has_its_shape():
    """TensorFlow, batch dims unknown while tracing (None) that broadcast
    when run: y_true's gradient is summed back to its own shape."""
    import keras
    if keras.backend.backend() != "tensorflow":
        pytest.skip("shapes unknown while tracing exist in TensorFlow only")
    import tensorflow as tf

    spec = tf.TensorSpec((None, 4), tf.float32)

    @tf.function(jit_compile=True, input_signature=[spec, spec])
    def grads(a, c):
        with tf.GradientTape() as tape:
            tape.watch([a, c])
            value = tf.reduce_sum(balanced_l1(a, c))
        return tape.gradient(value, [a, c])

    t = np.float32([[0.0, 0.0, 1.0, 1.0]])
    p = t + np.float32([[0.5], [-0.2], [2.0]]) * np.float32([1, 0, 1, 0])
    grad_t, grad_p = grads(t, p)
    assert grad_t.shape == (1, 4) and grad_p.shape == (3, 4)
    np.testing.assert_allclose(grad_t.numpy(), -grad_p.numpy().sum(0,
                                                                   keepdims=True),
                               rtol=1e-6)


def _compiled(fn, x):
    """fn(x) compiled by XLA, where `_log1p` takes its XLA form."""
    import keras
    if keras.backend.backend() == "jax":
        import jax
        return jax.jit(fn)(x)
    import tensorflow as tf
    return tf.function(fn, jit_compile=True)(tf.constant(x))


def test_class_matches_function_and_keeps_its_arguments():
    loss = BalancedL1(alpha=0.25, gamma=1.0, beta=2.0, reduction="sum")
    t = np.float32([[0, 0, 10, 10], [1, 1, 2, 2]])
    p = np.float32([[1, 0, 10, 13], [1, 1, 2, 2.5]])
    np.testing.assert_allclose(
        to_numpy(loss(t, p)),
        to_numpy(balanced_l1(t, p, 0.25, 1.0, 2.0)).sum(), rtol=1e-6)
    config = loss.get_config()
    assert (config["alpha"], config["gamma"], config["beta"]) == (0.25, 1.0,
                                                                  2.0)
    assert not isinstance(loss, HuberBox)


def test_gamma_over_alpha_beyond_float32_is_a_clear_error():
    with pytest.raises(ValueError,
                       match="Expected `gamma` / `alpha`.*Received: gamma="):
        BalancedL1(alpha=0.01, gamma=1.0)


def test_multibox_runs_it_on_the_positive_deltas():
    from keras_boxloss import MultiBox
    from tests.losses.test_multibox_loss import hand_case

    y_true, y_pred, _ = hand_case()
    huber = to_numpy(MultiBox(2, reduction=None)(y_true, y_pred))
    balanced = to_numpy(MultiBox(2, box_loss=BalancedL1(),
                                 reduction=None)(y_true, y_pred))
    # one positive (image 0) with delta errors 0, 2, 0, 0.2: only the
    # localization term changes, from Huber's to Balanced L1's
    errors = (0.0, 2.0, 0.0, 0.2)
    expected_change = (reference.balanced_l1((0,) * 4, errors)
                       - reference.huber_box((0,) * 4, errors))
    np.testing.assert_allclose(balanced - huber, [expected_change, 0.0],
                               rtol=1e-5, atol=1e-6)


@SETTINGS
@given(box_pairs(sides=any_side))
def test_between_zero_and_gamma_l1_and_symmetric(pair):
    t, p = pair
    value = to_numpy(balanced_l1(t, p))
    l1 = np.abs(p.astype("float64") - t).sum(-1)
    assert np.all(value >= 0)
    # gamma / b - alpha < 0 at the defaults: below the gamma |x| line
    assert np.all(value <= 1.5 * l1 * (1 + 1e-6) + 1e-6)
    np.testing.assert_allclose(to_numpy(balanced_l1(p, t)), value,
                               rtol=1e-6, atol=1e-6)
