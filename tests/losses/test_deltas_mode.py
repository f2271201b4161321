"""Deltas in, boxes compared: the proof that IoU-type losses need no anchor."""

import numpy as np
import pytest

from keras_boxloss import CIoU, DIoU, GIoU, IoU, SmoothIoU
from keras_boxloss.losses import ciou, diou, giou, iou, smooth_iou
from tests.losses import reference
from tests.losses.backend_utils import to_numpy

RNG = np.random.default_rng(7)
N = 64
# real anchors of many sizes and aspect ratios, yxyx
ANCHOR_CENTRE = RNG.uniform(0, 300, (N, 2))
ANCHOR_SIZE = RNG.uniform(8, 200, (N, 2))
ANCHORS = np.concatenate([ANCHOR_CENTRE - ANCHOR_SIZE / 2,
                          ANCHOR_CENTRE + ANCHOR_SIZE / 2], -1)


def boxes_near_anchors(rng):
    """xyxy boxes around each anchor (anchors are yxyx)."""
    centre = ANCHOR_CENTRE[:, ::-1] + rng.normal(0, 0.2, (N, 2)) * \
        ANCHOR_SIZE[:, ::-1]
    size = ANCHOR_SIZE[:, ::-1] * np.exp(rng.normal(0, 0.4, (N, 2)))
    return np.concatenate([centre - size / 2, centre + size / 2], -1)


TRUE_BOXES = boxes_near_anchors(RNG)
PRED_BOXES = boxes_near_anchors(RNG)


@pytest.mark.parametrize("scale_factors", [(10, 10, 5, 5), (1, 1, 1, 1)])
@pytest.mark.parametrize("fn", [iou, giou], ids=["iou", "giou"])
def test_invariant_losses_need_no_anchor(fn, scale_factors):
    true_deltas = reference.encode_deltas(TRUE_BOXES, ANCHORS, scale_factors)
    pred_deltas = reference.encode_deltas(PRED_BOXES, ANCHORS, scale_factors)
    on_boxes = to_numpy(fn(TRUE_BOXES.astype("float32"),
                           PRED_BOXES.astype("float32")))
    on_deltas = to_numpy(fn(true_deltas.astype("float32"),
                            pred_deltas.astype("float32"),
                            box_format="deltas", scale_factors=scale_factors))
    np.testing.assert_allclose(on_deltas, on_boxes, rtol=1e-4, atol=1e-5)
    # and with the anchors given, the same again
    with_anchors = to_numpy(fn(true_deltas.astype("float32"),
                               pred_deltas.astype("float32"),
                               box_format="deltas",
                               scale_factors=scale_factors, anchors=ANCHORS))
    np.testing.assert_allclose(with_anchors, on_boxes, rtol=1e-4, atol=1e-5)


def test_smooth_iou_on_deltas_is_iou_of_boxes_plus_huber_of_deltas():
    true_deltas = reference.encode_deltas(TRUE_BOXES, ANCHORS)
    pred_deltas = reference.encode_deltas(PRED_BOXES, ANCHORS)
    ious = np.array([reference.iou(tuple(t), tuple(p))
                     for t, p in zip(TRUE_BOXES, PRED_BOXES)])
    huber = np.array([reference.huber_box(tuple(t), tuple(p))
                      for t, p in zip(true_deltas, pred_deltas)])
    lam = ious.mean()
    expected = lam * (1 - ious) + (1 - lam) * huber
    value = to_numpy(smooth_iou(true_deltas.astype("float32"),
                                pred_deltas.astype("float32"),
                                box_format="deltas"))
    np.testing.assert_allclose(value, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("fn", [diou, ciou], ids=["diou", "ciou"])
def test_distance_losses_decode_against_the_given_anchors(fn):
    true_deltas = reference.encode_deltas(TRUE_BOXES, ANCHORS)
    pred_deltas = reference.encode_deltas(PRED_BOXES, ANCHORS)
    on_boxes = to_numpy(fn(TRUE_BOXES.astype("float32"),
                           PRED_BOXES.astype("float32")))
    on_deltas = to_numpy(fn(true_deltas.astype("float32"),
                            pred_deltas.astype("float32"),
                            box_format="deltas", anchors=ANCHORS))
    np.testing.assert_allclose(on_deltas, on_boxes, rtol=1e-4, atol=1e-5)
    # They are not invariant: the unit anchor would give other values,
    # which is why they refuse to run without anchors.
    unit = to_numpy(fn(true_deltas.astype("float32"),
                       pred_deltas.astype("float32"), box_format="deltas",
                       anchors=np.float32([[0, 0, 1, 1]])))
    assert not np.allclose(unit, on_boxes, rtol=1e-2)


@pytest.mark.parametrize("cls", [IoU, GIoU, SmoothIoU])
def test_classes_accept_deltas_without_anchors(cls):
    true_deltas = reference.encode_deltas(TRUE_BOXES, ANCHORS)
    loss = cls(box_format="deltas", reduction=None)
    assert np.all(np.isfinite(to_numpy(loss(true_deltas.astype("float32"),
                                            true_deltas.astype("float32")))))


@pytest.mark.parametrize("cls", [DIoU, CIoU])
def test_classes_take_fixed_anchors(cls):
    true_deltas = reference.encode_deltas(TRUE_BOXES, ANCHORS)
    pred_deltas = reference.encode_deltas(PRED_BOXES, ANCHORS)
    loss = cls(box_format="deltas", anchors=ANCHORS, reduction=None)
    np.testing.assert_allclose(
        to_numpy(loss(true_deltas.astype("float32"),
                      pred_deltas.astype("float32"))),
        to_numpy(cls(reduction=None)(TRUE_BOXES.astype("float32"),
                                     PRED_BOXES.astype("float32"))),
        rtol=1e-4, atol=1e-5)
