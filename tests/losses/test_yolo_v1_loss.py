"""YOLOv1 loss: a case worked by hand term by term, the target forms, the
two-objects rule, the responsible predictor, the square root, box_loss, XLA
and the config. S = 2, B = 2, C = 3 throughout unless said otherwise."""

import functools
import math

import keras
import numpy as np
import pytest

from keras_boxloss import CIoU, GIoU, HuberBox, SmoothIoU
from keras_boxloss.losses import yolo_v1_loss
from keras_boxloss.losses.yolo_v1_loss import (YOLOv1, grid_targets,
                                               signed_sqrt, yolo_v1,
                                               yolo_v1_terms)
from tests.losses import reference
from tests.losses.backend_utils import to_numpy
from tests.losses.backend_utils import value_and_grads as eager_value_and_grads

S, B, C = 2, 2, 3
EPS = 1e-7
SMALL = dict(grid_size=S, boxes_per_cell=B, num_classes=C)

# Image 0: object A (class 1) centred at (0.3, 0.4) -> cell row 0, col 0,
# offsets (0.6, 0.8), size 0.4 x 0.4; object B (class 2) centred at
# (0.75, 0.75) -> cell row 1, col 1, offsets (0.5, 0.5), size 0.4 x 0.5.
# Image 1: padding only.
PADDED = np.float32([
    [[1, .1, .2, .5, .6], [2, .55, .5, .95, 1.], [-1, -1, -1, -1, -1]],
    [[-1] * 5] * 3,
])
GRID = np.zeros((2, S, S, 5 + C), "float32")
GRID[0, 0, 0] = [.6, .8, .4, .4, 1, 0, 1, 0]
GRID[0, 1, 1] = [.5, .5, .4, .5, 1, 0, 0, 1]

PRED = np.zeros((2, S, S, 5 * B + C), "float32")
# per cell: predictor 0 (x, y, w, h, conf), predictor 1, classes
PRED[0, 0, 0] = [.5, .5, .3, .3, .6, .6, .7, .4, .5, .3, .2, .5, .1]
PRED[0, 0, 1] = [.5, .5, .2, .2, .1, .3, .3, .7, .1, -.2, .9, .9, .9]
PRED[0, 1, 0] = [.1, .9, -.5, 0, 0, .5, .5, .5, .5, .3, .4, 0, .6]
PRED[0, 1, 1] = [.4, .6, .5, .4, .9, .5, .5, -.1, .2, .2, .1, .3, .7]
PRED[1, 0, 1, 5:] = [.2, .2, .2, .2, .5, 1, 1, 1]


def value_and_grads(fn, *args):
    """`backend_utils.value_and_grads`, jit-compiled on JAX: one XLA program
    instead of JAX's op-by-op compiles, which take most of a minute."""
    if keras.backend.backend() != "jax":
        return eager_value_and_grads(fn, *args)
    import jax
    import jax.numpy as jnp

    value, grads = jax.jit(jax.value_and_grad(
        lambda *a: jnp.sum(fn(*a)), argnums=tuple(range(len(args)))))(*args)
    return to_numpy(value), [to_numpy(g) for g in grads]


def evaluate(fn, *args, **kwargs):
    """`fn(*args, **kwargs)` as float64 NumPy (a dict stays a dict). On JAX
    jit-compiled with the keyword arguments static, one program per `fn`
    and keywords, reused across calls of the same shapes."""
    if keras.backend.backend() == "jax":
        import jax

        key = (fn, tuple(sorted(kwargs.items())))
        if key not in _JITTED:
            _JITTED[key] = jax.jit(functools.partial(fn, **kwargs))
        fn, kwargs = _JITTED[key], {}
    out = fn(*args, **kwargs)
    if isinstance(out, dict):
        return {key: to_numpy(value) for key, value in out.items()}
    return to_numpy(out)


_JITTED = {}


def root(v):
    """The documented square root for v >= 0."""
    return math.sqrt(v + EPS) - math.sqrt(EPS)


