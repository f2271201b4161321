"""The contract every exported loss keeps. Losses are discovered from
`keras_boxloss.__all__`; a new loss fails `test_every_loss_has_examples`
until it is given example inputs here, so it cannot skip the contract."""

import inspect

import keras
import numpy as np
import pytest

import keras_boxloss
from keras_boxloss import CIoU, DIoU, GIoU, HuberBox, IoU, SmoothIoU
from tests.losses.backend_utils import to_numpy, value_and_grads

EXPORTED = sorted(
    (obj for obj in (getattr(keras_boxloss, n) for n in keras_boxloss.__all__)
     if inspect.isclass(obj) and issubclass(obj, keras.losses.Loss)),
    key=lambda cls: cls.__name__)

ANCHORS = np.float32([[0, 0, 10, 10], [5, 5, 25, 15], [-3, 2, 3, 10],
                      [0, 0, 1, 1]])

# (target, prediction) pairs, xyxy: every degenerate case the brief names.
DEGENERATE = np.float32([
    ([0, 0, 10, 10], [0, 0, 10, 10]),           # identical
    ([0, 0, 10, 10], [20, 20, 30, 30]),         # disjoint
    ([0, 0, 10, 10], [2, 2, 4, 4]),             # nested
    ([0, 0, 10, 10], [10, 0, 20, 10]),          # touching
    ([0, 0, 10, 10], [5, 5, 5, 5]),             # one zero-area
    ([1, 1, 1, 1], [3, 3, 3, 3]),               # both zero-area
    ([2, 2, 2, 2], [2, 2, 2, 2]),               # identical zero-area
    ([0, 0, 10, 0], [0, 0, 10, 0]),             # zero height, same line
    ([0, 0, 10, 10], [10, 10, 0, 0]),           # inverted prediction
    ([10, 10, 0, 0], [12, 12, 1, 1]),           # both inverted
    ([0, 0, 1e-4, 1e-4], [0, 0, 2e-4, 1e-4]),   # tiny
    ([0, 0, 1e4, 1e4], [5e3, 5e3, 2e4, 2e4]),   # huge
    ([-1, -1, -1, -1], [-1, -1, -1, -1]),       # padding left unmasked
])
DEGENERATE_DELTAS = np.float32([
    ([0, 0, 0, 0], [0, 0, 0, 0]),
    ([0, 0, 0, 0], [1e4, -1e4, 1e4, -1e4]),     # exp() would overflow
    ([1, 1, -1, -1], [-1e4, 1e4, -1e4, 1e4]),
    ([-1, -1, -1, -1], [-1, -1, -1, -1]),
])


def box_example(rng, shape=(2, 3)):
    centre = rng.uniform(0, 50, shape + (2,))
    size = rng.uniform(2, 20, shape + (2,))
    t = np.concatenate([centre - size / 2, centre + size / 2], -1)
    p = t + rng.normal(0, 2, t.shape)
    return t.astype("float32"), p.astype("float32")


def delta_example(rng, shape=(2, 4)):
    t = rng.normal(0, 1, shape + (4,)).astype("float32")
    return t, (t + rng.normal(0, 0.5, t.shape)).astype("float32")


# loss instance -> (example maker, degenerate pairs). Every exported class
# appears with its defaults and, where it has one, its deltas mode.
CASES = {
    "HuberBox": (HuberBox(), box_example, DEGENERATE),
    "IoU": (IoU(), box_example, DEGENERATE),
    "IoU-log": (IoU(mode="log"), box_example, DEGENERATE),
    "IoU-deltas": (IoU(box_format="deltas"), delta_example,
                   DEGENERATE_DELTAS),
    "GIoU": (GIoU(), box_example, DEGENERATE),
    "GIoU-deltas": (GIoU(box_format="deltas", scale_factors=(1, 1, 1, 1)),
                    delta_example, DEGENERATE_DELTAS),
    "DIoU": (DIoU(), box_example, DEGENERATE),
    "DIoU-deltas": (DIoU(box_format="deltas", anchors=ANCHORS),
                    delta_example, DEGENERATE_DELTAS),
    "CIoU": (CIoU(), box_example, DEGENERATE),
    "CIoU-deltas": (CIoU(box_format="deltas", anchors=ANCHORS),
                    delta_example, DEGENERATE_DELTAS),
    "SmoothIoU": (SmoothIoU(), box_example, DEGENERATE),
    "SmoothIoU-deltas": (SmoothIoU(box_format="deltas"), delta_example,
                         DEGENERATE_DELTAS),
    "SmoothIoU-fixed": (SmoothIoU(lambda_weight=0.3, delta=2.0),
                        box_example, DEGENERATE),
}
IDS = list(CASES)


def per_box(loss):
    config = loss.get_config()
    config["reduction"] = None
    return type(loss).from_config(config)


def test_every_loss_has_examples():
    covered = {type(loss) for loss, _, _ in CASES.values()}
    assert EXPORTED, "no losses discovered"
    assert set(EXPORTED) <= covered, set(EXPORTED) - covered


def test_every_loss_is_registered_under_the_package():
    for cls in EXPORTED:
        name = keras.saving.get_registered_name(cls)
        assert name == f"keras_boxloss>{cls.__name__}"
        assert keras.saving.get_registered_object(name) is cls


