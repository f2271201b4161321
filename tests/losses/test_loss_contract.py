"""The contract every exported loss keeps. Losses are discovered from
`keras_boxloss.__all__`; a new loss fails `test_every_loss_has_examples`
until it is given example inputs here, so it cannot skip the contract."""

import functools
import inspect
from dataclasses import dataclass
from typing import Callable

import keras
from keras import ops
import numpy as np
import pytest

import keras_boxloss
from keras_boxloss import (CIoU, DIoU, GIoU, HuberBox, IoU, MultiBox,
                           SmoothIoU, YOLOv1)
from keras_boxloss import BalancedL1, InnerIoU, MPDIoU, NWD, ShapeIoU
from keras_boxloss import EIoU, FocalEIoU
from keras_boxloss.losses import AlphaIoU, SIoU, WIoU
from keras_boxloss.losses.detector_loss import DetectorLoss
from tests.losses.backend_utils import (compiled_value_and_grads, to_numpy,
                                        value_and_grads)

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


def box_padding(like_t, like_p):
    """One padded item: -1 padding and NaN/inf garbage. Masking the inputs,
    not the outputs, must keep them out of values and gradients."""
    pad_t = np.full(like_t.shape, -1, "float32")
    pad_p = np.full(like_p.shape, -1, "float32").reshape(-1, 4)
    pad_p[1::4] = np.nan
    pad_p[2::4] = [np.inf, 0, 0, 0]
    return pad_t, pad_p.reshape(like_p.shape)


@dataclass
class Case:
    loss: keras.losses.Loss
    make: Callable            # (rng, batch shape) -> (y_true, y_pred)
    degenerate: tuple         # (y_true, y_pred) of hard cases
    pad: Callable = box_padding
    elementwise: bool = True  # one loss per box, independent of the batch


def pairs(array):
    return array[:, 0], array[:, 1]


NUM_CLASSES = 2


def multibox_example(rng, shape=(2, 4)):
    """(images, anchors) of [deltas, class] targets and [deltas, logits]."""
    deltas = rng.normal(0, 1, shape + (4,))
    classes = rng.integers(-1, NUM_CLASSES + 1, shape + (1,))
    classes[..., 0, 0] = 1  # at least one positive per image
    y_true = np.concatenate([deltas, classes], -1).astype("float32")
    y_pred = np.concatenate([deltas + rng.normal(0, 0.5, deltas.shape),
                             rng.normal(0, 2, shape + (NUM_CLASSES + 1,))],
                            -1).astype("float32")
    return y_true, y_pred


def multibox_padding(like_t, like_p):
    return (np.full(like_t.shape, np.nan, "float32"),
            np.full(like_p.shape, np.inf, "float32"))


MULTIBOX_DEGENERATE = (
    np.float32([[[0, 0, 0, 0, 1], [1e4, -1e4, 1e4, -1e4, 2],
                 [0, 0, 0, 0, 0], [0, 0, 0, 0, -1]]]),
    np.float32([[[1e4, -1e4, 1e4, -1e4, 1e4, -1e4, 0],
                 [0, 0, 0, 0, -1e4, 1e4, 1e4],
                 [0, 0, 0, 0, 1e4, 1e4, 1e4],
                 [np.nan] * 7]]),
)

def yolo_example(rng, shape=(2, 3)):
    """YOLOv1() (S=7, B=2, C=20): padded targets (batch, max_boxes, 5) rows
    [class, x1, y1, x2, y2], the last row of each image padding, and
    predictions (batch, 7, 7, 30). `shape` is (batch, max_boxes)."""
    centre = rng.uniform(0.1, 0.9, shape + (2,))
    size = rng.uniform(0.05, 0.4, shape + (2,))
    label = rng.integers(0, 20, shape + (1,)).astype("float64")
    label[:, -1] = -1
    t = np.concatenate([label, centre - size / 2, centre + size / 2], -1)
    p = rng.normal(0.5, 0.3, (shape[0], 7, 7, 30))
    return t.astype("float32"), p.astype("float32")