def hand_terms(confidence_target="iou"):
    """Image 0 and image 1, term by term, in plain Python."""
    # Cell (0, 0), truth A = [.1, .2, .5, .6] (area .16):
    #  predictor 0: centre ((0 + .5) / 2, (0 + .5) / 2) = (.25, .25), .3 x .3
    #    -> [.1, .1, .4, .4]; intersection .3 x .2 = .06,
    #    union .16 + .09 - .06 = .19
    #  predictor 1: centre (.6 / 2, .7 / 2) = (.3, .35), .4 x .5
    #    -> [.1, .1, .5, .6]; intersection .4 x .4 = .16,
    #    union .16 + .20 - .16 = .20  -> responsible
    iou_a0, iou_a1 = .06 / (.19 + EPS), .16 / (.20 + EPS)
    assert iou_a1 > iou_a0
    # Cell (1, 1), truth B = [.55, .5, .95, 1.] (area .2):
    #  predictor 0: centre ((1 + .4) / 2, (1 + .6) / 2) = (.7, .8), .5 x .4
    #    -> [.45, .6, .95, 1.]; intersection .4 x .4 = .16,
    #    union .2 + .2 - .16 = .24  -> responsible
    #  predictor 1: width -.1, an empty box: IoU 0
    iou_b0 = .16 / (.24 + EPS)
    coord = 5.0 * (
        (.6 - .6) ** 2 + (.8 - .7) ** 2                       # A, pred 1
        + (root(.4) - root(.4)) ** 2 + (root(.4) - root(.5)) ** 2
        + (.5 - .4) ** 2 + (.5 - .6) ** 2                     # B, pred 0
        + (root(.4) - root(.5)) ** 2 + (root(.5) - root(.4)) ** 2)
    if confidence_target == "iou":
        obj = (iou_a1 - .3) ** 2 + (iou_b0 - .9) ** 2
    else:
        obj = (1 - .3) ** 2 + (1 - .9) ** 2
    # every predictor but the two responsible ones, object cells included:
    # (0,0) p0 .6; (0,1) .1, -.2; (1,0) 0, .3; (1,1) p1 .2
    noobj = 0.5 * (.6 ** 2 + .1 ** 2 + .2 ** 2 + 0 ** 2 + .3 ** 2
                   + .2 ** 2)
    cls = ((0 - .2) ** 2 + (1 - .5) ** 2 + (0 - .1) ** 2     # A: class 1
           + (0 - .1) ** 2 + (0 - .3) ** 2 + (1 - .7) ** 2)  # B: class 2
    image_1 = {"coord": 0.0, "object": 0.0, "no_object": 0.5 * .5 ** 2,
               "class": 0.0}
    return {"coord": coord, "object": obj, "no_object": noobj,
            "class": cls}, image_1


@pytest.mark.parametrize("target", ["padded", "grid"])
@pytest.mark.parametrize("confidence_target", ["iou", "one"])
def test_hand_worked_case_term_by_term(target, confidence_target):
    y_true = PADDED if target == "padded" else GRID
    image_0, image_1 = hand_terms(confidence_target)
    terms = evaluate(yolo_v1_terms, y_true, PRED,
                     confidence_target=confidence_target, **SMALL)
    for name in yolo_v1_loss.TERMS:
        np.testing.assert_allclose(terms[name],
                                   [image_0[name], image_1[name]],
                                   rtol=1e-5, atol=1e-7, err_msg=name)


def test_summed_over_the_image_and_averaged_over_the_batch():
    image_0, image_1 = hand_terms()
    total = [sum(image_0.values()), sum(image_1.values())]
    np.testing.assert_allclose(evaluate(yolo_v1, PADDED, PRED, **SMALL),
                               total, rtol=1e-5)
    np.testing.assert_allclose(
        evaluate(YOLOv1(reduction=None, **SMALL), PADDED, PRED), total,
        rtol=1e-5)
    np.testing.assert_allclose(evaluate(YOLOv1(**SMALL), PADDED, PRED),
                               sum(total) / 2, rtol=1e-5)


def test_confidence_targets_differ_only_in_the_object_term():
    iou = evaluate(yolo_v1_terms, PADDED, PRED, **SMALL)
    one = evaluate(yolo_v1_terms, PADDED, PRED, confidence_target="one",
                   **SMALL)
    for name in ("coord", "no_object", "class"):
        np.testing.assert_array_equal(iou[name], one[name])
    assert one["object"][0] > iou["object"][0]


def test_padded_boxes_become_the_grid_target():
    grid = evaluate(grid_targets, PADDED, grid_size=S, num_classes=C)
    np.testing.assert_allclose(grid, GRID, atol=1e-6)


