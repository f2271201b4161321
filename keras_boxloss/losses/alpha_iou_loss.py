"""Alpha-IoU losses (He et al., "Alpha-IoU: A Family of Power Intersection
over Union Losses for Bounding Box Regression", arXiv 2110.13675)."""

import keras

from keras_boxloss.boxes import alpha_box_iou
from keras_boxloss.losses import validation
from keras_boxloss.losses.box_loss import IoUFamilyLoss, prepare_boxes

PENALTIES = ("iou", "giou", "diou", "ciou")
# The centre-distance penalties are not invariant under per-axis scaling,
# so their deltas need anchors (as DIoU's and CIoU's do).
ANCHORED_PENALTIES = ("diou", "ciou")


def check_alpha_args(alpha, penalty):
    alpha = validation.check_positive("alpha", alpha)
    validation.check_choice("penalty", penalty, PENALTIES)
    return alpha


def alpha_iou(y_true, y_pred, alpha: float = 3.0, penalty: str = "iou",
              box_format: str = "xyxy", scale_factors=None, anchors=None,
              anchor_format: str = "yxyx", eps: float = 1e-7):
    """Alpha-IoU loss per box: `1 - IoU^alpha + penalty^alpha`.

    He et al., arXiv 2110.13675, eqs. (6)-(9), each term raised to `alpha`
    on its own:

    - "iou": `1 - IoU^alpha`;
    - "giou": `+ (|C \\ (B u B_gt)| / |C|)^alpha`;
    - "diou": `+ rho^(2 alpha) / c^(2 alpha)` (DIoU's centre term);
    - "ciou": `+ rho^(2 alpha) / c^(2 alpha) + (beta v)^alpha`, CIoU's
      aspect-ratio term with `beta = v / (1 - IoU + v)` held constant
      (stop-gradient), as in CIoU.

    alpha = 1 gives the plain losses; alpha > 1 (the paper's 3) up-weights
    the loss and gradient of high-IoU boxes. In deltas mode "iou" and "giou"
    need no anchors (both are invariant under the anchor); "diou" and
    "ciou" do.

    Differences from the authors' implementation (Jacobi93/Alpha-IoU), where
    this follows the paper: it adds eps inside every power (`(IoU +
    eps)^alpha`, `(beta v + eps)^alpha`), so identical boxes do not reach
    loss 0, and its GIoU uses `max(C, union)` as the enclosing area. Here
    powers are exact except below `eps`, where they continue linearly so
    that the gradient stays finite for any alpha > 0.

    Args:
        y_true: `(..., 4)` target boxes in `box_format`.
        y_pred: `(..., 4)` predicted boxes in `box_format`.
        alpha: the power, > 0; the paper recommends 3.
        penalty: "iou", "giou", "diou" or "ciou".
        box_format: "xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw",
            "yxhw", or "deltas" (then "diou" and "ciou" need `anchors`).
        scale_factors: deltas mode only: `(sy, sx, sh, sw)`, default
            (10, 10, 5, 5).
        anchors: deltas mode: `(..., 4)` anchors broadcastable to the boxes.
        anchor_format: the format of `anchors`, default "yxyx".
        eps: added to every denominator, > 0.

    Returns:
        `(...)` loss per box.

    Example:
    >>> # IoU 1/7: 1 - (1/7)^3; with "diou" plus (50/450)^3
    >>> round(float(alpha_iou([[0., 0., 10., 10.]], [[5., 5., 15., 15.]])[0]),
    ...       6)
    0.997085
    >>> round(float(alpha_iou([[0., 0., 10., 10.]], [[5., 5., 15., 15.]],
    ...                       penalty="diou")[0]), 5)
    0.99846
    """
    alpha = check_alpha_args(alpha, penalty)
    y_true, y_pred = prepare_boxes(
        y_true, y_pred, box_format, scale_factors, anchors, anchor_format,
        eps, requires_anchors=penalty in ANCHORED_PENALTIES,
        loss_name="AlphaIoU")
    return 1.0 - alpha_box_iou(y_true, y_pred, alpha, penalty, eps)


@keras.saving.register_keras_serializable(package="keras_boxloss")
class AlphaIoU(IoUFamilyLoss):
    """Alpha-IoU loss: `1 - IoU^alpha + penalty^alpha` (He et al., arXiv
    2110.13675), penalty none, GIoU's, DIoU's or CIoU's.

    See `keras_boxloss.losses.alpha_iou` for the formula and the arguments,
    plus Keras' `reduction`, `name` and `dtype`.

    Example:
    >>> loss = AlphaIoU(alpha=2.0, penalty="giou")
    >>> # disjoint: 1 - 0 + (1 - 200/900)^2
    >>> round(float(loss([[0., 0., 10., 10.]], [[20., 20., 30., 30.]])), 6)
    1.604938
    """

    fn = staticmethod(alpha_iou)

    def __init__(self, alpha: float = 3.0, penalty: str = "iou",
                 box_format: str = "xyxy", scale_factors=None, anchors=None,
                 anchor_format: str = "yxyx", eps: float = 1e-7,
                 reduction="sum_over_batch_size", name=None, dtype=None):
        alpha = check_alpha_args(alpha, penalty)
        # Per instance: the penalty decides whether deltas need anchors.
        self.requires_anchors = penalty in ANCHORED_PENALTIES
        super().__init__(box_format=box_format, scale_factors=scale_factors,
                         anchors=anchors, anchor_format=anchor_format,
                         eps=eps, reduction=reduction, name=name, dtype=dtype)
        self.fn_kwargs.update(alpha=alpha, penalty=penalty)
