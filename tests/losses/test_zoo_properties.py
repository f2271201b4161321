"""Hypothesis property tests of the issue-18 losses: minimum at identical
boxes, bounds, orderings, symmetry, the invariances each loss has (and the
covariance of those that have a length: MPDIoU, NWD, Balanced L1), the
monotonic behaviour the papers claim, finite values and gradients.

Same strategies as `test_properties.py`, fewer examples (the default CI run
is over its time budget)."""

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from keras import ops

from keras_boxloss.losses import (WIoU, alpha_iou, balanced_l1, ciou, diou,
                                  eiou, focal_eiou, giou, inner_iou, iou,
                                  mpdiou, nwd, shape_iou, siou, wiou)
from tests.losses.backend_utils import to_numpy, value_and_grads
from tests.losses.test_properties import (any_side, box_pairs, coordinate,
                                          proper_side)

# Few examples of many boxes each: a call costs mostly its fixed overhead.
# Always MANY boxes: one shape, so JAX compiles each eager op once.
ZOO_SETTINGS = settings(max_examples=5, deadline=None)
MANY = 32
TOL = dict(rtol=1e-3, atol=1e-3)

# WIoU v3 with a fixed running mean (the class's momentum=0): a pure loss.
V3_MEAN = 0.5
# v3's focusing coefficient r = beta / (delta alpha^(beta - delta)) peaks
# at beta = 1 / ln(alpha): its largest value at the defaults (1.9, 3).
V3_MAX_R = (1 / math.log(1.9)) / (3 * 1.9 ** (1 / math.log(1.9) - 3))


def wiou_v3(t, p, **kwargs):
    return wiou(t, p, version=3, iou_loss_mean=V3_MEAN, **kwargs)


# name -> (per-box function, its largest value on any boxes, inverted
# included). Each term of each loss is bounded by 1: IoU and 1 - IoU, a
# distance over the enclosing box's (which holds every corner), a size
# difference over the enclosing size, 1 - exp(-x), beta v.
BOUNDED = {
    "eiou": (eiou, 4.0),
    "focal_eiou": (focal_eiou, 4.0),
    "alpha_iou": (alpha_iou, 1.0),
    "alpha_iou_giou": (lambda t, p: alpha_iou(t, p, penalty="giou"), 2.0),
    "alpha_iou_ciou": (lambda t, p: alpha_iou(t, p, penalty="ciou"), 3.0),
    "siou": (siou, 3.0),  # 1 - IoU + (2 + 2) / 2
    "wiou_v1": (wiou, math.e),
    "wiou_v3": (wiou_v3, math.e * V3_MAX_R),
    "nwd": (nwd, 1.0),
}
# The losses symmetric in target and prediction (not Shape-IoU: the
# target's shape weights; not WIoU v3 with a running mean: it is, for a
# fixed mean).
SYMMETRIC = {**{name: fn for name, (fn, _) in BOUNDED.items()},
             "mpdiou": lambda t, p: mpdiou(t, p, image_size=(50, 80)),
             "shape_iou_scale_0": shape_iou,
             "balanced_l1": balanced_l1,
             **{f"inner_iou_{base}": (lambda t, p, base=base:
                                      inner_iou(t, p, base=base))
                for base in ("iou", "ciou", "siou")}}
# Everything, for minimum and finiteness.
ALL = {**SYMMETRIC,
       "shape_iou_scale_1": lambda t, p: shape_iou(t, p, scale=1.0),
       "inner_iou_shape_iou": lambda t, p: inner_iou(t, p, base="shape_iou")}
# Invariant under translation and a uniform scaling of both boxes: every
# loss made of ratios of lengths. Not MPDIoU (over the image's diagonal),
# NWD (over a constant length), Balanced L1 (coordinates as given).
SCALE_INVARIANT = {name: fn for name, fn in ALL.items()
                   if name not in ("mpdiou", "nwd", "balanced_l1")}
# ... and under per-axis scaling: those made of areas only.
AXIS_SCALE_INVARIANT = {
    name: ALL[name] for name in ("alpha_iou", "alpha_iou_giou",
                                 "inner_iou_iou")}


