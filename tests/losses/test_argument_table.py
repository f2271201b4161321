"""Every constructor argument of every loss, given a bad value, is a
ValueError that names it (issue 15): one row per (class, argument, value).

Each row: the class, the keyword arguments (the bad one plus what it needs
to be read, e.g. box_format="deltas" for scale_factors), the argument the
message must name ("Expected `arg` ... Received: arg..."), and further words
the message must hold. A second test checks that the table covers every
argument of every constructor, so a new argument cannot go unchecked.
"""

import inspect

import keras
import numpy as np
import pytest

from keras_boxloss import (CIoU, DIoU, GIoU, HuberBox, IoU, MultiBox,
                           SmoothIoU)
from keras_boxloss.losses import (NWD, BalancedL1, InnerIoU, MPDIoU,
                                  ShapeIoU, YOLOv1)
from keras_boxloss.losses import AlphaIoU, EIoU, FocalEIoU, SIoU, WIoU

NAN, INF = float("nan"), float("inf")
IOU_FAMILY = [IoU, GIoU, DIoU, CIoU, SmoothIoU]
ALL = [HuberBox] + IOU_FAMILY + [MultiBox, YOLOv1]
# Issue 18's losses, appended (each helper's edit stays its own lines).
IOU_FAMILY += [NWD, MPDIoU, InnerIoU, ShapeIoU]
ALL += [BalancedL1, NWD, MPDIoU, InnerIoU, ShapeIoU]
IOU_FAMILY += [EIoU, FocalEIoU, AlphaIoU, SIoU, WIoU]
ALL += [EIoU, FocalEIoU, AlphaIoU, SIoU, WIoU]
# MultiBox's only required argument, given in every MultiBox row.
REQUIRED = {MultiBox: {"num_classes": 2}}


NUMBER = "finite number"
FORMAT_CHOICE = "one of ['xyxy'"

ROWS = []


def _id(value):
    # An object's repr names its address, which differs between processes
    # (pytest-xdist's workers must collect the same ids).
    text = repr(value)
    return f"{type(value).__name__}()" if " at 0x" in text else text


def row(cls, kwargs, arg, *words):
    ROWS.append(pytest.param(
        cls, kwargs, arg, words,
        id=f"{cls.__name__}-{arg}-{'-'.join(map(_id, kwargs.values()))}"))


# The Keras arguments, every class.
for cls in ALL:
    row(cls, {"reduction": "average"}, "reduction", "one of")
    row(cls, {"reduction": 3}, "reduction", "one of")
    row(cls, {"name": 5}, "name", "string")
    row(cls, {"name": "a/b"}, "name", "without '/'")
    row(cls, {"dtype": "float31"}, "dtype", "float dtype")
    row(cls, {"dtype": "int32"}, "dtype", "float dtype")
    row(cls, {"dtype": 3}, "dtype", "float dtype")

# delta: HuberBox and SmoothIoU.
for cls in (HuberBox, SmoothIoU):
    for value in ("1", -1.0, 0, NAN, INF, True, None, [1.0]):
        row(cls, {"delta": value}, "delta", NUMBER, "> 0")

