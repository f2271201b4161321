"""Inner-IoU loss (Zhang, Xu and Zhang, 2023): an IoU-family loss plus the
IoU of auxiliary boxes scaled about their centres."""

import keras

from keras_boxloss.boxes import box_iou, inner_box_iou
from keras_boxloss.losses import validation
from keras_boxloss.losses.box_loss import IoUFamilyLoss, prepare_boxes
from keras_boxloss.losses.ciou_loss import CIoU
from keras_boxloss.losses.diou_loss import DIoU
from keras_boxloss.losses.eiou_loss import EIoU
from keras_boxloss.losses.giou_loss import GIoU
from keras_boxloss.losses.iou_loss import IoU
from keras_boxloss.losses.shape_iou_loss import ShapeIoU
from keras_boxloss.losses.siou_loss import SIoU

# The IoU-family losses Inner-IoU can extend, by their registry names: those
# of the form 1 - IoU + penalty, their own arguments (SIoU's theta,
# Shape-IoU's scale) at their defaults. Not: Smooth IoU (a Huber term on the
# coordinates), MPDIoU (needs an image size), Focal-EIoU and Alpha-IoU (IoU
# enters as a weight or a power, not as 1 - IoU), WIoU (a running mean),
# NWD (no IoU).
INNER_IOU_BASES = {"iou": IoU, "giou": GIoU, "diou": DIoU, "ciou": CIoU,
                   "eiou": EIoU, "siou": SIoU, "shape_iou": ShapeIoU}


def check_inner_iou_args(ratio, base):
    ratio = validation.check_positive("ratio", ratio)
    validation.check_choice("base", base, tuple(INNER_IOU_BASES))
    return ratio


def inner_iou(y_true, y_pred, ratio: float = 0.75, base: str = "iou",
              box_format: str = "xyxy", scale_factors=None, anchors=None,
              anchor_format: str = "yxyx", eps: float = 1e-7):
    """Inner-IoU loss per box: `L_base + IoU - IoU_inner`.

    Zhang, Xu and Zhang, "Inner-IoU: More Effective Intersection over Union
    Loss with Auxiliary Bounding Box" (arXiv 2311.02877), eq. 7-12: both
    boxes are scaled about their centres by `ratio`
    (`x1_inner = cx - ratio w / 2`, ...) and `IoU_inner` is their IoU; the
    base loss's `1 - IoU` is replaced by `1 - IoU_inner`, its penalty kept
    (`base="iou"` gives `1 - IoU_inner`, `"giou"` `L_GIoU + IoU -
    IoU_inner`, ...). A ratio < 1 sharpens the gradient near high IoU (the
    paper's advice for high-IoU samples), > 1 widens the region with a
    gradient for low-IoU ones. Inverted boxes are empty and stay empty when
    scaled. No stop-gradient: the paper has none (the base's own,
    CIoU's alpha, is kept).

    `IoU_inner` is invariant under translation and per-axis scaling (the
    scaling commutes with scaling about the centre), so deltas need anchors
    exactly when the base does (all but IoU and GIoU).

    Args:
        y_true: `(..., 4)` target boxes in `box_format`.
        y_pred: `(..., 4)` predicted boxes in `box_format`.
        ratio: the auxiliary boxes' scale, > 0 (the paper uses 0.5-1.5).
        base: the loss extended: "iou", "giou", "diou", "ciou", "eiou",
            "siou" or "shape_iou" (their own arguments at their defaults).
        box_format: "xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw",
            "yxhw", or "deltas" (anchors required for all bases but "iou"
            and "giou").
        scale_factors: deltas mode only: `(sy, sx, sh, sw)`, default
            (10, 10, 5, 5).
        anchors: deltas mode: `(..., 4)` anchors broadcastable to the boxes.
        anchor_format: the format of `anchors`, default "yxyx".
        eps: added to every denominator, > 0.

    Returns:
        `(...)` loss per box.

    Example:
    >>> # ratio 0.5: inner boxes [2.5, 2.5, 7.5, 7.5] and [5.5, 5.5, 9.5,
    >>> # 9.5] overlap 2 x 2 of 25 + 16 - 4: 1 - 4 / 37
    >>> round(float(inner_iou([[0., 0., 10., 10.]], [[3.5, 3.5, 11.5, 11.5]],
    ...                       ratio=0.5)[0]), 6)
    0.891892
    """
    check_inner_iou_args(ratio, base)
    base_cls = INNER_IOU_BASES[base]
    y_true, y_pred = prepare_boxes(
        y_true, y_pred, box_format, scale_factors, anchors, anchor_format,
        eps, requires_anchors=base_cls.requires_anchors,
        loss_name=f"InnerIoU(base={base!r})")
    inner = inner_box_iou(y_true, y_pred, ratio, eps)
    if base == "iou":
        # (1 - IoU) + IoU - IoU_inner, without the two IoU terms that cancel
        # (value and gradient): the cost of one IoU instead of three.
        return 1.0 - inner
    return base_cls.fn(y_true, y_pred, eps=eps) + box_iou(y_true, y_pred,
                                                          eps) - inner


@keras.saving.register_keras_serializable(package="keras_boxloss")
class InnerIoU(IoUFamilyLoss):
    """Inner-IoU loss: `L_base + IoU - IoU_inner` (Zhang et al., arXiv
    2311.02877).

    See `keras_boxloss.losses.inner_iou` for the formula and the arguments
    (`ratio`, `base`, `box_format`, `scale_factors`, `anchors`,
    `anchor_format`, `eps`), plus Keras' `reduction`, `name` and `dtype`.
    `requires_anchors` is the base's: deltas with any base but "iou" and
    "giou" need `anchors`.

    Example:
    >>> loss = InnerIoU(ratio=0.5, base="giou")
    >>> round(float(loss([[0., 0., 10., 10.]], [[0., 0., 10., 10.]])), 6)
    0.0
    """

    fn = staticmethod(inner_iou)
    requires_anchors = False  # the default base's ("iou")

    def __init__(self, ratio: float = 0.75, base: str = "iou",
                 box_format: str = "xyxy", scale_factors=None, anchors=None,
                 anchor_format: str = "yxyx", eps: float = 1e-7,
                 reduction="sum_over_batch_size", name=None, dtype=None):
        ratio = check_inner_iou_args(ratio, base)
        # Per instance, before the base class checks the box arguments.
        self.requires_anchors = INNER_IOU_BASES[base].requires_anchors
        super().__init__(box_format=box_format, scale_factors=scale_factors,
                         anchors=anchors, anchor_format=anchor_format,
                         eps=eps, reduction=reduction, name=name, dtype=dtype)
        self.fn_kwargs.update(ratio=ratio, base=base)