def test_both_target_forms_give_the_same_loss_and_gradient():
    rng = np.random.default_rng(0)
    centre = rng.uniform(.1, .9, (4, 5, 2))
    size = rng.uniform(.05, .4, (4, 5, 2))
    labels = rng.integers(-1, C, (4, 5, 1))
    padded = np.concatenate([labels, centre - size / 2, centre + size / 2],
                            -1).astype("float32")
    grid = evaluate(grid_targets, padded, grid_size=S, num_classes=C)
    grid = grid.astype("float32")
    pred = rng.normal(.5, .3, PRED.shape[1:]).astype("float32")
    pred = np.broadcast_to(pred, (4,) + pred.shape).copy()
    value_p, (grad_p,) = value_and_grads(
        lambda p: yolo_v1(padded, p, **SMALL), pred)
    value_g, (grad_g,) = value_and_grads(
        lambda p: yolo_v1(grid, p, **SMALL), pred)
    np.testing.assert_allclose(value_p, value_g, rtol=1e-6)
    np.testing.assert_allclose(grad_p, grad_g, rtol=1e-6, atol=1e-6)


def test_padding_changes_nothing_wherever_it_is_and_whatever_it_holds():
    pad = [[-1, -1, -1, -1, -1], [-1, np.nan, np.inf, -np.inf, 1e30],
           [-5, .3, .4, .5, .6], [np.nan] * 5]
    a, b = PADDED[0, 0], PADDED[0, 1]
    padded = np.float32([[*pad[:2], a, pad[2], b, pad[3]],
                         [*pad, pad[0], pad[1]]])
    expected, (expected_grad,) = value_and_grads(
        lambda p: yolo_v1(PADDED, p, **SMALL), PRED)
    value, (grad,) = value_and_grads(
        lambda p: yolo_v1(padded, p, **SMALL), PRED)
    np.testing.assert_allclose(value, expected, rtol=1e-6)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-6, atol=1e-7)
    # no padding at all: max_boxes may be 0
    empty = np.zeros((2, 0, 5), "float32")
    np.testing.assert_allclose(
        evaluate(yolo_v1, empty, PRED, **SMALL),
        evaluate(yolo_v1, np.full((2, 1, 5), -1, "float32"), PRED, **SMALL))


def test_two_objects_in_one_cell_the_first_valid_box_wins():
    # both centred in cell (0, 0): X at (.25, .25), Y at (.2, .3)
    x = [0, .1, .1, .4, .4]
    y = [2, .1, .2, .3, .4]
    pad = [-1] * 5

    def loss(*rows):
        # padded to 3 rows (padding changes nothing): one shape, one compile
        rows = list(rows) + [pad] * (3 - len(rows))
        return evaluate(yolo_v1, np.float32([rows]), PRED[:1], **SMALL)

    np.testing.assert_allclose(loss(x, y), loss(x), rtol=1e-6)
    np.testing.assert_allclose(loss(pad, x, y), loss(x), rtol=1e-6)
    np.testing.assert_allclose(loss(y, x), loss(y), rtol=1e-6)
    assert not np.allclose(loss(x), loss(y))
    grid = evaluate(grid_targets, np.float32([[pad, y, x]]), grid_size=S,
                    num_classes=C)
    np.testing.assert_allclose(grid[0, 0, 0], [.4, .6, .2, .2, 1, 0, 0, 1],
                               atol=1e-6)
    assert grid[0].sum(axis=(0, 1))[4] == 1  # one object in the grid


def test_responsible_choice_and_iou_target_take_no_gradient():
    _, (grad,) = value_and_grads(lambda p: yolo_v1(PADDED, p, **SMALL), PRED)
    expected = np.zeros_like(PRED, "float64")
    r_prime = lambda v: 1 / (2 * math.sqrt(v + EPS))  # noqa: E731
    # d/dp of lambda (t - p)^2 is 2 lambda (p - t); IoU targets constant
    iou_a1, iou_b0 = .16 / (.20 + EPS), .16 / (.24 + EPS)
    expected[0, 0, 0, 5:10] = [
        0.0, 10 * (.7 - .8), 0.0, 10 * (root(.5) - root(.4)) * r_prime(.5),
        2 * (.3 - iou_a1)]
    expected[0, 1, 1, 0:5] = [
        10 * (.4 - .5), 10 * (.6 - .5),
        10 * (root(.5) - root(.4)) * r_prime(.5),
        10 * (root(.4) - root(.5)) * r_prime(.4), 2 * (.9 - iou_b0)]
    # not responsible: no coordinate gradient at all (exactly 0, not just
    # small: neither the argmax nor the IoU is a path), only 2 lambda_noobj C
    for image, row, col, j in [(0, 0, 0, 0), (0, 0, 1, 0), (0, 0, 1, 1),
                               (0, 1, 0, 0), (0, 1, 0, 1), (0, 1, 1, 1),
                               (1, 0, 1, 1)]:
        np.testing.assert_array_equal(grad[image, row, col, 5 * j:5 * j + 4],
                                      0.0)
        expected[image, row, col, 5 * j + 4] = PRED[image, row, col,
                                                    5 * j + 4]
    expected[0, 0, 0, 10:] = 2 * (PRED[0, 0, 0, 10:] - [0, 1, 0])
    expected[0, 1, 1, 10:] = 2 * (PRED[0, 1, 1, 10:] - [0, 0, 1])
    np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("box_loss, confidence_target, dtype", [
    (None, "iou", "float32"), (None, "one", "float32"),
    ("ciou", "iou", "float32"), ("ciou", "iou", "float16")])