def yolo_padding(like_t, like_p):
    pad_t = np.full(like_t.shape, np.nan, "float32")
    pad_t[..., 0] = -1
    return pad_t, np.full(like_p.shape, np.inf, "float32")


def yolo_degenerate():
    sizes = [-1.0, 0.0, 1e-12, 1.0]
    p = np.zeros((len(sizes) ** 2, 7, 7, 30), "float32")
    for k, (w, h) in enumerate((w, h) for w in sizes for h in sizes):
        p[k, ..., :10] = [0.5, 0.5, w, h, 0.5] * 2  # both predictors alike
    # huge outputs where the ordinary box is (1e3: the gradient of a squared
    # error at 1e4 would not fit float16)
    p[-1, 1, 1, :10] = [1e3, -1e3, 1e3, -1e3, 1e3] * 2
    boxes = np.float32([
        [0, 0.1, 0.1, 0.4, 0.4],          # ordinary
        [1, 0.5, 0.5, 0.5, 0.5],          # zero-area
        [2, 0.9, 0.9, 0.6, 0.6],          # inverted
        [3, -2.0, -2.0, -1.0, -1.0],      # outside the image
        [4, 0.11, 0.11, 0.39, 0.39],      # same cell as the first
        [-1, np.nan, np.inf, -1, 1e30],   # padding holding garbage
    ])
    return np.broadcast_to(boxes, (len(p),) + boxes.shape).copy(), p


