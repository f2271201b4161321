"""`BoxLoss.per_box` / `per_box_deltas`, the one contract between box losses
and detectors, for every registered box loss (losses added to the registry
later are covered without touching this file), and the detectors' side of
it: they call the contract and nothing private, and `sample_weight` means
one thing in MultiBox and the SSD."""

import ast
import pathlib

import keras
import numpy as np
import pytest

import keras_boxloss
from keras_boxloss.losses import (CIoU, GIoU, HuberBox, MultiBox, SmoothIoU,
                                  YOLOv1)
from keras_boxloss.losses.box_loss import BoxLoss
from keras_boxloss.losses.registry import BOX_LOSSES, get_box_loss
from tests.losses import reference
from tests.losses.backend_utils import to_numpy, value_and_grads

NAMES = sorted(BOX_LOSSES)
# Anchors for the deltas: (2, 4) yxyx, broadcast over a batch of 3.
ANCHORS = np.float32([[0.1, 0.2, 0.5, 0.4], [0.3, 0.3, 0.9, 0.8]])
MASK = np.array([[True, False], [False, True], [True, True]])


def boxes(rng, shape=(3, 2)):
    """Overlapping xyxy pairs."""
    centre = rng.uniform(0.2, 0.8, shape + (2,))
    size = rng.uniform(0.1, 0.4, shape + (2,))
    t = np.concatenate([centre - size / 2, centre + size / 2], -1)
    p = t + rng.normal(0, 0.03, t.shape)
    return t.astype("float32"), p.astype("float32")


def deltas(rng, shape=(3, 2)):
    t = rng.normal(0, 0.5, shape + (4,)).astype("float32")
    return t, (t + rng.normal(0, 0.3, t.shape)).astype("float32")


def poisoned(x, mask):
    """`x` with NaN, inf and -1 padding where `mask` is False."""
    x = x.copy()
    junk = np.float32([[np.nan, np.inf, -1.0, -np.inf]])
    x[~mask] = np.resize(junk, x[~mask].shape)
    return x


def anchors_for(loss):
    return ANCHORS if loss.requires_anchors else None


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype, expected", [
    ("float32", "float32"), ("float64", "float64"), ("float16", "float32"),
    ("bfloat16", "float32")])