def test_sqrt_is_finite_in_value_and_gradient_for_any_size(
        box_loss, confidence_target, dtype):
    sizes = [-1.0, 0.0, 1e-12, 1.0]
    pred = np.zeros((16, S, S, 5 * B + C), "float32")
    truth = np.zeros((16, S, S, 5 + C), "float32")
    for k, (w, h) in enumerate((w, h) for w in sizes for h in sizes):
        for j in range(B):
            pred[k, ..., 5 * j:5 * j + 5] = [.5, .5, w, h, .5]
        # negative, zero-size, tiny and normal targets in the object cells
        truth[k, 0, 0] = [.5, .5, w, h, 1, 1, 0, 0]
        truth[k, 1, 1] = [.4, .6, .3, .3, 1, 0, 1, 0]
    cls = CIoU() if box_loss else None
    value, grads = value_and_grads(
        lambda t, p: yolo_v1(t, p, box_loss=cls,
                             confidence_target=confidence_target, **SMALL),
        *(keras.ops.cast(x, dtype) for x in (truth, pred)))
    assert np.isfinite(value)
    for grad in grads:
        assert np.all(np.isfinite(grad)), grad


def test_signed_sqrt_has_no_dead_zone_and_a_bounded_slope():
    x = np.float32([-1, 0, 1e-12, 1])
    value, (grad,) = value_and_grads(lambda a: signed_sqrt(a, EPS), x)
    values = evaluate(signed_sqrt, x, eps=EPS)
    assert np.all(np.isfinite(values)) and np.all(np.isfinite(grad))
    np.testing.assert_allclose(values, [-root(1), 0, root(1e-12), root(1)],
                               rtol=1e-5, atol=1e-9)
    # strictly increasing: a negative width is pulled up, not stranded
    assert np.all(grad > 0)
    np.testing.assert_allclose(grad[1], 1 / (2 * math.sqrt(EPS)), rtol=1e-4)
    np.testing.assert_allclose(grad[[0, 3]], 1 / (2 * math.sqrt(1 + EPS)),
                               rtol=1e-5)
    # in the loss: a responsible predictor with w < 0 gets dL/dw < 0
    pred = np.zeros((1, S, S, 5 * B + C), "float32")
    pred[0, 0, 0, :10] = [.5, .5, -.2, .3, 1, .5, .5, -.3, .3, 0]
    truth = np.float32([[[0, .1, .1, .4, .4]]])
    _, (grad,) = value_and_grads(lambda p: yolo_v1(truth, p, **SMALL), pred)
    assert grad[0, 0, 0, 2] < 0            # predictor 0 (tie: first)
    assert grad[0, 0, 0, 7] == 0           # predictor 1 not responsible


def test_negative_sizes_are_empty_boxes_never_inverted_ones():
    # inverted ground-truth corners: an empty box at their centre
    grid = evaluate(grid_targets, np.float32([[[0, .4, .4, .1, .1]]]),
                    grid_size=S, num_classes=C)
    np.testing.assert_allclose(grid[0, 0, 0], [.5, .5, 0, 0, 1, 1, 0, 0],
                               atol=1e-6)
    # a negative predicted width next to a point target: an inverted box
    # would shrink CIoU's enclosing box to nothing and its centre term
    # (rho^2 / c^2) would explode; an empty box keeps it below 1
    truth = np.float32([[[0, .3, .3, .3, .3]]])
    pred = np.zeros((1, S, S, 5 * B + C), "float32")
    pred[0, 0, 0, :10] = [.5, .5, -.4, -.4, 0] * 2
    terms = evaluate(yolo_v1_terms, truth, pred, box_loss=CIoU(), **SMALL)
    # CIoU of a point and a point .05 * sqrt(2) away: 1 - 0 + 1 + 0
    np.testing.assert_allclose(terms["coord"], [5.0 * 2.0], rtol=1e-4)


