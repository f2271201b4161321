"""Loss profiles: the Smooth IoU paper's Figures 1-3, plus gradients.

A predicted box slides along x across its ground truth. Both are encoded
against the ground truth as anchor with the Faster R-CNN box coder (10, 10,
5, 5), as the paper's TF Object Detection API hands its loss deltas: Huber
and L2 compare the deltas, the IoU family the decoded boxes. `size_ratio`
other than 1 gives the prediction another width and height (Figure 3's size
mismatch). Each loss is evaluated on one box at a time, so Smooth IoU's
lambda is that box's IoU. Gradients are d(loss)/d(shift), by central
differences on the same dense grid: the plateaus (IoU beyond overlap) and
kinks show there, which the paper's value plots do not.
"""

import math

import numpy as np

from keras_boxloss import atomic_files
from keras_boxloss.boxes import DEFAULT_SCALE_FACTORS as SCALE_FACTORS
from keras_boxloss.losses import (alpha_iou, balanced_l1, ciou, diou, eiou,
                                  focal_eiou, giou, huber_box, inner_iou,
                                  iou, mpdiou, nwd, shape_iou, siou,
                                  smooth_iou, wiou)

SMOOTH_IOU_DELTAS = (0.5, 1.0, 2.0)


def _deltas(shift, size_ratio):
    """Prediction deltas for a box shifted by `shift` widths along x."""
    log_size = math.log(size_ratio) * SCALE_FACTORS[2]
    return np.float32([[0.0, shift * SCALE_FACTORS[1], log_size, log_size]])


def profile_values(shifts, size_ratio=1.0):
    """`{loss name: values along shifts}` (numpy arrays)."""
    count = len(shifts)
    target = np.zeros((count, 4), "float32")
    anchors = np.tile(np.float32([[0.0, 0.0, 1.0, 1.0]]), (count, 1))
    deltas_kw = {"box_format": "deltas", "scale_factors": SCALE_FACTORS}
    losses = {
        "Huber": lambda p: huber_box(target, p),
        "L2": lambda p: np.sum(np.square(p - target), -1),
        "IoU": lambda p: iou(target, p, **deltas_kw),
        "GIoU": lambda p: giou(target, p, **deltas_kw),
        "DIoU": lambda p: diou(target, p, anchors=anchors, **deltas_kw),
        "CIoU": lambda p: ciou(target, p, anchors=anchors, **deltas_kw),
        # Issue 18's losses. The anchor is the unit target, so MPDIoU's image
        # and NWD's constant are given in target sizes: an image 4 targets
        # wide, C = 1 target.
        "Balanced L1": lambda p: balanced_l1(target, p),
        "MPDIoU": lambda p: mpdiou(target, p, image_size=(4.0, 4.0),
                                   anchors=anchors, **deltas_kw),
        "Inner-IoU (0.75)": lambda p: inner_iou(target, p, **deltas_kw),
        "Shape-IoU": lambda p: shape_iou(target, p, anchors=anchors,
                                         **deltas_kw),
        "NWD (C 1)": lambda p: nwd(target, p, constant=1.0, anchors=anchors,
                                   **deltas_kw),
        "EIoU": lambda p: eiou(target, p, anchors=anchors, **deltas_kw),
        "Focal-EIoU": lambda p: focal_eiou(target, p, anchors=anchors,
                                           **deltas_kw),
        "Alpha-IoU (3)": lambda p: alpha_iou(target, p, **deltas_kw),
        "SIoU": lambda p: siou(target, p, anchors=anchors, **deltas_kw),
        "WIoU v1": lambda p: wiou(target, p, anchors=anchors, **deltas_kw),
    }
    for delta in SMOOTH_IOU_DELTAS:
        losses[f"Smooth IoU (delta {delta:g})"] = (
            lambda p, d=delta: smooth_iou(target[:len(p)], p, delta=d,
                                         **deltas_kw))
    # Every shift in one call per loss (element-wise over the boxes; one box
    # per call took minutes), except Smooth IoU: its lambda is taken over
    # the boxes of a call, and a profile is of one box.
    predictions = np.concatenate([_deltas(float(shift), size_ratio)
                                  for shift in shifts])
    values = {}
    for name, fn in losses.items():
        if name.startswith("Smooth IoU"):
            values[name] = np.asarray([np.asarray(fn(p[None]))[0]
                                       for p in predictions], "float64")
        else:
            values[name] = np.asarray(fn(predictions), "float64")
    return values


def plot_profiles(path, size_ratio=1.0, shifts=None):
    """Writes a PNG with the values (left) and gradients (right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shifts = np.linspace(-2.5, 2.5, 201) if shifts is None else shifts
    values = profile_values(shifts, size_ratio)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    for name, v in values.items():
        left.plot(shifts, v, label=name)
        right.plot(shifts, np.gradient(v, shifts), label=name)
    title = ("same size" if size_ratio == 1 else
             f"prediction {size_ratio:g}x the target's size")
    left.set(title=f"Loss along an x shift ({title})",
             xlabel="shift of the prediction (target widths)", ylabel="loss",
             yscale="symlog")
    right.set(title="d loss / d shift", xlabel="shift (target widths)",
              ylabel="gradient", yscale="symlog")
    left.legend(fontsize=8)
    fig.tight_layout()
    atomic_files.write_figure(path, fig, dpi=110)
    return path
