"""NWD loss (Wang et al., 2021): 1 - the Normalized Gaussian Wasserstein
Distance, for tiny objects."""

import keras
from keras import ops

from keras_boxloss.boxes import wasserstein_distance
from keras_boxloss.losses import validation
from keras_boxloss.losses.box_loss import IoUFamilyLoss, prepare_boxes


def nwd(y_true, y_pred, constant: float = 12.8, box_format: str = "xyxy",
        scale_factors=None, anchors=None, anchor_format: str = "yxyx",
        eps: float = 1e-7):
    """NWD loss per box: `1 - exp(-W_2 / C)`, in [0, 1).

    Wang, Xu, Yang and Yu, "A Normalized Gaussian Wasserstein Distance for
    Tiny Object Detection" (arXiv 2110.13389). Each box is the 2-D Gaussian
    `N((cx, cy), diag(w^2 / 4, h^2 / 4))`, and `W_2` is the 2-Wasserstein
    distance of the two Gaussians,
    `W_2^2 = ||(cx_t, cy_t, w_t / 2, h_t / 2) - (cx_p, cy_p, w_p / 2,
    h_p / 2)||^2`; the paper's `NWD = exp(-sqrt(W_2^2) / C)`. Unlike IoU it
    does not vanish for disjoint boxes and changes smoothly with position,
    which is why it suits boxes of a few pixels.

    `C` (`constant`) is a length in the boxes' units, the paper's 12.8
    pixels being about AI-TOD's mean object size: the loss is translation
    invariant but not scale invariant. So deltas need `anchors` and `C` is
    in the anchors' units. On boxes normalised to [0, 1] the default would
    be 12.8 image widths, and NWD nearly linear and tiny
    (`W_2 / C` for `W_2 <= 1`): give `C` as a fraction of the image,
    e.g. 12.8 / 300. The SSD and YOLOv1 builders (normalised boxes) do so
    for the default (`registry.get_normalized_box_loss`: 12.8 /
    sqrt(height * width)); Model Garden's Faster R-CNN decodes to pixel
    boxes, so the default is the paper's 12.8 pixels there.

    The square root is masked where `W_2^2 = 0` (its gradient is infinite
    there): identical boxes give exactly 0 with gradient 0. The authors'
    code adds `eps` inside the root instead, which gives identical boxes a
    loss of `sqrt(eps) / C`; this follows the paper. Inverted boxes count
    as empty (w, h clamped at 0); the centre is still the midpoint.

    Args:
        y_true: `(..., 4)` target boxes in `box_format`.
        y_pred: `(..., 4)` predicted boxes in `box_format`.
        constant: `C`, > 0, in the boxes' units.
        box_format: "xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw",
            "yxhw", or "deltas" (then `anchors` is required).
        scale_factors: deltas mode only: `(sy, sx, sh, sw)`, default
            (10, 10, 5, 5).
        anchors: deltas mode: `(..., 4)` anchors broadcastable to the boxes.
        anchor_format: the format of `anchors`, default "yxyx".
        eps: added to every denominator, > 0 (kept for the family's
            signature; NWD itself divides only by `C`).

    Returns:
        `(...)` loss per box.

    Example:
    >>> # centres 3 and 4 apart, same size: W_2 = 5, 1 - exp(-5 / 12.8)
    >>> round(float(nwd([[0., 0., 4., 4.]], [[3., 4., 7., 8.]])[0]), 6)
    0.323366
    """
    constant = validation.check_positive("constant", constant)
    y_true, y_pred = prepare_boxes(y_true, y_pred, box_format, scale_factors,
                                   anchors, anchor_format, eps,
                                   requires_anchors=True, loss_name="NWD")
    # 1 - exp(-d) as -expm1(-d): exact for the small distances NWD is for.
    return -ops.expm1(-wasserstein_distance(y_true, y_pred) / constant)


@keras.saving.register_keras_serializable(package="keras_boxloss")
class NWD(IoUFamilyLoss):
    """NWD loss: `1 - exp(-W_2 / C)` (Wang et al., arXiv 2110.13389).

    See `keras_boxloss.losses.nwd` for the formula and the arguments
    (`constant`, `box_format`, `scale_factors`, `anchors`, `anchor_format`,
    `eps`), plus Keras' `reduction`, `name` and `dtype`.

    Example:
    >>> loss = NWD(constant=5.0)
    >>> round(float(loss([[0., 0., 4., 4.]], [[3., 4., 7., 8.]])), 6)
    0.632121
    """

    fn = staticmethod(nwd)
    requires_anchors = True

    def __init__(self, constant: float = 12.8, box_format: str = "xyxy",
                 scale_factors=None, anchors=None, anchor_format: str = "yxyx",
                 eps: float = 1e-7, reduction="sum_over_batch_size",
                 name=None, dtype=None):
        constant = validation.check_positive("constant", constant)
        super().__init__(box_format=box_format, scale_factors=scale_factors,
                         anchors=anchors, anchor_format=anchor_format,
                         eps=eps, reduction=reduction, name=name, dtype=dtype)
        self.fn_kwargs["constant"] = constant
