"""Backend-neutral helpers for the loss tests (TensorFlow and JAX)."""

import keras
import numpy as np
from keras import ops


def to_numpy(x):
    return np.asarray(ops.convert_to_numpy(x), dtype="float64")


def value_and_grads(fn, *args):
    """Value of `sum(fn(*args))` and its gradients w.r.t. every arg."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        tensors = [tf.convert_to_tensor(a) for a in args]
        with tf.GradientTape() as tape:
            for t in tensors:
                tape.watch(t)
            value = tf.reduce_sum(fn(*tensors))
        grads = tape.gradient(value, tensors)
        return to_numpy(value), [to_numpy(g) for g in grads]
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        value, grads = jax.value_and_grad(
            lambda *a: jnp.sum(fn(*a)), argnums=tuple(range(len(args))))(
                *[jnp.asarray(a) for a in args])
        return to_numpy(value), [to_numpy(g) for g in grads]
    raise NotImplementedError(f"no gradient helper for backend {backend}")


def assert_gradient_matches_reference(fn, name, seed, spread):
    """Autodiff of `fn(targets, predictions)` w.r.t. the predictions equals
    central differences of the float64 reference loss `name`, on random
    well-separated boxes with predictions moved by up to `spread`."""
    from tests.losses import reference

    rng = np.random.default_rng(seed)
    t = np.concatenate([rng.uniform(0, 5, (6, 2)),
                        rng.uniform(6, 10, (6, 2))], -1)
    p = t + rng.uniform(-spread, spread, t.shape)
    _, (grad,) = value_and_grads(lambda a: fn(t.astype("float32"), a),
                                 p.astype("float32"))
    numeric = reference.numeric_grad(
        lambda a: reference.per_box(name, t, a).sum(), p)
    np.testing.assert_allclose(grad, numeric, rtol=1e-3, atol=1e-4)


def compiled_value_and_grads(fn, *args):
    """`value_and_grads` with the value-and-gradient computation compiled by
    XLA (`tf.function(jit_compile=True)` or `jax.jit`): what `fit` with
    `jit_compile=True` runs, without the cost of building a train step."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        @tf.function(jit_compile=True)
        def step(*tensors):
            with tf.GradientTape() as tape:
                for t in tensors:
                    tape.watch(t)
                value = tf.reduce_sum(fn(*tensors))
            return value, tape.gradient(value, list(tensors))

        value, grads = step(*[tf.convert_to_tensor(a) for a in args])
        return to_numpy(value), [to_numpy(g) for g in grads]
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        value, grads = jax.jit(jax.value_and_grad(
            lambda *a: jnp.sum(fn(*a)), argnums=tuple(range(len(args)))))(
                *[jnp.asarray(a) for a in args])
        return to_numpy(value), [to_numpy(g) for g in grads]
    raise NotImplementedError(f"no compile helper for backend {backend}")