@pytest.mark.parametrize("case", IDS)
def test_config_round_trip_keeps_every_argument(case):
    loss, make, _ = CASES[case]
    config = loss.get_config()
    signature = inspect.signature(type(loss).__init__)
    assert set(signature.parameters) - {"self"} == set(config)
    rebuilt = type(loss).from_config(config)
    assert rebuilt.get_config() == config
    restored = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(loss))
    assert type(restored) is type(loss)
    assert restored.get_config() == config
    t, p = make(np.random.default_rng(0))
    np.testing.assert_allclose(to_numpy(restored(t, p)), to_numpy(loss(t, p)))


@pytest.mark.parametrize("case", IDS)
def test_finite_values_and_gradients_on_degenerate_boxes(case):
    loss, _, pairs = CASES[case]
    loss = per_box(loss)
    t, p = pairs[:, 0], pairs[:, 1]
    value, grads = value_and_grads(lambda a, b: loss(a, b), t, p)
    assert np.isfinite(value)
    for grad in grads:
        assert np.all(np.isfinite(grad)), grad
    assert np.all(to_numpy(loss(t, p)) >= -1e-6)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("case", IDS)
def test_half_precision_inputs_are_computed_in_float32(case, dtype):
    loss, make, pairs = CASES[case]
    loss = per_box(loss)
    t, p = make(np.random.default_rng(1))
    t16, p16 = (keras.ops.cast(x, dtype) for x in (t, p))
    # Same as float32 on the rounded inputs: nothing is computed in 16 bits.
    expected = loss(keras.ops.cast(t16, "float32"),
                    keras.ops.cast(p16, "float32"))
    np.testing.assert_allclose(to_numpy(loss(t16, p16)), to_numpy(expected),
                               rtol=1e-6, atol=1e-6)
    fn = type(loss).fn
    np.testing.assert_allclose(
        to_numpy(fn(t16, p16, **loss.fn_kwargs)), to_numpy(expected),
        rtol=1e-6, atol=1e-6)
    value, grads = value_and_grads(
        lambda a, b: loss(a, b), *(keras.ops.cast(x, dtype)
                                   for x in (pairs[:, 0], pairs[:, 1])))
    assert np.isfinite(value) and all(np.all(np.isfinite(g)) for g in grads)


@pytest.mark.parametrize("case", IDS)
def test_batched_equals_flattened(case):
    loss, make, _ = CASES[case]
    loss = per_box(loss)
    t, p = make(np.random.default_rng(2))
    batched = to_numpy(loss(t, p))
    assert batched.shape == t.shape[:-1]
    config = loss.get_config()
    if config.get("anchors") is not None:
        # anchors (N, 4) broadcast over the batch: flatten them alongside
        anchors = np.broadcast_to(config["anchors"], t.shape)
        config["anchors"] = anchors.reshape(-1, 4).tolist()
    flat_loss = type(loss).from_config(config)
    flat = to_numpy(flat_loss(t.reshape(-1, 4), p.reshape(-1, 4)))
    np.testing.assert_allclose(batched.reshape(-1), flat, rtol=1e-6,
                               atol=1e-7)


@pytest.mark.parametrize("case", IDS)
def test_zero_weight_boxes_contribute_exactly_nothing(case):
    loss, make, _ = CASES[case]
    config = {**loss.get_config(), "reduction": "sum"}
    loss = type(loss).from_config(config)
    t, p = make(np.random.default_rng(3), shape=(2, 4))
    # a third image of padding; NaN and inf too: masking the inputs, not
    # the outputs, keeps them out of values and gradients
    pad_t = np.concatenate([t, np.full((1, 4, 4), -1, "float32")])
    pad_p = np.concatenate([p, np.float32([[[-1] * 4, [np.nan] * 4,
                                            [np.inf, 0, 0, 0], [0] * 4]])])
    weight = np.float32([[1] * 4, [1] * 4, [0] * 4])
    value, (grad,) = value_and_grads(
        lambda a: loss(pad_t, a, sample_weight=weight), pad_p)
    np.testing.assert_allclose(value, to_numpy(loss(t, p)), rtol=1e-6)
    assert np.all(np.isfinite(grad))
    np.testing.assert_array_equal(grad[2:], 0.0)


@pytest.mark.parametrize("case", IDS)
def test_fit_with_jit_compile_matches_eager(case):
    loss, make, _ = CASES[case]
    t, p = make(np.random.default_rng(4), shape=(4, 4))
    model = keras.Sequential([
        keras.Input((4, 4)),
        keras.layers.Dense(4, kernel_initializer="identity",
                           bias_initializer="zeros"),
    ])
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss=loss,
                  jit_compile=True)
    history = model.fit(p, t, batch_size=4, epochs=1, verbose=0,
                        shuffle=False)
    eager = float(to_numpy(loss(t, p)))
    assert history.history["loss"][0] == pytest.approx(eager, rel=1e-6,
                                                       abs=1e-6)


@pytest.mark.filterwarnings("ignore:Skipping variable loading")
@pytest.mark.parametrize("case", ["HuberBox", "IoU-log", "GIoU-deltas",
                                  "CIoU-deltas", "SmoothIoU-fixed"])
def test_compiled_model_saves_and_loads_with_its_loss(case, tmp_path):
    loss, _, _ = CASES[case]
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4)])
    model.compile(optimizer="adam", loss=loss)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert type(loaded.loss) is type(loss)
    assert loaded.loss.get_config() == loss.get_config()