# The box arguments of the IoU family.
for cls in IOU_FAMILY:
    for value in ("xyzw", "XYXY", 4, None, ("xyxy",)):
        row(cls, {"box_format": value}, "box_format", FORMAT_CHOICE,
            "'deltas'")
    for value in ("yxyx_", 0, None):
        row(cls, {"anchor_format": value}, "anchor_format", FORMAT_CHOICE)
    for value in ("1e-7", -1e-7, 0.0, NAN, INF, True, None):
        row(cls, {"eps": value}, "eps", NUMBER, "> 0")
    for value in (("a", 1, 1, 1), (10, 10), (10, 10, 5, 5, 1),
                  (10, 10, -5, 5), (10, 10, 5, 0), (10, NAN, 5, 5),
                  (10, 10, INF, 5), (True, 1, 1, 1), "abcd", 10.0,
                  np.ones((2, 4))):
        row(cls, {"box_format": "deltas", "scale_factors": value},
            "scale_factors", "4 finite numbers > 0")
    row(cls, {"scale_factors": (10, 10, 5, 5)}, "scale_factors",
        "only with box_format='deltas'")
    row(cls, {"anchors": np.zeros((3, 4))}, "anchors",
        "only with box_format='deltas'")
    for value in (np.zeros((3, 3)), "anchors", 4.0):
        row(cls, {"box_format": "deltas", "anchors": value}, "anchors",
            "shape (..., 4)")
    row(cls, {"box_format": "deltas", "anchors": [["a", "b", "c", "d"]]},
        "anchors", "numbers")
    for bad in (NAN, INF):
        row(cls, {"box_format": "deltas", "anchors": [[0, 0, bad, 1]]},
            "anchors", "finite")
for cls in (DIoU, CIoU):
    row(cls, {"box_format": "deltas"}, "anchors", "not invariant")

for value in ("square", "LOG", 1, None):
    row(IoU, {"mode": value}, "mode", "one of ['linear', 'log']")

for value in (1.5, -0.1, "0.5", NAN, INF, True):
    row(SmoothIoU, {"lambda_weight": value}, "lambda_weight",
        "None or a number in [0, 1]")
for value in ("yes", 1, None, 0.0):
    row(SmoothIoU, {"lambda_gradient": value}, "lambda_gradient",
        "True or False")

# MultiBox.
for value in (0, -1, "2", 2.0, True, None):
    row(MultiBox, {"num_classes": value}, "num_classes", "integer >= 1")
for value, words in (
        (YOLOv1(), ("per-box loss", "YOLOv1 is not a per-box loss",
                    "Received: box_loss=YOLOv1(")),
        (keras.losses.MeanSquaredError(), ("per-box loss",
                                           "MeanSquaredError")),
        (MultiBox(2), ("per-box loss", "MultiBox")),
        ("smooth_iou", ("per-box loss", "get_box_loss")),
        ("huber", ("per-box loss",)),
        (5, ("per-box loss",)),
        (IoU, ("per-box loss", "type object")),  # the class, not an instance
):
    row(MultiBox, {"box_loss": value}, "box_loss", *words)
row(MultiBox, {"box_loss": DIoU(box_format="deltas",
                                anchors=np.zeros((1, 4)))},
    "anchors", "for DIoU")  # MultiBox's own anchors, not the loss'
row(MultiBox, {"box_loss": CIoU()}, "anchors", "for CIoU")
for value in ("1", 0, -1.0, NAN, INF, True):
    row(MultiBox, {"alpha": value}, "alpha", NUMBER, "> 0")
for value in ("focal", "Softmax", None, 0):
    row(MultiBox, {"classification": value}, "classification",
        "one of ['softmax', 'sigmoid_focal']")
for value in ("3", 0, -3.0, NAN, INF, False):
    row(MultiBox, {"neg_pos_ratio": value}, "neg_pos_ratio", NUMBER, "> 0")
for value in (-1, 1.5, "0", True, None):
    row(MultiBox, {"min_negatives_per_image": value},
        "min_negatives_per_image", "integer >= 0")
for value in ("0.25", 0, -0.25, 1.5, NAN, INF, True):
    row(MultiBox, {"focal_alpha": value}, "focal_alpha", "(0, 1]")
for value in ("2", -1.0, NAN, INF, True, None):
    row(MultiBox, {"focal_gamma": value}, "focal_gamma", NUMBER, ">= 0")
for value in (("a", 1, 1, 1), (10, 10), (10, 10, 5, 0), (10, NAN, 5, 5),
              None):
    if value is None:
        continue  # None means the default coder
    row(MultiBox, {"scale_factors": value}, "scale_factors",
        "4 finite numbers > 0")
