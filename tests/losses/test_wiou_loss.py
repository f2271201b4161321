import math
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from keras_boxloss import WIoU
from keras_boxloss.losses import iou, wiou
from keras_boxloss.losses.wiou_loss import update_iou_loss_mean
from tests.losses import reference
from tests.losses.backend_utils import to_numpy, value_and_grads

TF_ONLY = pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                             reason="the mean is updated in fit under TF")


def random_boxes(seed, n=12, spread=4):
    rng = np.random.default_rng(seed)
    t = np.concatenate([rng.uniform(0, 5, (n, 2)),
                        rng.uniform(6, 10, (n, 2))], -1)
    p = t + rng.uniform(-spread, spread, t.shape)
    p[:, 2:] = np.maximum(p[:, 2:], p[:, :2] + 0.1)
    return t.astype("float32"), p.astype("float32")


def test_v1_hand_worked_value():
    # IoU 1/7, rho^2 = 50, enclosing diagonal^2 = 450
    value = to_numpy(wiou(np.float32([[0, 0, 10, 10]]),
                          np.float32([[5, 5, 15, 15]])))
    np.testing.assert_allclose(value, [math.exp(50 / 450) * 6 / 7],
                               rtol=1e-6)


@pytest.mark.parametrize("version, mean", [(1, None), (3, 0.4), (3, 0.9)])
def test_matches_reference_on_random_boxes(version, mean):
    t, p = random_boxes(0)
    expected = [reference.wiou_loss(a, b, version, mean)
                for a, b in zip(t.astype("float64"), p.astype("float64"))]
    np.testing.assert_allclose(
        to_numpy(wiou(t, p, version=version, iou_loss_mean=mean)),
        expected, rtol=1e-5, atol=1e-7)


def test_v1_holds_only_the_enclosing_size_constant():
    """Autodiff equals finite differences of the reference with W_g, H_g
    frozen at their values (the paper's star), and differs from the
    gradient with them free."""
    t, p = random_boxes(1, n=6, spread=2)
    _, (grad,) = value_and_grads(lambda a: wiou(t, a), p)
    t64, p64 = t.astype("float64"), p.astype("float64")
    frozen = [reference.enclosing_size(a, b) for a, b in zip(t64, p64)]

    def held(points):
        total = 0.0
        for a, b, (cw, ch) in zip(t64, points, frozen):
            dx, dy = reference.centre_offset(a, b)
            total += (math.exp((dx**2 + dy**2) / (cw**2 + ch**2))
                      * reference.iou_loss(a, b))
        return total

    np.testing.assert_allclose(grad, reference.numeric_grad(held, p64),
                               rtol=1e-3, atol=1e-5)
    free = reference.numeric_grad(
        lambda a: reference.per_box("wiou", t64, a).sum(), p64)
    assert not np.allclose(grad, free, rtol=1e-3, atol=1e-5)


def test_v3_focusing_coefficient_is_held_constant():
    t, p = random_boxes(2, n=6, spread=2)
    _, (v3,) = value_and_grads(
        lambda a: wiou(t, a, version=3, iou_loss_mean=0.5), p)
    _, (v1,) = value_and_grads(lambda a: wiou(t, a), p)
    beta = (1 - np.array([reference.iou(a, b) for a, b in zip(t, p)])) / 0.5
    r = beta / (3.0 * 1.9 ** (beta - 3.0))
    np.testing.assert_allclose(v3, r[:, None] * v1, rtol=1e-4, atol=1e-7)


def test_v3_function_needs_the_mean():
    with pytest.raises(ValueError, match="Expected `iou_loss_mean`"):
        wiou(np.float32([[0, 0, 1, 1]]), np.float32([[0, 0, 1, 1]]),
             version=3)


@pytest.mark.parametrize("kwargs, arg", [
    ({"version": 2}, "version"), ({"version": True}, "version"),
    ({"momentum": 1.5}, "momentum"), ({"iou_loss_mean": 0.0},
                                      "iou_loss_mean"),
    ({"alpha": -1.0}, "alpha"), ({"delta": 0}, "delta")])
