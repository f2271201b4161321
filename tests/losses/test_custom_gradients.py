"""The forward-mode ("lane") gradients of `keras_boxloss.dual` against the
backend's own autodiff of the same formula (float64 where the backend
has it; JAX without x64 computes in float32, hence the tolerances). Lanes
run under XLA only, so the lane side is compiled."""

import functools

import keras
import numpy as np
import pytest

from keras_boxloss import boxes, dual
from tests.losses.backend_utils import (compiled_value_and_grads,
                                        value_and_grads)

# public helper -> its formula; each public one differentiates in lanes.
LANE_DIFFERENTIATED = {
    "generalized_box_iou": (boxes.generalized_box_iou,
                            boxes._generalized_box_iou, {}),
    "distance_box_iou": (boxes.distance_box_iou, boxes._distance_box_iou, {}),
    "efficient_box_iou": (boxes.efficient_box_iou, boxes._efficient_box_iou,
                          {}),
    "shape_box_iou": (boxes.shape_box_iou, boxes._shape_box_iou,
                      {"scale": 0.0}),
    "shape_box_iou_scaled": (boxes.shape_box_iou, boxes._shape_box_iou,
                             {"scale": 1.5}),
    # forward=True: the derivative is computed with the value.
    "complete_box_iou": (boxes.complete_box_iou, boxes._complete_box_iou,
                         {}),
}


def _tolerance():
    """Tight in float64; JAX without x64 computes the same in float32."""
    in_float64 = keras.ops.convert_to_tensor(np.zeros(1)).dtype == "float64"
    return ({"rtol": 1e-9, "atol": 1e-12} if in_float64 else
            {"rtol": 1e-4, "atol": 1e-6})


def _autodiff(formula, settings):
    return functools.partial(boxes._per_box_autodiff, formula, eps=1e-7,
                             **settings)


def _random_pairs(seed, n=64):
    """Overlapping, disjoint, nested and inverted pairs: generic positions,
    where no min/max ties and no kink is hit."""
    rng = np.random.default_rng(seed)
    centre = rng.uniform(0, 10, (n, 2))
    size = rng.uniform(0.5, 4, (n, 2))
    t = np.concatenate([centre - size / 2, centre + size / 2], -1)
    p = t + rng.normal(0, 1.5, t.shape)
    p[: n // 8] = p[: n // 8][:, [2, 3, 0, 1]]  # inverted boxes
    return t, p


# Ties of min/max and kinks of relu: identical, point, zero-width,
# touching and nested-sharing-an-edge boxes.
DEGENERATE = np.array([
    [[0., 0., 1., 1.], [0., 0., 1., 1.]],
    [[.5, .5, .5, .5], [.5, .5, .5, .5]],
    [[0., 0., 0., 1.], [0., 0., 1., 1.]],
    [[0., 0., 1., 1.], [1., 0., 2., 1.]],
    [[0., 0., 2., 2.], [0., 0., 1., 1.]],
    [[.9, .9, .6, .6], [.8, .8, .8, .8]],
])


@pytest.mark.parametrize("name", sorted(LANE_DIFFERENTIATED))
@pytest.mark.parametrize("seed", [0, 1])
def test_lane_gradient_equals_autodiff_on_generic_boxes(name, seed):
    public, formula, settings = LANE_DIFFERENTIATED[name]
    t, p = _random_pairs(seed)
    value, grads = compiled_value_and_grads(
        functools.partial(public, **settings), t, p)
    expected_value, expected = value_and_grads(
        _autodiff(formula, settings), t, p)
    np.testing.assert_allclose(value, expected_value, **_tolerance())
    for grad, want in zip(grads, expected):  # w.r.t. y_true, then y_pred
        np.testing.assert_allclose(grad, want, **_tolerance())
    assert np.abs(grads[1]).max() > 0.0


@pytest.mark.parametrize("name", sorted(LANE_DIFFERENTIATED))
def test_lane_gradient_at_ties_and_kinks(name):
    """At ties the lanes follow TensorFlow's rule (the first argument of
    min/max takes the gradient): equal to TensorFlow's autodiff there, and
    finite everywhere on every backend."""
    public, formula, settings = LANE_DIFFERENTIATED[name]
    t, p = DEGENERATE[:, 0], DEGENERATE[:, 1]
    _, grads = compiled_value_and_grads(
        functools.partial(public, **settings), t, p)
    assert all(np.isfinite(g).all() for g in grads)
    if keras.backend.backend() == "tensorflow":
        _, expected = value_and_grads(_autodiff(formula, settings), t, p)
        for grad, want in zip(grads, expected):
            np.testing.assert_allclose(grad, want, **_tolerance())


def test_lane_gradient_under_xla_in_float32():
    t, p = _random_pairs(2)
    t, p = t.astype("float32"), p.astype("float32")
    _, grads = compiled_value_and_grads(boxes.generalized_box_iou, t, p)
    _, expected = value_and_grads(
        _autodiff(boxes._generalized_box_iou, {}), t, p)
    for grad, want in zip(grads, expected):
        np.testing.assert_allclose(grad, want, rtol=1e-4, atol=1e-6)


def test_complete_box_iou_under_xla_in_float32():
    """float32 under XLA: the forward lanes and the polynomial arctan."""
    t, p = _random_pairs(3)
    value, grads = compiled_value_and_grads(
        boxes.complete_box_iou, t.astype("float32"), p.astype("float32"))
    expected_value, expected = value_and_grads(
        _autodiff(boxes._complete_box_iou, {}), t, p)
    np.testing.assert_allclose(value, expected_value, rtol=1e-5, atol=1e-6)
    for grad, want in zip(grads, expected):
        np.testing.assert_allclose(grad, want, rtol=1e-4, atol=1e-6)


def test_arctan_polynomial_is_arctan():
    x = np.concatenate([np.linspace(-50, 50, 200001),
                        [0.0, 1e-30, -1e-30, 0.41421356, 1.0, -1.0, 2.4142135,
                         1e7, -1e7, 3e38, np.inf, -np.inf]]).astype("float32")
    got = keras.ops.convert_to_numpy(dual.arctan_polynomial(x))
    want = np.arctan(x.astype("float64"))
    assert np.abs(got - want).max() < 2.5e-7
    assert np.array_equal(np.sign(got), np.sign(x))


def test_arctan_polynomial_autodiff_gradient_is_finite():
    x = np.array([0.0, 1e-30, 0.5, 1.0, -1.0, 1e7, 3e38], "float32")
    _, (grad,) = value_and_grads(
        lambda v: dual.arctan_polynomial(v), x)
    np.testing.assert_allclose(grad, 1.0 / (1.0 + x.astype("float64")**2),
                               rtol=2e-5, atol=1e-30)


@pytest.mark.parametrize("exponent", [1.0, 2.0, 3.0, 4.0, 7.0, 2.5, 0.3])
def test_power_by_multiplication_or_exp_log(exponent):
    x = np.array([1e-3, 0.3, 1.0, 2.5, 40.0])
    result = dual.power(dual.Dual(keras.ops.convert_to_tensor(x), 1.0),
                        exponent)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(result.value),
                               x**exponent, rtol=1e-6)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(result.tangent),
                               exponent * x**(exponent - 1), rtol=1e-6)