@ZOO_SETTINGS
@given(box_pairs(sides=any_side, min_boxes=MANY, max_boxes=MANY))
def test_bounded_ordered_symmetric_and_finite_on_any_boxes(pair):
    # One test, so that each loss is computed once per example (a call
    # costs mostly its fixed overhead).
    t, p = pair
    values = {name: to_numpy(fn(t, p)) for name, fn in ALL.items()}
    for name, value in values.items():
        assert np.all(np.isfinite(value)), name
    for name, (_, upper) in BOUNDED.items():
        value = values[name]
        assert np.all((value >= -1e-6) & (value <= upper + 1e-5)), name
    for name, fn in SYMMETRIC.items():
        np.testing.assert_allclose(to_numpy(fn(p, t)), values[name],
                                   rtol=1e-5, atol=1e-5, err_msg=name)
    iou_loss, diou_loss = to_numpy(iou(t, p)), to_numpy(diou(t, p))
    # EIoU = DIoU + two size terms >= 0; Focal-EIoU weights it by IoU^gamma
    assert np.all(values["eiou"] >= diou_loss - 1e-6)
    assert np.all(values["focal_eiou"] <= values["eiou"] + 1e-6)
    # every penalty adds to 1 - IoU; WIoU v1's R is in [1, e]
    for name in ("siou", "shape_iou_scale_0", "shape_iou_scale_1", "mpdiou"):
        assert np.all(values[name] >= iou_loss - 1e-6), name
    assert np.all((values["wiou_v1"] >= iou_loss - 1e-6)
                  & (values["wiou_v1"] <= math.e * iou_loss + 1e-5))
    assert np.all(values["shape_iou_scale_0"] >= diou_loss - 1e-6)
    for base in ("iou", "ciou", "siou", "shape_iou"):
        # L_base + IoU - IoU_inner >= 1 - IoU_inner >= 0 (each base is
        # 1 - IoU plus penalties >= 0), and within 1 of the base (ratio 1)
        value = values[f"inner_iou_{base}"]
        base_value = to_numpy(inner_iou(t, p, ratio=1.0, base=base))
        assert np.all(value >= -1e-6), base
        assert np.all(np.abs(value - base_value) <= 1 + 1e-6), base
    # One gradient of every loss's sum (a NaN anywhere reaches it).
    fns = [*ALL.values(),
           lambda a, b: focal_eiou(a, b, weight_gradient=True)]
    _, grads = value_and_grads(
        lambda a, b: sum(ops.sum(fn(a, b)) for fn in fns), t, p)
    for grad in grads:
        assert np.all(np.isfinite(grad))


@ZOO_SETTINGS
@given(box_pairs(sides=proper_side, min_boxes=MANY, max_boxes=MANY),
       st.tuples(coordinate, coordinate), st.floats(0.1, 10),
       st.floats(0.1, 10))
def test_minimum_and_invariances(pair, shift, scale, other_scale):
    t, p = pair
    for name, fn in ALL.items():
        # identical boxes: the minimum, 0
        np.testing.assert_allclose(to_numpy(fn(t, t)), 0.0, atol=1e-5,
                                   err_msg=name)
    values = {name: to_numpy(fn(t, p)) for name, fn in ALL.items()}
    shift = np.float32(shift * 2)
    moved = [b + shift for b in (t, p)]
    for name, fn in ALL.items():
        np.testing.assert_allclose(to_numpy(fn(*moved)), values[name],
                                   err_msg=name, **TOL)
    uniform = [b * np.float32(scale) for b in (t, p)]
    for name, fn in SCALE_INVARIANT.items():
        np.testing.assert_allclose(to_numpy(fn(*uniform)), values[name],
                                   err_msg=name, **TOL)
    axes = np.float32([scale, other_scale] * 2)
    stretched = [b * axes for b in (t, p)]
    for name, fn in AXIS_SCALE_INVARIANT.items():
        np.testing.assert_allclose(to_numpy(fn(*stretched)), values[name],
                                   err_msg=name, **TOL)
    # MPDIoU's image size, NWD's constant and Balanced L1's beta are
    # lengths in the boxes' units: scaling boxes and length together leaves
    # MPDIoU and NWD unchanged and scales Balanced L1 (beta L_b(x / beta)).
    np.testing.assert_allclose(
        to_numpy(mpdiou(*uniform, image_size=(50 * scale, 80 * scale))),
        values["mpdiou"], **TOL)
    np.testing.assert_allclose(to_numpy(nwd(*uniform, constant=12.8 * scale)),
                               values["nwd"], **TOL)
    np.testing.assert_allclose(
        to_numpy(balanced_l1(*uniform, beta=scale)),
        scale * values["balanced_l1"], rtol=1e-3, atol=1e-3 * scale)