def test_per_box_shape_and_dtype(name, dtype, expected):
    loss = get_box_loss(name)
    t, p = boxes(np.random.default_rng(0))
    t, p = (keras.ops.cast(x, dtype) for x in (t, p))
    if keras.backend.standardize_dtype(t.dtype) != dtype:
        pytest.skip(f"{dtype} is not enabled on this backend (JAX x64)")
    for value in (loss.per_box(t, p), loss.per_box(t, p, mask=MASK)):
        assert tuple(value.shape) == (3, 2)
        assert keras.backend.standardize_dtype(value.dtype) == expected


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("form", ["per_box", "per_box_deltas"])
def test_masked_boxes_are_exactly_zero_and_change_nothing_else(name, form):
    loss = get_box_loss(name)
    rng = np.random.default_rng(1)
    if form == "per_box":
        t, p = boxes(rng)

        def run(a, b, mask=None, anchors=None):
            return loss.per_box(a, b, mask=mask)
    else:
        t, p = deltas(rng)

        def run(a, b, mask=None, anchors=ANCHORS):
            return loss.per_box_deltas(
                a, b, (10.0, 10.0, 5.0, 5.0),
                None if anchors is None or not loss.requires_anchors
                else np.broadcast_to(anchors, a.shape), "yxyx", mask=mask)
    bad_t, bad_p = poisoned(t, MASK), poisoned(p, MASK)
    value, grads = value_and_grads(
        lambda a, b: keras.ops.sum(run(a, b, MASK)), bad_t, bad_p)
    masked = to_numpy(run(bad_t, bad_p, MASK))
    np.testing.assert_array_equal(masked[~MASK], 0.0)
    assert np.isfinite(value)
    for grad in grads:
        assert np.all(np.isfinite(grad))
        np.testing.assert_array_equal(grad[~MASK], 0.0)
    # The kept boxes get what they get alone: nothing computed across boxes
    # (Smooth IoU's lambda) sees a masked one.
    anchors = np.broadcast_to(ANCHORS, t.shape)[MASK]
    alone = to_numpy(run(t[MASK], p[MASK], anchors=anchors))
    np.testing.assert_allclose(masked[MASK], alone, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", NAMES)
def test_call_with_sample_weight_is_the_weighted_per_box(name):
    loss = get_box_loss(name)
    loss = type(loss).from_config({**loss.get_config(), "reduction": "sum"})
    t, p = boxes(np.random.default_rng(2))
    weight = np.float32([[1.0, 0.0], [0.0, 2.0], [0.5, 1.0]])
    expected = np.sum(to_numpy(loss.per_box(t, p, mask=weight)) * weight)
    assert float(to_numpy(loss(poisoned(t, weight > 0), p, weight))) == \
        pytest.approx(expected, rel=1e-6)


def test_smooth_iou_lambda_is_the_mean_iou_over_the_mask():
    # Independent of the library: reference IoU and Huber in float64.
    t, p = boxes(np.random.default_rng(3))
    mask = MASK.copy()
    per_box = to_numpy(SmoothIoU().per_box(t, p, mask=mask))
    ts, ps = t[mask].astype("float64"), p[mask].astype("float64")
    ious = np.array([reference.iou(a, b) for a, b in zip(ts, ps)])
    lam = ious.mean()
    huber = np.array([reference.huber_box(a, b) for a, b in zip(ts, ps)])
    np.testing.assert_allclose(per_box[mask],
                               lam * (1 - ious) + (1 - lam) * huber,
                               rtol=1e-5, atol=1e-6)


def test_per_box_honours_the_loss_box_format():
    t, p = boxes(np.random.default_rng(4))
    yxyx = lambda b: b[..., [1, 0, 3, 2]]  # noqa: E731
    np.testing.assert_allclose(
        to_numpy(GIoU(box_format="yxyx").per_box(yxyx(t), yxyx(p))),
        to_numpy(GIoU().per_box(t, p)), rtol=1e-6)
    # deltas mode with the loss' own coder and anchors
    dt, dp = deltas(np.random.default_rng(5))
    anchors = np.broadcast_to(ANCHORS, dt.shape)
    own = CIoU(box_format="deltas", scale_factors=(5, 5, 2, 2),
               anchors=anchors)
    np.testing.assert_allclose(
        to_numpy(own.per_box(dt, dp)),
        to_numpy(CIoU().per_box_deltas(dt, dp, (5, 5, 2, 2), anchors)),
        rtol=1e-6)


def test_per_box_deltas_compares_decoded_boxes_or_the_deltas():
    dt, dp = deltas(np.random.default_rng(6))
    anchors = np.broadcast_to(ANCHORS, dt.shape)
    # IoU family: the boxes the deltas decode to (reference coder, float64)
    t_xyxy = _decode(dt, anchors)
    p_xyxy = _decode(dp, anchors)
    expected = [reference.ciou_loss(a, b) for a, b in
                zip(t_xyxy.reshape(-1, 4), p_xyxy.reshape(-1, 4))]
    np.testing.assert_allclose(
        to_numpy(CIoU().per_box_deltas(dt, dp, anchors=anchors)).ravel(),
        expected, rtol=1e-4, atol=1e-6)
    # coordinate losses: the deltas as given, whatever the coder
    expected = [reference.huber_box(a, b) for a, b in
                zip(dt.reshape(-1, 4), dp.reshape(-1, 4))]
    np.testing.assert_allclose(
        to_numpy(HuberBox().per_box_deltas(dt, dp, (1, 1, 1, 1))).ravel(),
        expected, rtol=1e-5)


def _decode(d, anchors, scale=(10.0, 10.0, 5.0, 5.0)):
    """Faster R-CNN box coder, yxyx anchors -> xyxy boxes, float64."""
    d, a = d.astype("float64"), anchors.astype("float64")
    ha, wa = a[..., 2] - a[..., 0], a[..., 3] - a[..., 1]
    ya, xa = a[..., 0] + ha / 2, a[..., 1] + wa / 2
    y, x = d[..., 0] / scale[0] * ha + ya, d[..., 1] / scale[1] * wa + xa
    h, w = np.exp(d[..., 2] / scale[2]) * ha, np.exp(d[..., 3] / scale[3]) * wa
    return np.stack([x - w / 2, y - h / 2, x + w / 2, y + h / 2], -1)


class Linear(BoxLoss):
    """A custom per-box loss: its own function, nothing in the library's
    dispatch knows it."""

    fn = staticmethod(lambda y_true, y_pred: keras.ops.sum(
        keras.ops.abs(y_true - y_pred), axis=-1) * 3.0)


def multibox_batch(rng):
    y_true = np.zeros((2, 4, 5), "float32")
    y_true[..., :4] = rng.normal(0, 1, (2, 4, 4))
    y_true[..., 4] = [[1, 0, 2, -1], [0, 1, 0, 0]]
    y_pred = rng.normal(0, 1, (2, 4, 4 + 3)).astype("float32")
    return y_true, y_pred


def test_multibox_runs_a_custom_box_loss_through_the_contract():
    y_true, y_pred = multibox_batch(np.random.default_rng(7))
    positive = y_true[..., 4] > 0
    expected = 3.0 * np.abs(y_true[..., :4] - y_pred[..., :4]).sum(-1)
    expected = (expected * positive).sum() / positive.sum()
    with_linear = MultiBox(2, box_loss=Linear())
    terms = with_linear.terms(y_true, y_pred)
    assert float(np.sum(to_numpy(terms["localization"]))) == \
        pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("box_loss", [YOLOv1(), MultiBox(2),
                                      keras.losses.Huber(), "giou"])
def test_a_non_box_loss_is_refused_at_construction(box_loss):
    with pytest.raises(ValueError, match="Expected `box_loss`"):
        MultiBox(2, box_loss=box_loss)
    with pytest.raises(ValueError, match="Expected `box_loss`"):
        YOLOv1(box_loss=box_loss)
    assert not isinstance(YOLOv1(), BoxLoss)


def test_multibox_sample_weight_means_one_thing():
    mb = MultiBox(2)
    y_true, y_pred = multibox_batch(np.random.default_rng(8))
    weight = np.float32([2.0, 0.0])
    total = float(to_numpy(mb(y_true, y_pred, sample_weight=weight)))
    terms = mb.terms(y_true, y_pred, weight)
    both = to_numpy(terms["classification"] + terms["localization"])
    assert float(both.sum()) == pytest.approx(total, rel=1e-6)
    # a zero-weight image counts nowhere, not even in N: the batch is the
    # first image alone, times its weight
    alone = to_numpy(mb.per_image(y_true[:1], y_pred[:1]))
    np.testing.assert_allclose(both, [2.0 * alone[0], 0.0], rtol=1e-6)
    assert float(to_numpy(mb.positives(y_true, weight))) == 2.0


def test_ssd_compute_loss_is_the_multibox_loss_with_the_same_weights():
    from keras_boxloss.ssd.model import SSD

    model = SSD(3, image_size=64, backbone="tiny", backbone_alpha=0.5,
                num_layers=3, box_loss=get_box_loss("giou"))
    rng = np.random.default_rng(9)
    images = rng.uniform(0, 255, (2, 64, 64, 3)).astype("float32")
    truth = {"boxes": np.float32([[[0.1, 0.1, 0.5, 0.6], [-1] * 4],
                                  [[0.2, 0.3, 0.9, 0.8], [0.0, 0.0, .3, .3]]]),
             "classes": np.float32([[1, -1], [2, 3]])}
    y_pred = model(images)
    weight = np.float32([1.5, 0.0])
    value = float(to_numpy(model.compute_loss(y=truth, y_pred=y_pred,
                                              sample_weight=weight)))
    targets = model.encode(truth)
    assert value == pytest.approx(float(to_numpy(model.multibox(
        targets, y_pred, sample_weight=weight))), rel=1e-6)
    # the zero-weight image is not in N: image 0 alone, times 1.5
    alone = model.compute_loss(
        y={k: v[:1] for k, v in truth.items()}, y_pred=y_pred[:1])
    assert value == pytest.approx(1.5 * float(to_numpy(alone)), rel=1e-6)


# The detector losses, which call box losses like any detector does.
DETECTOR_LOSSES = {"multibox_loss.py", "yolo_v1_loss.py", "detector_loss.py"}


def test_nothing_outside_a_loss_reads_its_private_state():
    """Detectors and plug-ins use `per_box` / `per_box_deltas`: `fn_kwargs`
    is read only by a loss on itself (`self.fn_kwargs`), `fn` only by the
    loss modules (a loss may build on another's function), and the
    `_box_mask` state is gone."""
    root = pathlib.Path(keras_boxloss.__file__).parent
    offenders = []
    for path in sorted(root.rglob("*.py")):
        loss_module = (path.parent.name == "losses"
                       and path.name not in DETECTOR_LOSSES)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Attribute):
                continue
            on_self = isinstance(node.value, ast.Name) and \
                node.value.id == "self"
            on_own_type = (isinstance(node.value, ast.Call)
                           and getattr(node.value.func, "id", "") == "type"
                           and len(node.value.args) == 1
                           and getattr(node.value.args[0], "id", "")
                           == "self")
            if node.attr == "_box_mask" or (
                    node.attr == "fn_kwargs" and not on_self) or (
                    node.attr == "fn" and not (on_own_type
                                               or loss_module)):
                offenders.append(f"{path.relative_to(root)}:{node.lineno}")
    assert not offenders, offenders
