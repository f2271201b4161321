"""Shape-IoU loss (Zhang and Zhang, 2023): DIoU's distance and a shape cost,
both weighted by the target box's shape."""

import keras

from keras_boxloss.boxes import shape_box_iou
from keras_boxloss.losses import validation
from keras_boxloss.losses.box_loss import IoUFamilyLoss, prepare_boxes


def shape_iou(y_true, y_pred, scale: float = 0.0, box_format: str = "xyxy",
              scale_factors=None, anchors=None, anchor_format: str = "yxyx",
              eps: float = 1e-7):
    """Shape-IoU loss per box: `1 - IoU + distance^shape + 0.5 Omega^shape`.

    Zhang and Zhang, "Shape-IoU: More Accurate Metric considering Bounding
    Box Shape and Scale" (arXiv 2312.17663), eq. 8-13, with the target's
    width and height `w_t`, `h_t` setting the weights
    `ww = 2 w_t^scale / (w_t^scale + h_t^scale)`,
    `hh = 2 h_t^scale / (w_t^scale + h_t^scale)`:

        distance^shape = (hh (xc_p - xc_t)^2 + ww (yc_p - yc_t)^2) / c^2
        Omega^shape = sum_{t = w, h} (1 - exp(-omega_t))^4
        omega_w = hh |w_p - w_t| / max(w_p, w_t)
        omega_h = ww |h_p - h_t| / max(h_p, h_t)

    `c` is the diagonal of the smallest box enclosing both, `scale` the
    dataset's target-scale factor (the paper: 0 to 1.5; at 0 both weights
    are 1 and the distance is DIoU's). A wide target weights the error
    across its short side (y) more, as the paper argues. The weights are
    computed as `2 sigmoid(+-scale (ln(w_t + eps) - ln(h_t + eps)))`, equal
    to the paper's powers but finite for every size and scale, with
    gradients at zero-size targets. The weights depend on the target only,
    so no gradient reaches the prediction through them; the paper has no
    stop-gradient and none is added. Not invariant under per-axis scaling
    (the shape), so deltas need `anchors`.

    Args:
        y_true: `(..., 4)` target boxes in `box_format`.
        y_pred: `(..., 4)` predicted boxes in `box_format`.
        scale: the target-scale factor, >= 0.
        box_format: "xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw",
            "yxhw", or "deltas" (then `anchors` is required).
        scale_factors: deltas mode only: `(sy, sx, sh, sw)`, default
            (10, 10, 5, 5).
        anchors: deltas mode: `(..., 4)` anchors broadcastable to the boxes.
        anchor_format: the format of `anchors`, default "yxyx".
        eps: added to every denominator and logarithm, > 0.

    Returns:
        `(...)` loss per box.

    Example:
    >>> # same size, centres 1 apart in x: IoU 9/11, distance 1/(11^2 + 10^2)
    >>> round(float(shape_iou([[0., 0., 10., 10.]], [[1., 0., 11., 10.]])[0]),
    ...       6)
    0.186343
    """
    validation.check_non_negative("scale", scale)
    y_true, y_pred = prepare_boxes(y_true, y_pred, box_format, scale_factors,
                                   anchors, anchor_format, eps,
                                   requires_anchors=True,
                                   loss_name="ShapeIoU")
    return 1.0 - shape_box_iou(y_true, y_pred, scale, eps)


@keras.saving.register_keras_serializable(package="keras_boxloss")
class ShapeIoU(IoUFamilyLoss):
    """Shape-IoU loss: `1 - IoU + distance^shape + 0.5 Omega^shape` (Zhang
    and Zhang, arXiv 2312.17663).

    See `keras_boxloss.losses.shape_iou` for the formula and the arguments
    (`scale`, `box_format`, `scale_factors`, `anchors`, `anchor_format`,
    `eps`), plus Keras' `reduction`, `name` and `dtype`.

    Example:
    >>> loss = ShapeIoU(scale=1.0)
    >>> round(float(loss([[0., 0., 10., 10.]], [[0., 0., 10., 10.]])), 6)
    0.0
    """

    fn = staticmethod(shape_iou)
    requires_anchors = True

    def __init__(self, scale: float = 0.0, box_format: str = "xyxy",
                 scale_factors=None, anchors=None, anchor_format: str = "yxyx",
                 eps: float = 1e-7, reduction="sum_over_batch_size",
                 name=None, dtype=None):
        scale = validation.check_non_negative("scale", scale)
        super().__init__(box_format=box_format, scale_factors=scale_factors,
                         anchors=anchors, anchor_format=anchor_format,
                         eps=eps, reduction=reduction, name=name, dtype=dtype)
        self.fn_kwargs["scale"] = scale