@pytest.mark.parametrize("cls, per_box", [
    (CIoU, reference.ciou_loss), (GIoU, reference.giou_loss)])
def test_box_loss_replaces_only_the_coordinate_term(cls, per_box):
    # the responsible boxes of the hand-worked case, decoded by hand
    pairs = [((.1, .2, .5, .6), (.1, .1, .5, .6)),
             ((.55, .5, .95, 1.), (.45, .6, .95, 1.))]
    terms = evaluate(yolo_v1_terms, PADDED, PRED, box_loss=cls(), **SMALL)
    image_0, _ = hand_terms()
    np.testing.assert_allclose(
        terms["coord"],
        [5.0 * sum(per_box(t, p) for t, p in pairs), 0.0], rtol=1e-5,
        atol=1e-7)
    for name in ("object", "no_object", "class"):
        np.testing.assert_allclose(terms[name][0], image_0[name],
                                   rtol=1e-5)


def test_smooth_iou_box_loss_counts_only_responsible_boxes():
    pairs = [((.1, .2, .5, .6), (.1, .1, .5, .6)),
             ((.55, .5, .95, 1.), (.45, .6, .95, 1.))]
    expected = reference.smooth_iou([t for t, _ in pairs],
                                    [p for _, p in pairs])
    terms = evaluate(yolo_v1_terms, PADDED, PRED, box_loss=SmoothIoU(),
                     **SMALL)
    np.testing.assert_allclose(terms["coord"][0],
                               5.0 * sum(expected), rtol=1e-5)


def _model():
    return keras.Sequential([
        keras.Input((S, S, 5 * B + C)),
        keras.layers.Dense(5 * B + C, kernel_initializer="identity",
                           bias_initializer="zeros"),
    ])


@pytest.mark.parametrize("target, box_loss", [("padded", None),
                                               ("grid", "ciou")])
def test_fit_with_jit_compile_matches_eager(target, box_loss):
    y_true = np.concatenate([PADDED, PADDED[::-1]]) if target == "padded" \
        else np.concatenate([GRID, GRID[::-1]])
    pred = np.concatenate([PRED, PRED[::-1]])
    loss = YOLOv1(box_loss=CIoU() if box_loss else None, **SMALL)
    eager = float(evaluate(loss, y_true, pred))
    model = _model()
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss=loss,
                  jit_compile=True)
    history = model.fit(pred, y_true, batch_size=4, epochs=1, verbose=0,
                        shuffle=False)
    assert history.history["loss"][0] == pytest.approx(eager, rel=1e-6,
                                                       abs=1e-6)
    if box_loss:
        return  # the step below, once is enough (a compile each on JAX)
    # and its SGD step is the one the loss's gradient gives: y = x W + b
    # with W = I, b = 0, so dL/dW = x^T dL/dy and dL/db = sum dL/dy
    _, (grad,) = value_and_grads(lambda p: loss(y_true, p), pred)
    x = pred.reshape(-1, pred.shape[-1]).astype("float64")
    grad = grad.reshape(x.shape)
    kernel, bias = model.get_weights()
    np.testing.assert_allclose(kernel, np.eye(x.shape[1]) - 0.01 * x.T @ grad,
                               rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(bias, -0.01 * grad.sum(0), rtol=1e-6,
                               atol=1e-6)


def test_zero_weight_images_contribute_exactly_nothing():
    y_true = np.concatenate([PADDED, np.float32([[[1, np.nan, 0, 1, 1],
                                                  [2, .1, .1, .2, .2],
                                                  [-1] * 5]])])
    pred = np.concatenate([PRED, np.full((1,) + PRED.shape[1:], np.nan,
                                         "float32")])
    pred[2, 0, 0, 0] = np.inf
    loss = YOLOv1(reduction="sum", **SMALL)
    value, (grad,) = value_and_grads(
        lambda p: loss(y_true, p, sample_weight=np.float32([1, 1, 0])), pred)
    np.testing.assert_allclose(value, evaluate(loss, PADDED, PRED),
                               rtol=1e-6)
    assert np.all(np.isfinite(grad))
    np.testing.assert_array_equal(grad[2], 0.0)
    # weights scale images, as Keras does
    np.testing.assert_allclose(
        evaluate(YOLOv1(reduction=None, **SMALL), PADDED, PRED,
                 np.float32([[2], [1]])),
        2 * evaluate(yolo_v1, PADDED, PRED, **SMALL) * [1, .5], rtol=1e-6)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_inputs_are_computed_in_float32(dtype):
    t16, p16 = (keras.ops.cast(x, dtype) for x in (PADDED, PRED))
    # same as float32 on the rounded inputs: nothing is computed in 16 bits
    expected = evaluate(yolo_v1, keras.ops.cast(t16, "float32"),
                        keras.ops.cast(p16, "float32"), **SMALL)
    np.testing.assert_allclose(evaluate(yolo_v1, t16, p16, **SMALL),
                               expected, rtol=1e-6)


@pytest.mark.filterwarnings("ignore:Skipping variable loading")
def test_config_round_trip_keeps_every_argument(tmp_path):
    import inspect

    loss = YOLOv1(grid_size=2, boxes_per_cell=2, num_classes=3,
                  lambda_coord=2, lambda_noobj=0.25, confidence_target="one",
                  box_loss=CIoU(eps=1e-6), eps=1e-6, reduction="sum",
                  name="yolo")
    config = loss.get_config()
    assert set(inspect.signature(YOLOv1.__init__).parameters) - {"self"} \
        == set(config)
    assert config["box_loss"]["class_name"] == "CIoU"
    rebuilt = YOLOv1.from_config(config)
    assert rebuilt.get_config() == config
    assert isinstance(rebuilt.box_loss, CIoU)
    assert rebuilt.box_loss.get_config()["eps"] == 1e-6
    restored = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(loss))
    assert type(restored) is YOLOv1 and restored.get_config() == config
    assert restored.box_loss.get_config() == loss.box_loss.get_config()
    assert YOLOv1().get_config()["box_loss"] is None
    assert keras.saving.get_registered_name(YOLOv1) == "keras_boxloss>YOLOv1"
    model = _model()
    model.compile(optimizer="sgd", loss=loss)
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras",
                                     safe_mode=True)
    assert type(loaded.loss) is YOLOv1
    assert loaded.loss.get_config() == config