# Every exported class appears with its defaults and, where it has one, its
# deltas mode.
CASES = {
    "HuberBox": Case(HuberBox(), box_example, pairs(DEGENERATE)),
    "IoU": Case(IoU(), box_example, pairs(DEGENERATE)),
    "IoU-log": Case(IoU(mode="log"), box_example, pairs(DEGENERATE)),
    "IoU-deltas": Case(IoU(box_format="deltas"), delta_example,
                       pairs(DEGENERATE_DELTAS)),
    "GIoU": Case(GIoU(), box_example, pairs(DEGENERATE)),
    "GIoU-deltas": Case(GIoU(box_format="deltas",
                             scale_factors=(1, 1, 1, 1)),
                        delta_example, pairs(DEGENERATE_DELTAS)),
    "DIoU": Case(DIoU(), box_example, pairs(DEGENERATE)),
    "DIoU-deltas": Case(DIoU(box_format="deltas", anchors=ANCHORS),
                        delta_example, pairs(DEGENERATE_DELTAS)),
    "CIoU": Case(CIoU(), box_example, pairs(DEGENERATE)),
    "CIoU-deltas": Case(CIoU(box_format="deltas", anchors=ANCHORS),
                        delta_example, pairs(DEGENERATE_DELTAS)),
    "SmoothIoU": Case(SmoothIoU(), box_example, pairs(DEGENERATE)),
    "SmoothIoU-deltas": Case(SmoothIoU(box_format="deltas"), delta_example,
                             pairs(DEGENERATE_DELTAS)),
    "SmoothIoU-fixed": Case(SmoothIoU(lambda_weight=0.3, delta=2.0),
                            box_example, pairs(DEGENERATE)),
    "BalancedL1": Case(BalancedL1(), box_example, pairs(DEGENERATE)),
    "BalancedL1-knee": Case(BalancedL1(alpha=1.0, gamma=3.0, beta=0.5),
                            box_example, pairs(DEGENERATE)),
    "NWD": Case(NWD(), box_example, pairs(DEGENERATE)),
    "NWD-deltas": Case(NWD(constant=0.5, box_format="deltas",
                           anchors=ANCHORS),
                       delta_example, pairs(DEGENERATE_DELTAS)),
    "MPDIoU": Case(MPDIoU(image_size=(60, 50)), box_example,
                   pairs(DEGENERATE)),
    "MPDIoU-deltas": Case(MPDIoU(image_size=(30, 40), box_format="deltas",
                                 anchors=ANCHORS),
                          delta_example, pairs(DEGENERATE_DELTAS)),
    "InnerIoU": Case(InnerIoU(), box_example, pairs(DEGENERATE)),
    "InnerIoU-giou-deltas": Case(InnerIoU(ratio=1.25, base="giou",
                                          box_format="deltas"),
                                 delta_example, pairs(DEGENERATE_DELTAS)),
    "InnerIoU-ciou-deltas": Case(InnerIoU(ratio=0.5, base="ciou",
                                          box_format="deltas",
                                          anchors=ANCHORS),
                                 delta_example, pairs(DEGENERATE_DELTAS)),
    "InnerIoU-siou": Case(InnerIoU(ratio=1.1, base="siou"), box_example,
                          pairs(DEGENERATE)),
    "ShapeIoU": Case(ShapeIoU(), box_example, pairs(DEGENERATE)),
    "ShapeIoU-scaled": Case(ShapeIoU(scale=1.5), box_example,
                            pairs(DEGENERATE)),
    "ShapeIoU-deltas": Case(ShapeIoU(scale=0.5, box_format="deltas",
                                     anchors=ANCHORS),
                            delta_example, pairs(DEGENERATE_DELTAS)),
    "EIoU": Case(EIoU(), box_example, pairs(DEGENERATE)),
    "EIoU-deltas": Case(EIoU(box_format="deltas", anchors=ANCHORS),
                        delta_example, pairs(DEGENERATE_DELTAS)),
    "FocalEIoU": Case(FocalEIoU(), box_example, pairs(DEGENERATE)),
    "FocalEIoU-gradient-deltas": Case(
        FocalEIoU(gamma=0.25, weight_gradient=True, box_format="deltas",
                  anchors=ANCHORS),
        delta_example, pairs(DEGENERATE_DELTAS)),
    "AlphaIoU": Case(AlphaIoU(), box_example, pairs(DEGENERATE)),
    "AlphaIoU-giou-deltas": Case(
        AlphaIoU(alpha=1.5, penalty="giou", box_format="deltas"),
        delta_example, pairs(DEGENERATE_DELTAS)),
    "AlphaIoU-ciou": Case(AlphaIoU(alpha=2.5, penalty="ciou"), box_example,
                          pairs(DEGENERATE)),
    "AlphaIoU-diou-deltas": Case(
        AlphaIoU(penalty="diou", box_format="deltas", anchors=ANCHORS),
        delta_example, pairs(DEGENERATE_DELTAS)),
    "SIoU": Case(SIoU(), box_example, pairs(DEGENERATE)),
    "SIoU-deltas": Case(SIoU(theta=1.5, box_format="deltas",
                             anchors=ANCHORS),
                        delta_example, pairs(DEGENERATE_DELTAS)),
    "WIoU": Case(WIoU(), box_example, pairs(DEGENERATE)),
    "WIoU-deltas": Case(WIoU(box_format="deltas", anchors=ANCHORS),
                        delta_example, pairs(DEGENERATE_DELTAS)),
    # v3 with a fixed mean (momentum 0): pure, so it can be compared call
    # to call; the moving mean is tested in test_wiou_loss.py.
    "WIoU-v3-fixed": Case(WIoU(version=3, momentum=0.0, iou_loss_mean=0.3),
                          box_example, pairs(DEGENERATE)),
    "MultiBox": Case(MultiBox(NUM_CLASSES), multibox_example,
                     MULTIBOX_DEGENERATE, multibox_padding, False),
    "MultiBox-giou": Case(MultiBox(NUM_CLASSES, box_loss=GIoU()),
                          multibox_example, MULTIBOX_DEGENERATE,
                          multibox_padding, False),
    "MultiBox-ciou-focal": Case(
        MultiBox(NUM_CLASSES, box_loss=CIoU(), anchors=ANCHORS,
                 classification="sigmoid_focal"),
        lambda rng, shape=(2, 4): tuple(
            a[..., :-1] if i else a  # C sigmoid logits, no background
            for i, a in enumerate(multibox_example(rng, shape))),
        (MULTIBOX_DEGENERATE[0], MULTIBOX_DEGENERATE[1][..., :-1]),
        multibox_padding, False),
    "YOLOv1": Case(YOLOv1(), yolo_example, yolo_degenerate(), yolo_padding,
                   False),
    "YOLOv1-CIoU": Case(YOLOv1(box_loss=CIoU(), confidence_target="one"),
                        yolo_example, yolo_degenerate(), yolo_padding, False),
}
IDS = list(CASES)