row(MultiBox, {"anchors": np.zeros((3, 3))}, "anchors", "shape (..., 4)")
row(MultiBox, {"anchors": [["a", "b", "c", "d"]]}, "anchors", "numbers")
row(MultiBox, {"anchors": [[0, 0, NAN, 1]]}, "anchors", "finite")

# YOLOv1.
for arg in ("grid_size", "boxes_per_cell", "num_classes"):
    for value in (0, -1, 7.0, "7", True, None):
        row(YOLOv1, {arg: value}, arg, "integer >= 1")
for arg in ("lambda_coord", "lambda_noobj"):
    for value in (-1.0, "5", NAN, INF, True, None):
        row(YOLOv1, {arg: value}, arg, NUMBER, ">= 0")
for value in ("ones", "IOU", 1, None):
    row(YOLOv1, {"confidence_target": value}, "confidence_target",
        "one of ['iou', 'one']")
for value, words in (
        (YOLOv1(), ("IoU-family loss", "YOLOv1(")),
        (HuberBox(), ("IoU-family loss", "HuberBox(")),
        (MultiBox(2), ("IoU-family loss", "MultiBox(")),
        (keras.losses.MeanSquaredError(), ("IoU-family loss",)),
        (IoU(box_format="yxyx"), ("box_format='xyxy'",
                                  "with box_format='yxyx'")),
        (GIoU(box_format="deltas"), ("with box_format='deltas'",)),
        ("giou", ("IoU-family loss",)),
):
    row(YOLOv1, {"box_loss": value}, "box_loss", *words)
for value in ("1e-7", 0.0, -1e-7, NAN, INF, True):
    row(YOLOv1, {"eps": value}, "eps", NUMBER, "> 0")

# Issue 18: BalancedL1, NWD, MPDIoU, InnerIoU, ShapeIoU.
for arg in ("alpha", "gamma", "beta"):
    for value in ("1", -1.0, 0, NAN, INF, True, None):
        row(BalancedL1, {arg: value}, arg, NUMBER, "> 0")
row(BalancedL1, {"alpha": 0.01, "gamma": 1.0}, "gamma",
    "b = exp(gamma / alpha) - 1")
for value in ("12.8", -1.0, 0, NAN, INF, True, None):
    row(NWD, {"constant": value}, "constant", NUMBER, "> 0")
    row(InnerIoU, {"ratio": value}, "ratio", NUMBER, "> 0")
for value in ((0, 1), (1,), (1, 2, 3), "hw", 5.0, (1, NAN), (True, 1), None):
    row(MPDIoU, {"image_size": value}, "image_size",
        "2 finite numbers > 0 (height, width)")
for value in ("smooth_iou", "GIoU", "mpdiou", None, 1):
    row(InnerIoU, {"base": value}, "base", "one of ['iou'")
for value in ("1", -0.5, NAN, INF, True, None):
    row(ShapeIoU, {"scale": value}, "scale", NUMBER, ">= 0")
for cls, kwargs in ((NWD, {}), (MPDIoU, {}), (ShapeIoU, {}),
                    (InnerIoU, {"base": "ciou"})):
    row(cls, {**kwargs, "box_format": "deltas"}, "anchors", "not invariant")

# Issue 18: EIoU, FocalEIoU, AlphaIoU, SIoU, WIoU.
for value in ("0.5", -1.0, 0, NAN, INF, True, None):
    row(FocalEIoU, {"gamma": value}, "gamma", NUMBER, "> 0")
    row(AlphaIoU, {"alpha": value}, "alpha", NUMBER, "> 0")
    row(SIoU, {"theta": value}, "theta", NUMBER, "> 0")
    for arg in ("alpha", "delta", "iou_loss_mean"):
        row(WIoU, {arg: value}, arg, NUMBER, "> 0")
for value in ("yes", 1, None):
    row(FocalEIoU, {"weight_gradient": value}, "weight_gradient",
        "True or False")
for value in ("eiou", "IoU", None, 1):
    row(AlphaIoU, {"penalty": value}, "penalty", "one of ['iou'")