@ZOO_SETTINGS
@given(box_pairs(sides=any_side, min_boxes=MANY, max_boxes=MANY))
def test_alpha_one_is_the_plain_loss(pair):
    t, p = pair
    for penalty, fn in (("iou", iou), ("giou", giou), ("diou", diou),
                        ("ciou", ciou)):
        np.testing.assert_allclose(
            to_numpy(alpha_iou(t, p, alpha=1.0, penalty=penalty)),
            to_numpy(fn(t, p)), rtol=1e-5, atol=1e-5, err_msg=penalty)


@ZOO_SETTINGS
@given(box_pairs(sides=any_side, min_boxes=MANY, max_boxes=MANY))
def test_monotonic_in_the_papers_hyperparameters(pair):
    t, p = pair
    # Alpha-IoU: 1 - IoU^alpha grows with alpha (IoU <= 1), so alpha > 1
    # up-weights every box (He et al.: the loss and the weight of high-IoU
    # boxes grow)
    low, high = (to_numpy(alpha_iou(t, p, alpha=a)) for a in (1.0, 3.0))
    assert np.all(high >= low - 1e-6)
    # Focal-EIoU: IoU^gamma shrinks as gamma grows
    low, high = (to_numpy(focal_eiou(t, p, gamma=g)) for g in (0.5, 2.0))
    assert np.all(high <= low + 1e-6)
    # SIoU: (1 - exp(-omega))^theta <= 1 shrinks as theta grows
    low, high = (to_numpy(siou(t, p, theta=th)) for th in (2.0, 6.0))
    assert np.all(high <= low + 1e-6)
    # NWD: a larger constant forgives a larger distance
    low, high = (to_numpy(nwd(t, p, constant=c)) for c in (1.0, 12.8))
    assert np.all(high <= low + 1e-6)


@ZOO_SETTINGS
@given(box_pairs(sides=any_side, min_boxes=MANY, max_boxes=MANY),
       st.floats(0, 1), st.floats(0, 1))
def test_distance_losses_grow_along_a_ray_from_the_target(pair, near, far):
    # NWD (a norm of a linear map of the offset) and Balanced L1 (per
    # coordinate increasing in |x|) grow as the prediction moves away from
    # the target along a straight line.
    t, p = pair
    near, far = sorted((near, far))
    offset = (p - t).astype("float64")
    at = [(t + s * offset).astype("float32") for s in (near, far)]
    for fn in (nwd, balanced_l1):
        close, distant = (to_numpy(fn(t, b)) for b in at)
        assert np.all(distant >= close - 1e-5), fn.__name__


@ZOO_SETTINGS
@given(box_pairs(sides=any_side, min_boxes=MANY, max_boxes=MANY))
def test_wiou_v3_with_momentum_zero_is_the_fixed_mean_function(pair):
    t, p = pair
    loss = WIoU(version=3, momentum=0.0, iou_loss_mean=V3_MEAN,
                reduction=None)
    np.testing.assert_allclose(to_numpy(loss(t, p)), to_numpy(wiou_v3(t, p)),
                               rtol=1e-6, atol=1e-6)
    assert loss.get_config()["iou_loss_mean"] == V3_MEAN