def test_bad_arguments_are_named(kwargs, arg):
    with pytest.raises(ValueError, match=f"Expected `{arg}`.*Received: "
                                         f"{arg}="):
        WIoU(**kwargs)


def test_update_is_the_masked_running_mean():
    loss = np.float32([0.2, 0.6, 0.9])
    new = update_iou_loss_mean(1.0, loss, 0.25, mask=[1, 1, 0])
    assert float(to_numpy(new)) == pytest.approx(0.75 * 1.0 + 0.25 * 0.4)
    # no box counted: unchanged
    assert float(to_numpy(update_iou_loss_mean(
        0.7, loss, 0.25, mask=[0, 0, 0]))) == pytest.approx(0.7)


def test_class_moves_the_mean_on_each_eager_call_and_zero_weight_boxes_do_not_count():
    if keras.backend.backend() == "jax":
        pytest.skip("eager calls update under JAX too, but the gradient "
                    "helpers trace; covered by the TF run")
    loss = WIoU(version=3, momentum=0.5, iou_loss_mean=1.0)
    t = np.float32([[0, 0, 10, 10], [0, 0, 10, 10]])
    p = np.float32([[0, 0, 10, 10], [20, 20, 30, 30]])
    loss(t, p, sample_weight=np.float32([1, 0]))  # IoU loss 0 counted only
    assert loss.get_config()["iou_loss_mean"] == pytest.approx(0.5)
    value = loss(t, p, sample_weight=np.float32([0, 1]))  # IoU loss 1
    assert loss.get_config()["iou_loss_mean"] == pytest.approx(0.75)
    # the value used the updated mean: beta = 1 / 0.75
    beta = 1 / 0.75
    r = beta / (3 * 1.9 ** (beta - 3))
    expected = r * math.exp(800 / 1800) * 1.0 / 2  # sum over batch size 2
    assert float(to_numpy(value)) == pytest.approx(expected, rel=1e-5)


def test_config_keeps_momentum_and_the_current_mean():
    loss = WIoU(version=3, momentum=0.1, iou_loss_mean=0.8)
    if keras.backend.backend() != "jax":
        t, p = random_boxes(3)
        loss(t, p)
    config = loss.get_config()
    assert config["momentum"] == 0.1
    current = float(to_numpy(loss.iou_loss_mean_variable.value))
    assert config["iou_loss_mean"] == pytest.approx(current)
    rebuilt = WIoU.from_config(config)
    assert rebuilt.momentum == 0.1
    assert float(to_numpy(rebuilt.iou_loss_mean_variable.value)) == (
        pytest.approx(current))


def _tiny_fit(loss, jit_compile, steps):
    t, p = random_boxes(4, n=8)
    model = keras.Sequential([
        keras.Input((4,)),
        keras.layers.Dense(4, kernel_initializer="identity",
                           bias_initializer="zeros")])
    # lr 0: every step sees the same predictions, so the mean's path is
    # known in closed form
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss=loss,
                  jit_compile=jit_compile)
    model.fit(p, t, batch_size=8, epochs=steps, verbose=0, shuffle=False)
    batch = float(np.mean(to_numpy(iou(t, p))))  # iou is the loss 1 - IoU
    return model, batch


@TF_ONLY
@pytest.mark.parametrize("jit_compile", [False, True])
def test_fit_moves_the_mean_as_specified(jit_compile):
    loss = WIoU(version=3, momentum=0.2, iou_loss_mean=1.0)
    _, batch = _tiny_fit(loss, jit_compile, steps=3)
    expected = batch + (1.0 - batch) * 0.8 ** 3
    assert float(to_numpy(loss.iou_loss_mean_variable.value)) == (
        pytest.approx(expected, rel=1e-5))