def function_form(loss):
    """The loss' function (`giou`, `yolo_v1`, `multibox`, ...) with the
    loss' settings, taken from its public config."""
    fn = {YOLOv1: keras_boxloss.losses.yolo_v1,
          MultiBox: keras_boxloss.losses.multibox}.get(
        type(loss), getattr(type(loss), "fn", None))
    if fn is None:
        return None
    parameters = inspect.signature(fn).parameters
    kwargs = {key: keras.saving.deserialize_keras_object(value)
              if isinstance(value, dict) else value
              for key, value in loss.get_config().items()
              if key in parameters}
    return functools.partial(fn, **kwargs)


def unreduced_shape(loss, t, p):
    """The shape of `unreduced(loss)(t, p)`; traced, not run, on JAX (op
    by op, the detector losses take most of a minute there)."""
    if keras.backend.backend() == "jax":
        import jax

        return jax.eval_shape(unreduced(loss), t, p).shape
    return tuple(ops.shape(unreduced(loss)(t, p)))


def unreduced(loss):
    config = loss.get_config()
    config["reduction"] = None
    return type(loss).from_config(config)


def test_every_loss_has_examples():
    covered = {type(case.loss) for case in CASES.values()}
    assert EXPORTED, "no losses discovered"
    assert set(EXPORTED) <= covered, set(EXPORTED) - covered


def test_every_loss_is_registered_under_the_package():
    for cls in EXPORTED:
        name = keras.saving.get_registered_name(cls)
        assert name == f"keras_boxloss>{cls.__name__}"
        assert keras.saving.get_registered_object(name) is cls


@pytest.mark.parametrize("case", IDS)
def test_config_round_trip_keeps_every_argument(case):
    loss, make = CASES[case].loss, CASES[case].make
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
def test_finite_values_and_gradients_on_degenerate_inputs(case):
    loss = unreduced(CASES[case].loss)
    t, p = CASES[case].degenerate
    value, grads = value_and_grads(lambda a, b: loss(a, b), t, p)
    assert np.isfinite(value)
    for grad in grads:
        assert np.all(np.isfinite(grad)), grad
    assert np.all(to_numpy(loss(t, p)) >= -1e-6)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("case", IDS)
def test_half_precision_inputs_are_computed_in_float32(case, dtype):
    loss = unreduced(CASES[case].loss)
    t, p = CASES[case].make(np.random.default_rng(1))
    t16, p16 = (keras.ops.cast(x, dtype) for x in (t, p))
    # Same as float32 on the rounded inputs: nothing is computed in 16 bits.
    expected = loss(keras.ops.cast(t16, "float32"),
                    keras.ops.cast(p16, "float32"))
    np.testing.assert_allclose(to_numpy(loss(t16, p16)), to_numpy(expected),
                               rtol=1e-6, atol=1e-6)
    function = function_form(loss)
    if function is not None:  # the function form too
        np.testing.assert_allclose(to_numpy(function(t16, p16)),
                                   to_numpy(expected), rtol=1e-6, atol=1e-6)
    value, grads = value_and_grads(
        lambda a, b: loss(a, b),
        *(keras.ops.cast(np.nan_to_num(x, nan=0.0, posinf=1e4, neginf=-1e4),
                         dtype) for x in CASES[case].degenerate))
    assert np.isfinite(value) and all(np.all(np.isfinite(g)) for g in grads)


