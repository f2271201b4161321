"""Hypothesis property tests: bounds, orderings, symmetry, invariances."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from keras_boxloss import boxes
from keras_boxloss.losses import ciou, diou, giou, huber_box, iou, smooth_iou
from tests.losses import reference
from tests.losses.backend_utils import to_numpy

SETTINGS = settings(max_examples=60, deadline=None)
coordinate = st.floats(-100, 100, allow_nan=False, width=32)
side = st.floats(0, 100, allow_nan=False, width=32)
proper_side = st.floats(1, 100, allow_nan=False, width=32)


@st.composite
def box_pairs(draw, sides=side, max_boxes=8, min_boxes=1):
    n = draw(st.integers(min_boxes, max_boxes))
    corners = draw(st.lists(st.tuples(coordinate, coordinate, sides, sides),
                            min_size=2 * n, max_size=2 * n))
    xyxy = np.float32([[x, y, x + w, y + h] for x, y, w, h in corners])
    return xyxy[:n], xyxy[n:]


@SETTINGS
@given(box_pairs())
def test_bounds(pair):
    t, p = pair
    overlap = to_numpy(boxes.box_iou(t, p))
    assert np.all((overlap >= 0) & (overlap <= 1 + 1e-6))
    iou_loss = to_numpy(iou(t, p))
    giou_loss = to_numpy(giou(t, p))
    diou_loss = to_numpy(diou(t, p))
    ciou_loss = to_numpy(ciou(t, p))
    assert np.all((giou_loss >= -1e-6) & (giou_loss <= 2 + 1e-6))
    assert np.all((diou_loss >= -1e-6) & (diou_loss <= 2 + 1e-6))
    # the penalties only add: IoU <= GIoU, DIoU <= CIoU losses
    assert np.all(giou_loss >= iou_loss - 1e-6)
    assert np.all(diou_loss >= iou_loss - 1e-6)
    assert np.all(ciou_loss >= diou_loss - 1e-6)
    assert np.all(to_numpy(huber_box(t, p)) >= 0)
    smooth = to_numpy(smooth_iou(t, p))
    assert np.all(np.isfinite(smooth) & (smooth >= -1e-6))


any_side = st.floats(-100, 100, allow_nan=False, width=32)


@SETTINGS
@given(box_pairs(sides=any_side))
def test_bounds_hold_for_inverted_boxes_too(pair):
    t, p = pair
    # e.g. [.9, .9, .6, .6] against the point .8: the enclosing box holds
    # every corner, so the distance penalty cannot explode
    for fn in (giou, diou):
        value = to_numpy(fn(t, p))
        assert np.all((value >= -1e-6) & (value <= 2 + 1e-6)), fn.__name__
    assert np.all(to_numpy(ciou(t, p)) <= 3 + 1e-6)


def test_inverted_box_against_a_point_worked_example():
    t, p = np.float32([[.9, .9, .6, .6]]), np.float32([[.8, .8, .8, .8]])
    # both empty: IoU 0; enclosing [.6, .6, .9, .9], c^2 = 0.18; centres
    # (.75, .75) and (.8, .8), rho^2 = 0.005
    np.testing.assert_allclose(to_numpy(diou(t, p)), [1 + 0.005 / 0.18],
                               rtol=1e-5)


@SETTINGS
@given(box_pairs())
def test_agrees_with_the_float64_reference(pair):
    t, p = pair
    for name, fn in (("iou", iou), ("giou", giou), ("diou", diou),
                     ("ciou", ciou), ("huber", huber_box)):
        expected = reference.per_box(name, t.astype("float64"),
                                     p.astype("float64"))
        np.testing.assert_allclose(to_numpy(fn(t, p)), expected, rtol=1e-4,
                                   atol=1e-4, err_msg=name)


@SETTINGS
@given(box_pairs())
def test_symmetric_in_target_and_prediction(pair):
    t, p = pair
    for fn in (iou, giou, diou, ciou, huber_box, smooth_iou):
        np.testing.assert_allclose(to_numpy(fn(t, p)), to_numpy(fn(p, t)),
                                   rtol=1e-5, atol=1e-5)


@SETTINGS
@given(box_pairs(sides=proper_side),
       st.tuples(coordinate, coordinate),
       st.floats(0.1, 10), st.floats(0.1, 10))
def test_translation_and_scale_invariance(pair, shift, scale_x, scale_y):
    t, p = pair
    shift = np.float32(shift * 2)
    moved = [b + shift for b in (t, p)]
    for fn in (iou, giou, diou, ciou):
        np.testing.assert_allclose(to_numpy(fn(*moved)), to_numpy(fn(t, p)),
                                   rtol=1e-3, atol=1e-3)
    # IoU and GIoU: any per-axis scaling; DIoU and CIoU: uniform only
    axes = np.float32([scale_x, scale_y] * 2)
    stretched = [b * axes for b in (t, p)]
    for fn in (iou, giou):
        np.testing.assert_allclose(to_numpy(fn(*stretched)),
                                   to_numpy(fn(t, p)), rtol=1e-3, atol=1e-3)
    uniform = [b * np.float32(scale_x) for b in (t, p)]
    for fn in (diou, ciou):
        np.testing.assert_allclose(to_numpy(fn(*uniform)),
                                   to_numpy(fn(t, p)), rtol=1e-3, atol=1e-3)


@SETTINGS
@given(box_pairs(sides=proper_side), st.sampled_from(boxes.BOX_FORMATS))
def test_every_format_gives_the_xyxy_result(pair, box_format):
    t, p = pair
    converted = [reference.from_xyxy(b, box_format).astype("float32")
                 for b in (t, p)]
    np.testing.assert_allclose(
        to_numpy(boxes.to_xyxy(converted[0], box_format)), t, rtol=1e-5,
        atol=1e-4)
    for fn in (iou, giou, diou, ciou):
        np.testing.assert_allclose(
            to_numpy(fn(*converted, box_format=box_format)),
            to_numpy(fn(t, p)), rtol=1e-4, atol=1e-4)


@SETTINGS
@given(box_pairs(sides=proper_side))
def test_identical_boxes_have_zero_loss(pair):
    t, _ = pair
    for fn in (iou, giou, diou, ciou, smooth_iou, huber_box):
        np.testing.assert_allclose(to_numpy(fn(t, t)), 0.0, atol=1e-5)