@TF_ONLY
@pytest.mark.filterwarnings("ignore:Skipping variable loading")
def test_keras_file_round_trip_keeps_momentum_and_mean(tmp_path):
    loss = WIoU(version=3, momentum=0.2, iou_loss_mean=1.0)
    model, _ = _tiny_fit(loss, False, steps=2)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert type(loaded.loss) is WIoU
    assert loaded.loss.momentum == 0.2
    assert float(to_numpy(loaded.loss.iou_loss_mean_variable.value)) == (
        pytest.approx(float(to_numpy(loss.iou_loss_mean_variable.value))))


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="JAX only")
def test_jax_fit_refuses_a_moving_mean_and_accepts_a_fixed_one():
    with pytest.raises(ValueError, match="momentum=0"):
        _tiny_fit(WIoU(version=3, momentum=0.2), True, steps=1)
    loss = WIoU(version=3, momentum=0.0, iou_loss_mean=0.6)
    _tiny_fit(loss, True, steps=1)
    assert loss.get_config()["iou_loss_mean"] == pytest.approx(0.6)


MIRRORED = textwrap.dedent("""
    import os
    os.environ["KERAS_BACKEND"] = "tensorflow"
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    from keras_boxloss import WIoU
    from keras_boxloss.losses import iou
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    t = np.float32([[0, 0, 10, 10]] * 2 + [[0, 0, 10, 10]] * 2)
    p = np.float32([[0, 0, 10, 10]] * 2 + [[5, 0, 15, 10]] * 2)
    with strategy.scope():
        loss = WIoU(version=3, momentum=0.5, iou_loss_mean=1.0)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(
            4, kernel_initializer="identity", bias_initializer="zeros")])
        model.compile(optimizer=keras.optimizers.SGD(0.0), loss=loss)
    model.fit(p, t, batch_size=4, epochs=1, verbose=0, shuffle=False)
    print("MEAN", loss.get_config()["iou_loss_mean"])
""")


@TF_ONLY
@pytest.mark.slow  # minutes on 2 CPU cores: CI budget
def test_mirrored_strategy_all_reduces_the_replicas_means():
    """Two logical CPUs: replica 0 sees IoU loss 0, replica 1 IoU loss
    2/3; the mirrored mean is 0.5 * 1 + 0.5 * mean(0, 2/3) = 2/3 (each
    replica alone would give 0.5 or 0.8333)."""
    env = {**os.environ, "KERAS_BACKEND": "tensorflow",
           "CUDA_VISIBLE_DEVICES": ""}
    root = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    result = subprocess.run([sys.executable, "-c", MIRRORED], env=env,
                            cwd=root, capture_output=True, text=True,
                            timeout=300)
    lines = [l for l in result.stdout.splitlines() if l.startswith("MEAN")]
    assert lines, result.stderr[-3000:]
    assert float(lines[-1].split()[1]) == pytest.approx(2 / 3, rel=1e-5)


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
@pytest.mark.parametrize("mean", [1e-6, 0.5, 1.0])
def test_v3_degenerate_boxes_are_finite_for_any_mean(mean, dtype):
    """A tiny running mean makes beta huge: alpha^beta would overflow,
    r must go to 0 instead; a moving mean (TF) too."""
    from tests.losses.test_loss_contract import DEGENERATE

    t, p = (keras.ops.cast(DEGENERATE[:, i], dtype) for i in (0, 1))
    value, grads = value_and_grads(
        lambda a, b: wiou(a, b, version=3, iou_loss_mean=mean), t, p)
    assert np.isfinite(value) and all(np.all(np.isfinite(g)) for g in grads)
    if keras.backend.backend() == "tensorflow":
        loss = WIoU(version=3, momentum=0.5, iou_loss_mean=mean)
        value, grads = value_and_grads(lambda a, b: loss(a, b), t, p)
        assert np.isfinite(value)
        assert all(np.all(np.isfinite(g)) for g in grads)
        assert np.isfinite(loss.get_config()["iou_loss_mean"])