def test_lanes_only_under_xla():
    assert dual.compiled_by_xla() == (keras.backend.backend() == "jax")


def test_broadcast_inputs_keep_autodiff_shapes():
    """Boxes of different shapes broadcast; the gradient has each input's
    own shape."""
    t = np.array([[0., 0., 2., 2.]])
    p = np.array([[1., 1., 3., 3.], [0., 0., 1., 2.]])
    _, (grad_t, grad_p) = compiled_value_and_grads(
        boxes.generalized_box_iou, t, p)
    assert grad_t.shape == t.shape and grad_p.shape == p.shape
    _, expected = value_and_grads(
        _autodiff(boxes._generalized_box_iou, {}), t, p)
    np.testing.assert_allclose(grad_t, expected[0], **_tolerance())


@pytest.mark.parametrize("shapes", [((64, 4), (64, 4)), ((1, 4), (2, 4)),
                                    ((3, 1, 4), (1, 5, 4))])
def test_transposed_autodiff_equals_columns_under_xla(shapes):
    """SIoU differentiates on `(4, ...)` rows under XLA: the same value and
    gradient as on columns, broadcasting included."""
    rng = np.random.default_rng(4)
    t, p = _random_pairs(5, n=int(np.prod(shapes[0][:-1])))
    t = t.reshape(shapes[0])
    p = (rng.uniform(0, 10, shapes[1][:-1] + (2,)).repeat(2, -1)
         + np.array([0., 0., 2., 3.]))
    value, grads = compiled_value_and_grads(boxes.scylla_box_iou, t, p)
    expected_value, expected = value_and_grads(
        _autodiff(boxes._scylla_box_iou, {"theta": 4.0}), t, p)
    np.testing.assert_allclose(value, expected_value, **_tolerance())
    for grad, want in zip(grads, expected):
        assert grad.shape == want.shape
        np.testing.assert_allclose(grad, want, **_tolerance())


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_complete_box_iou_compiled_in_half_precision(dtype):
    """The helpers take half precision as given (the Loss classes cast to
    float32 first, and only they promise finite gradients on degenerate
    boxes): compiled, CIoU's arctan stays in the input's dtype, and two
    point boxes, whose eps^2 underflows there, give 0, not 0 / 0."""
    t = np.array([[0., 0., 2., 3.], [5., 5., 5., 5.]], "float32")
    p = np.array([[.5, 0., 2., 2.], [5., 5., 5., 5.]], "float32")

    def in_half_precision(a, b):  # float32 outside, for NumPy
        half = [keras.ops.cast(x, dtype) for x in (a, b)]
        return keras.ops.cast(boxes.complete_box_iou(*half), "float32")

    value, grads = compiled_value_and_grads(in_half_precision, t, p)
    expected, expected_grads = value_and_grads(
        boxes.complete_box_iou, np.array([[0., 0., 2., 3.]]),
        np.array([[.5, 0., 2., 2.]]))
    # the point pair adds 0 (IoU 0, no distance, no aspect term)
    np.testing.assert_allclose(float(value), float(expected), rtol=1e-2)
    np.testing.assert_allclose(grads[1][0], expected_grads[1][0],
                               rtol=2e-2, atol=1e-3)


def test_point_boxes_with_a_tiny_eps_have_no_aspect_term():
    point = np.array([[5., 5., 5., 5.]], "float32")
    value, grads = compiled_value_and_grads(
        lambda a, b: boxes.complete_box_iou(a, b, eps=1e-23), point, point)
    assert float(value) == 0.0
    assert all(np.isfinite(g).all() for g in grads)
    term = keras.ops.convert_to_numpy(boxes.aspect_ratio_term(
        point, point, eps=1e-23))
    np.testing.assert_array_equal(term, [0.0])


def test_power_takes_a_tensor_exponent():
    x = keras.ops.convert_to_tensor(np.array([0.5, 2.0], "float32"))
    exponent = keras.ops.convert_to_tensor(np.float32(2.5))
    result = dual.power(dual.Dual(x, 1.0), exponent)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(result.value),
                               np.array([0.5, 2.0])**2.5, rtol=1e-6)