@pytest.mark.parametrize("kwargs, name", [
    ({"grid_size": 0}, "grid_size"),
    ({"grid_size": 2.5}, "grid_size"),
    ({"grid_size": True}, "grid_size"),
    ({"boxes_per_cell": 0}, "boxes_per_cell"),
    ({"num_classes": -1}, "num_classes"),
    ({"lambda_coord": -1.0}, "lambda_coord"),
    ({"lambda_noobj": float("nan")}, "lambda_noobj"),
    ({"lambda_noobj": "0.5"}, "lambda_noobj"),
    ({"confidence_target": "max"}, "confidence_target"),
    ({"box_loss": HuberBox()}, "box_loss"),
    ({"box_loss": "ciou"}, "box_loss"),
    ({"box_loss": CIoU(box_format="center_xywh")}, "box_loss"),
    ({"eps": 0.0}, "eps"),
])
def test_bad_arguments_are_clear_errors(kwargs, name):
    with pytest.raises(ValueError,
                       match=f"Expected `{name}`.*Received: {name}="):
        YOLOv1(**kwargs)
    with pytest.raises(ValueError, match=f"Expected `{name}`"):
        yolo_v1(PADDED, PRED, **{**SMALL, **kwargs})


@pytest.mark.parametrize("y_true, y_pred, name", [
    (PADDED, PRED[..., :-1], "y_pred"),
    (PADDED, PRED[:, :1], "y_pred"),
    (PADDED[..., :4], PRED, "y_true"),
    (PADDED[0], PRED, "y_true"),
    (np.zeros((2, 3, 3, 8), "float32"), PRED, "y_true"),
    (PADDED[:1], PRED, "y_true"),
])
def test_bad_shapes_are_clear_errors(y_true, y_pred, name):
    with pytest.raises(ValueError, match=f"`{name}`.*Received: .*{name}"
                                         r"\.shape="):
        YOLOv1(**SMALL)(y_true, y_pred)


def test_bad_shapes_fail_when_a_model_is_traced_and_bad_weights_too():
    model = _model()
    model.compile(loss=YOLOv1(**SMALL))
    with pytest.raises(ValueError, match=r"y_true.shape=\((None|2), 3, 4\)"):
        model.fit(PRED, PADDED[..., :4], verbose=0)
    with pytest.raises(ValueError, match="sample_weight.shape"):
        YOLOv1(**SMALL)(PADDED, PRED, sample_weight=np.ones((2, 3)))