for value in (2, "1", 1.5, True, None):
    row(WIoU, {"version": value}, "version", "one of [1, 3]")
for value in (-0.1, 1.5, "0.1", NAN, True, None):
    row(WIoU, {"momentum": value}, "momentum", "number in [0, 1]")
for cls, kwargs in ((EIoU, {}), (FocalEIoU, {}), (SIoU, {}), (WIoU, {}),
                    (AlphaIoU, {"penalty": "diou"})):
    row(cls, {**kwargs, "box_format": "deltas"}, "anchors", "not invariant")


@pytest.mark.parametrize("cls, kwargs, arg, words", ROWS)
def test_bad_argument_is_a_value_error_naming_it(cls, kwargs, arg, words):
    with pytest.raises(ValueError) as info:
        cls(**{**REQUIRED.get(cls, {}), **kwargs})
    message = str(info.value)
    assert message.startswith("Expected ") or "Expected `" in message
    assert f"`{arg}`" in message
    assert f"Received: {arg}" in message
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"


def test_the_table_covers_every_argument_of_every_class():
    covered = {(values[0], values[2]) for values in
               (param.values for param in ROWS)}
    for cls in ALL:
        arguments = [name for name in inspect.signature(cls).parameters]
        missing = [name for name in arguments if (cls, name) not in covered]
        assert not missing, f"{cls.__name__}: no bad value for {missing}"


@pytest.mark.parametrize("cls, kwargs", [
    # Good values of other types than the defaults' are still accepted.
    (HuberBox, {"delta": np.float32(0.5)}),
    (HuberBox, {"delta": 2, "reduction": None, "dtype": "mixed_float16"}),
    (HuberBox, {"dtype": keras.DTypePolicy("float64"), "name": "box"}),
    (SmoothIoU, {"lambda_weight": 0, "lambda_gradient": True}),
    (SmoothIoU, {"lambda_weight": np.float32(1.0)}),
    (IoU, {"box_format": "deltas", "scale_factors": np.float32([1, 1, 2, 2]),
           "anchors": [[0, 0, 1, 1]], "anchor_format": "xyxy"}),
    (GIoU, {"box_format": "deltas", "scale_factors": [10, 10, 5, 5]}),
    (MultiBox, {"num_classes": np.int64(3), "focal_gamma": 0,
                "focal_alpha": 1, "min_negatives_per_image": np.int32(0),
                "classification": "sigmoid_focal", "alpha": 2}),
    (MultiBox, {"num_classes": 1, "box_loss": SmoothIoU(delta=0.5)}),
    (MultiBox, {"num_classes": 1, "box_loss": CIoU(),
                "anchors": np.float64([[0, 0, 1, 1]])}),
    (YOLOv1, {"grid_size": np.int64(7), "lambda_coord": 0,
              "box_loss": SmoothIoU(), "eps": 1e-6}),
    (BalancedL1, {"alpha": 1, "gamma": np.float32(2.0), "beta": 0.5}),
    (NWD, {"constant": 1, "box_format": "deltas", "anchors": [[0, 0, 1, 1]]}),
    (MPDIoU, {"image_size": np.float32([480, 640])}),
    (MPDIoU, {"image_size": [1, 1], "box_format": "deltas",
              "anchors": np.float64([[0, 0, 1, 1]])}),
    (InnerIoU, {"ratio": 1, "base": "ciou", "box_format": "deltas",
                "anchors": [[0, 0, 1, 1]]}),
    (ShapeIoU, {"scale": 0}),
    (YOLOv1, {"box_loss": ShapeIoU(scale=1.0)}),
    (MultiBox, {"num_classes": 1, "box_loss": BalancedL1()}),
])
def test_good_values_of_other_types_are_accepted(cls, kwargs):
    loss = cls(**kwargs)
    # and survive the config round trip
    assert type(loss).from_config(loss.get_config()).get_config() == \
        loss.get_config()