@pytest.mark.parametrize("case", [c for c in IDS if CASES[c].elementwise])
def test_batched_equals_flattened(case):
    loss = unreduced(CASES[case].loss)
    t, p = CASES[case].make(np.random.default_rng(2))
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
def test_zero_weight_items_contribute_exactly_nothing(case):
    config = {**CASES[case].loss.get_config(), "reduction": "sum"}
    loss = type(CASES[case].loss).from_config(config)
    t, p = CASES[case].make(np.random.default_rng(3), shape=(2, 4))
    pad_t, pad_p = CASES[case].pad(t[:1], p[:1])
    all_t, all_p = np.concatenate([t, pad_t]), np.concatenate([p, pad_p])
    # one weight per loss value: per box, or per image for MultiBox
    weight = np.ones(to_numpy(unreduced(loss)(t, p)).shape[1:], "float32")
    weight = np.stack([weight, weight, 0 * weight])
    value, (grad,) = value_and_grads(
        lambda a: loss(all_t, a, sample_weight=weight), all_p)
    np.testing.assert_allclose(value, to_numpy(loss(t, p)), rtol=1e-6)
    assert np.all(np.isfinite(grad))
    np.testing.assert_array_equal(grad[2:], 0.0)


@pytest.mark.parametrize("case", IDS)
def test_xla_value_and_gradient_match_eager(case):
    # Every loss: XLA-compiled value and gradient equal eager ones, padded
    # and zero-weighted items included.
    loss = CASES[case].loss
    t, p = CASES[case].make(np.random.default_rng(4), shape=(4, 4))
    pad_t, pad_p = CASES[case].pad(t[:1], p[:1])
    all_t, all_p = np.concatenate([t, pad_t]), np.concatenate([p, pad_p])
    weight = np.ones(unreduced_shape(loss, t, p)[1:], "float32")
    weight = np.stack([weight] * 4 + [0 * weight])

    def fn(a):
        return loss(all_t, a, sample_weight=weight)

    xla_value, (xla_grad,) = compiled_value_and_grads(fn, all_p)
    if keras.backend.backend() == "jax":
        # JAX runs every op through XLA anyway, and op by op the detector
        # losses take most of a minute (a compile per op and shape): the
        # box losses' values are compared, and the gradient is checked for
        # what padding must give.
        if not isinstance(loss, DetectorLoss):
            np.testing.assert_allclose(
                xla_value, to_numpy(ops.sum(fn(all_p))), rtol=1e-5,
                atol=1e-6)
        assert np.all(np.isfinite(xla_grad))
        np.testing.assert_array_equal(xla_grad[4:], 0.0)
        return
    value, (grad,) = value_and_grads(fn, all_p)
    np.testing.assert_allclose(xla_value, value, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(xla_grad, grad, rtol=1e-4, atol=1e-6)


# `fit` with jit_compile for one loss of each kind (box loss, deltas, Smooth
# IoU's lambda, the detector losses, WIoU's state); the rest of the matrix
# is slow-marked: `test_xla_value_and_gradient_match_eager` covers every
# loss's compiled value and gradient at a fraction of the cost.
FIT_DEFAULT = ("HuberBox", "IoU", "CIoU-deltas", "SmoothIoU",
               "MultiBox-ciou-focal", "YOLOv1-CIoU", "WIoU-v3-fixed")


@pytest.mark.parametrize("case", [
    c if c in FIT_DEFAULT else pytest.param(c, marks=pytest.mark.slow)
    for c in IDS])
def test_fit_with_jit_compile_matches_eager(case):
    loss = CASES[case].loss
    t, p = CASES[case].make(np.random.default_rng(4), shape=(4, 4))
    model = keras.Sequential([
        keras.Input(p.shape[1:]),
        keras.layers.Dense(p.shape[-1], kernel_initializer="identity",
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
                                  "CIoU-deltas", "SmoothIoU-fixed",
                                  "MultiBox-ciou-focal", "YOLOv1-CIoU",
                                  "BalancedL1-knee", "NWD-deltas",
                                  "MPDIoU-deltas", "InnerIoU-ciou-deltas",
                                  "ShapeIoU-deltas",
                                  "FocalEIoU-gradient-deltas",
                                  "AlphaIoU-ciou", "SIoU-deltas",
                                  "WIoU-v3-fixed"])
def test_compiled_model_saves_and_loads_with_its_loss(case, tmp_path):
    loss = CASES[case].loss
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4)])
    model.compile(optimizer="adam", loss=loss)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert type(loaded.loss) is type(loss)
    assert loaded.loss.get_config() == loss.get_config()
