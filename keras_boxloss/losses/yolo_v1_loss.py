"""YOLOv1 loss (Redmon et al., 2016): sum-squared error over an S x S grid.

Layouts (S = `grid_size`, B = `boxes_per_cell`, C = `num_classes`):

- `y_pred`: `(batch, S, S, B * 5 + C)`. Row `i` of the grid is the image's
  i-th band from the top, column `j` the j-th from the left. The last axis
  holds B predictors `(x, y, w, h, confidence)` one after the other, then the
  C conditional class probabilities of the cell: x, y are the box centre's
  offset inside its cell (0 to 1), w, h its size relative to the image. The
  values are the network's raw outputs, as in the paper (a linear last
  layer): no sigmoid or softmax is applied here.
- `y_true`, chosen by rank when the loss is traced:
    - padded ground truth, rank 3: `(batch, max_boxes, 5)`, rows
      `[class, x1, y1, x2, y2]` with corners normalised to the image (0 to 1)
      and class an integer in [0, C). A negative class (-1) marks padding:
      such rows are ignored whatever their coordinates hold, NaN included.
      Inverted corners (x2 < x1) give an empty box at their centre.
    - an already gridded target, rank 4: `(batch, S, S, 5 + C)`, per cell
      `[x, y, w, h, object, p_1 .. p_C]` in the prediction's conventions,
      `object` 1 where an object's centre lies in the cell, else 0 (> 0
      counts as an object), the p's one-hot (any distribution is accepted);
      a negative w or h is taken as 0.
      Cells without an object are ignored apart from `object`.
  Anything else is a ValueError naming `y_true`.

Two objects in one cell: a YOLOv1 cell predicts one set of class
probabilities and so holds one object. `grid_targets` keeps the first valid
box (in `y_true` order) whose centre falls in a cell; later boxes there are
dropped and add nothing to the loss. Order the boxes to choose (darknet
shuffles them and keeps the first, the same rule on a random order).
Centres outside the image go to the nearest edge cell.
"""

import typing

import keras
import numpy as np
from keras import ops

from keras_boxloss import boxes
from keras_boxloss.losses import validation
from keras_boxloss.losses.box_loss import IoUFamilyLoss
from keras_boxloss.losses.detector_loss import DetectorLoss, expand_to

CONFIDENCE_TARGETS = ("iou", "one")
TERMS = ("coord", "object", "no_object", "class")


def signed_sqrt(x, eps: float = 1e-7):
    """`x / (sqrt(|x| + eps) + sqrt(eps))`: a square root finite everywhere.

    Equal to `sign(x) (sqrt(|x| + eps) - sqrt(eps))`, so for `x >= 0` it is
    `sqrt(x + eps) - sqrt(eps)`, within `sqrt(eps)` of `sqrt(x)`, and a
    difference of two of them is `sqrt(a + eps) - sqrt(b + eps)`. It is odd,
    strictly increasing and continuously differentiable, with slope
    `1 / (2 sqrt(|x| + eps))`: at most `1 / (2 sqrt(eps))` (about 1581 for
    1e-7) at 0 instead of sqrt's infinite one. Negative sizes map to negative
    roots, so a predicted w < 0 is still pulled up towards its target (a
    clamp `sqrt(relu(w) + eps)` would leave it there with zero gradient).
    Written as a quotient, not with `sign`, whose zero derivative would kill
    the gradient at exactly 0; the denominator is at least `2 sqrt(eps)`.
    (Darknet's YOLOv1 avoided the question by having the network output
    sqrt(w) itself; here, as in the paper's text, the network outputs w.)
    """
    return x / (ops.sqrt(ops.abs(x) + eps) + np.sqrt(eps))


def grid_targets(y_true, grid_size: int = 7, num_classes: int = 20):
    """Padded ground truth `(batch, max_boxes, 5)` to a grid target.

    Rows are `[class, x1, y1, x2, y2]` (normalised corners, class < 0 for
    padding). Each box goes to the cell holding its centre; where several
    valid boxes share a cell the first one is kept. Fixed-shape and
    XLA-compilable: a one-hot cell assignment and an exclusive cumulative
    count, no loop over boxes and no boolean mask.

    Returns:
        `(batch, S, S, 5 + C)` rows `[x, y, w, h, object, one-hot class]`,
        x, y relative to the cell, w, h to the image; zero where no object.

    Example:
    >>> import numpy as np
    >>> grid = grid_targets(np.float32([[[1, .1, .2, .5, .6], [-1] * 5]]),
    ...                     grid_size=2, num_classes=3)
    >>> np.asarray(grid, "float64")[0, 0, 0].round(6).tolist()
    [0.6, 0.8, 0.4, 0.4, 1.0, 0.0, 1.0, 0.0]
    """
    validation.check_int("grid_size", grid_size, 1)
    validation.check_int("num_classes", num_classes, 1)
    y_true = ops.convert_to_tensor(y_true)
    shape = tuple(y_true.shape)
    if len(shape) != 3 or shape[-1] != 5:
        raise ValueError(
            "Expected `y_true` of padded boxes, shape (batch, max_boxes, 5) "
            f"rows [class, x1, y1, x2, y2]. Received: y_true.shape={shape}")
    dtype = boxes.compute_dtype(y_true)
    y_true = ops.cast(y_true, dtype)
    size = grid_size
    label = y_true[..., 0]
    valid = ops.greater_equal(label, 0.0)  # False for NaN too
    # Padding may hold anything: replace it before any math (cf. BoxLoss).
    corners = ops.where(ops.expand_dims(valid, -1), y_true[..., 1:],
                        ops.cast(0.5, dtype))
    x1, y1, x2, y2 = ops.unstack(corners, 4, axis=-1)
    cx, cy = 0.5 * (x1 + x2) * size, 0.5 * (y1 + y2) * size
    col = ops.clip(ops.floor(cx), 0.0, size - 1.0)
    row = ops.clip(ops.floor(cy), 0.0, size - 1.0)
    cell = ops.one_hot(ops.cast(row * size + col, "int32"), size * size,
                       dtype=dtype) * ops.expand_dims(ops.cast(valid, dtype),
                                                      -1)
    # First valid box in each cell: no valid box before it in that cell.
    earlier = ops.cumsum(cell, axis=1) - cell
    first = ops.where(ops.less(earlier, 0.5), cell, ops.zeros_like(cell))
    label = ops.cast(ops.round(ops.where(valid, label, 0.0)), "int32")
    features = ops.concatenate([
        ops.stack([cx - col, cy - row, ops.relu(x2 - x1), ops.relu(y2 - y1),
                   ops.ones_like(cx)], axis=-1),
        ops.one_hot(label, num_classes, dtype=dtype),
    ], axis=-1)
    grid = ops.einsum("bmk,bmf->bkf", first, features)
    return ops.reshape(grid, (-1, size, size, 5 + num_classes))


def yolo_v1_terms(y_true, y_pred, grid_size: int = 7,
                  boxes_per_cell: int = 2, num_classes: int = 20,
                  lambda_coord: float = 5.0, lambda_noobj: float = 0.5,
                  confidence_target: str = "iou",
                  box_loss: typing.Optional[IoUFamilyLoss] = None,
                  eps: float = 1e-7) -> typing.Dict[str, typing.Any]:
    """The four terms of `yolo_v1`, each `(batch,)`, in a dict.

    Keys "coord" (weighted by `lambda_coord`), "object", "no_object"
    (weighted by `lambda_noobj`) and "class"; `yolo_v1` is their sum.
    """
    _check_args(grid_size, boxes_per_cell, num_classes, lambda_coord,
                lambda_noobj, confidence_target, box_loss, eps)
    size, per_cell = grid_size, boxes_per_cell
    y_true = ops.convert_to_tensor(y_true)
    y_pred = ops.convert_to_tensor(y_pred)
    _check_prediction_shape(y_pred, size, per_cell, num_classes)
    target = _as_grid(y_true, y_pred, size, num_classes)
    dtype = boxes.compute_dtype(y_pred)
    y_pred = ops.cast(y_pred, dtype)
    target = ops.cast(target, dtype)

    has_object = ops.greater(target[..., 4], 0.0)          # (batch, S, S)
    target = ops.where(ops.expand_dims(has_object, -1), target,
                       ops.zeros_like(target))
    # a negative ground-truth size is an empty box, as in `boxes`
    target = ops.concatenate([target[..., :2], ops.relu(target[..., 2:4]),
                              target[..., 4:]], axis=-1)
    obj = ops.cast(has_object, dtype)
    predictors = ops.reshape(y_pred[..., :5 * per_cell],
                             (-1, size, size, per_cell, 5))
    class_pred = y_pred[..., 5 * per_cell:]
    target_box = ops.expand_dims(target[..., :4], -2)      # (b, S, S, 1, 4)
    pred_box = predictors[..., :4]                         # (b, S, S, B, 4)
    confidence = predictors[..., 4]                        # (b, S, S, B)

    # The responsible predictor: highest current IoU, a choice, not a path.
    target_xyxy = _cell_to_xyxy(target_box, size, dtype)
    pred_xyxy = _cell_to_xyxy(pred_box, size, dtype)
    overlap = ops.stop_gradient(boxes.box_iou(target_xyxy, pred_xyxy, eps))
    responsible = ops.one_hot(ops.argmax(overlap, axis=-1), per_cell,
                              dtype=dtype) * ops.expand_dims(obj, -1)

    if box_loss is None:
        tx, ty, tw, th = ops.unstack(target_box, 4, axis=-1)
        px, py, pw, ph = ops.unstack(pred_box, 4, axis=-1)
        per_box = (ops.square(tx - px) + ops.square(ty - py)
                   + ops.square(signed_sqrt(tw, eps) - signed_sqrt(pw, eps))
                   + ops.square(signed_sqrt(th, eps) - signed_sqrt(ph, eps)))
    else:
        # Only the responsible predictors count: the others are masked
        # (harmless boxes before the math; Smooth IoU's lambda skips them).
        per_box = box_loss.per_box(
            ops.broadcast_to(target_xyxy, ops.shape(pred_xyxy)), pred_xyxy,
            mask=ops.greater(responsible, 0.0))
    if confidence_target == "iou":
        confidence_true = overlap
    else:
        confidence_true = ops.ones_like(overlap)
    axes = (1, 2, 3)
    return {
        "coord": lambda_coord * ops.sum(responsible * per_box, axis=axes),
        "object": ops.sum(
            responsible * ops.square(confidence_true - confidence), axis=axes),
        "no_object": lambda_noobj * ops.sum(
            (1.0 - responsible) * ops.square(confidence), axis=axes),
        "class": ops.sum(ops.expand_dims(obj, -1)
                         * ops.square(target[..., 5:] - class_pred),
                         axis=axes),
    }


def yolo_v1(y_true, y_pred, grid_size: int = 7, boxes_per_cell: int = 2,
            num_classes: int = 20, lambda_coord: float = 5.0,
            lambda_noobj: float = 0.5, confidence_target: str = "iou",
            box_loss: typing.Optional[IoUFamilyLoss] = None,
            eps: float = 1e-7):
    """YOLOv1 loss per image: equation (3) of Redmon et al. (2016).

    Summed over the image's cells and predictors:

        lambda_coord sum 1obj_ij [(x - x^)^2 + (y - y^)^2
                                  + (r(w) - r(w^))^2 + (r(h) - r(h^))^2]
      + sum 1obj_ij (C - C^)^2
      + lambda_noobj sum (1 - 1obj_ij) C^2
      + sum_i 1obj_i sum_c (p_i(c) - p^_i(c))^2

    `1obj_ij` marks the responsible predictor of a cell with an object: the
    one whose box has the highest current IoU with the ground truth (the
    first on ties), a choice that takes no gradient. Every other predictor,
    in object cells too, gets the no-object term. `C` is that IoU held
    constant (`confidence_target="iou"`) or 1 (`"one"`). `r` is
    `signed_sqrt`, a square root with finite value and gradient for every
    real input (negative and zero sizes included). With `box_loss` (an
    IoU-family loss of this library, e.g. `CIoU()`) the coordinate term is
    `lambda_coord sum 1obj_ij box_loss(truth, box)` on the boxes decoded to
    image-normalised xyxy (negative sizes decode to empty boxes), as later
    YOLO versions did: the loss' `per_box` with the responsible predictors
    as its mask (Smooth IoU's lambda is their mean IoU).

    See the module docstring for the layouts of `y_pred` and `y_true` and
    the rule for two objects in one cell. `YOLOv1` averages the per-image
    losses over the batch.

    Args:
        y_true: padded boxes `(batch, max_boxes, 5)` or a grid target
            `(batch, S, S, 5 + C)`.
        y_pred: `(batch, S, S, B * 5 + C)`.
        grid_size: S, an integer >= 1.
        boxes_per_cell: B, an integer >= 1.
        num_classes: C, an integer >= 1.
        lambda_coord: weight of the coordinate term, >= 0.
        lambda_noobj: weight of the no-object confidence term, >= 0.
        confidence_target: "iou" or "one".
        box_loss: None, or an IoU-family loss instance (`IoU`, `GIoU`,
            `DIoU`, `CIoU`, `SmoothIoU`) with box_format "xyxy".
        eps: > 0, added to IoU denominators and under the square roots.

    Returns:
        `(batch,)` loss per image.

    Example:
    >>> import numpy as np
    >>> y_true = np.float32([[[0, .1, .1, .4, .4]]])  # a box in cell (0, 0)
    >>> y_pred = np.zeros((1, 2, 2, 11), "float32")
    >>> y_pred[0, 0, 0, 5:] = [.5, .5, .3, .3, 1., 1.]  # perfect 2nd predictor
    >>> round(float(yolo_v1(y_true, y_pred, 2, 2, 1)[0]), 6)
    0.0
    """
    terms = yolo_v1_terms(y_true, y_pred, grid_size, boxes_per_cell,
                          num_classes, lambda_coord, lambda_noobj,
                          confidence_target, box_loss, eps)
    return terms["coord"] + terms["object"] + terms["no_object"] + terms[
        "class"]


@keras.saving.register_keras_serializable(package="keras_boxloss")
class YOLOv1(DetectorLoss):
    """YOLOv1 loss (Redmon et al., 2016), summed per image, mean over batch.

    See `keras_boxloss.losses.yolo_v1` for the formula and the arguments and
    the module `keras_boxloss.losses.yolo_v1_loss` for the layouts:
    `y_pred` `(batch, S, S, B * 5 + C)`; `y_true` either padded boxes
    `(batch, max_boxes, 5)` rows `[class, x1, y1, x2, y2]` (normalised, class
    -1 for padding) or a grid `(batch, S, S, 5 + C)`, told apart by rank, so
    `model.compile(loss=YOLOv1(...))` takes either as a single tensor.

    The loss of an image is the sum over its cells and predictors; the
    default reduction "sum_over_batch_size" then averages over the images
    (reduction=None gives `(batch,)`). `sample_weight` is per image,
    `(batch,)` or `(batch, 1)`, as for every detector loss (`DetectorLoss`):
    an image with weight 0 is replaced by an empty target and a zero
    prediction before any math, so it contributes exactly 0 to the loss and
    every gradient whatever it holds.

    Args:
        grid_size, boxes_per_cell, num_classes, lambda_coord, lambda_noobj,
            confidence_target, eps: see `yolo_v1`.
        box_loss: None (sum-squared error on x, y, sqrt w, sqrt h) or an
            IoU-family loss of this library, e.g. `CIoU()`; serialized with
            the config.
        reduction, name, dtype: as for any Keras loss.

    Example:
    >>> import numpy as np
    >>> y_true = np.float32([[[0, .1, .1, .4, .4]]])
    >>> y_pred = np.zeros((1, 2, 2, 11), "float32")
    >>> y_pred[0, 0, 0, 5:] = [.5, .5, .3, .3, .5, 1.]  # confidence 0.5
    >>> # (IoU - 0.5) ** 2 with IoU = 0.09 / (0.09 + eps)
    >>> round(float(YOLOv1(2, 2, 1)(y_true, y_pred)), 5)
    0.25
    """

    def __init__(self, grid_size: int = 7, boxes_per_cell: int = 2,
                 num_classes: int = 20, lambda_coord: float = 5.0,
                 lambda_noobj: float = 0.5, confidence_target: str = "iou",
                 box_loss: typing.Union[IoUFamilyLoss, dict, None] = None,
                 eps: float = 1e-7,
                 reduction: typing.Optional[str] = "sum_over_batch_size",
                 name: typing.Optional[str] = None, dtype=None):
        if isinstance(box_loss, dict):  # from a saved config
            box_loss = keras.saving.deserialize_keras_object(box_loss)
        _check_args(grid_size, boxes_per_cell, num_classes, lambda_coord,
                    lambda_noobj, confidence_target, box_loss, eps)
        super().__init__(reduction=reduction, name=name or "yolo_v1",
                         dtype=dtype)
        self.grid_size = int(grid_size)
        self.boxes_per_cell = int(boxes_per_cell)
        self.num_classes = int(num_classes)
        self.lambda_coord = float(lambda_coord)
        self.lambda_noobj = float(lambda_noobj)
        self.confidence_target = confidence_target
        self.box_loss = box_loss
        self.eps = float(eps)

    def call(self, y_true, y_pred):
        return yolo_v1(y_true, y_pred, self.grid_size, self.boxes_per_cell,
                       self.num_classes, self.lambda_coord, self.lambda_noobj,
                       self.confidence_target, self.box_loss, self.eps)

    def _drop_images(self, y_true, y_pred, keep):
        # Empty target: class -1 (padded) or object 0 (grid); the zero
        # prediction then has loss 0 and gradient 0.
        empty = -1.0 if len(y_true.shape) == 3 else 0.0
        y_true = ops.where(expand_to(keep, y_true), y_true,
                           ops.cast(empty, y_true.dtype))
        y_pred = ops.where(expand_to(keep, y_pred), y_pred,
                           ops.zeros_like(y_pred))
        return y_true, y_pred

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "grid_size": self.grid_size,
            "boxes_per_cell": self.boxes_per_cell,
            "num_classes": self.num_classes,
            "lambda_coord": self.lambda_coord,
            "lambda_noobj": self.lambda_noobj,
            "confidence_target": self.confidence_target,
            "box_loss": (None if self.box_loss is None else
                         keras.saving.serialize_keras_object(self.box_loss)),
            "eps": self.eps,
        }


def _cell_to_xyxy(xywh, size, dtype):
    """Cell-relative `(x, y, w, h)` on a `(batch, S, S, K, 4)` grid to image
    xyxy: centre `((j + x) / S, (i + y) / S)` in cell row i, column j.

    A negative size gives an empty box at the centre, never an inverted one:
    the IoU would treat both alike, but the enclosing box of an inverted box
    can shrink to nothing, and the DIoU/CIoU centre term then explodes.
    """
    index = ops.arange(size, dtype=dtype)
    cols = ops.reshape(index, (1, 1, size, 1))
    rows = ops.reshape(index, (1, size, 1, 1))
    x, y, w, h = ops.unstack(xywh, 4, axis=-1)
    w, h = ops.relu(w), ops.relu(h)
    cx, cy = (cols + x) / size, (rows + y) / size
    return ops.stack([cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h],
                     axis=-1)


def _as_grid(y_true, y_pred, size, num_classes):
    """`y_true` as a grid target, told apart by rank; ValueError otherwise.

    Every check runs before any tensor op, at trace time."""
    shape = tuple(y_true.shape)
    padded = len(shape) == 3 and shape[-1] == 5
    if not padded and not (len(shape) == 4 and
                           shape[1:] == (size, size, 5 + num_classes)):
        raise ValueError(
            "Expected `y_true` as padded boxes of shape (batch, max_boxes, 5) "
            "rows [class, x1, y1, x2, y2], or as a grid target of shape "
            f"(batch, {size}, {size}, {5 + num_classes}) = (batch, grid_size, "
            f"grid_size, 5 + num_classes). Received: y_true.shape={shape}")
    batch_true, batch_pred = shape[0], tuple(y_pred.shape)[0]
    if None not in (batch_true, batch_pred) and batch_true != batch_pred:
        raise ValueError(
            "Expected `y_true` and `y_pred` with the same batch size. "
            f"Received: y_true.shape={shape}, "
            f"y_pred.shape={tuple(y_pred.shape)}")
    return grid_targets(y_true, size, num_classes) if padded else y_true


def _check_prediction_shape(y_pred, size, per_cell, num_classes):
    shape = tuple(y_pred.shape)
    channels = 5 * per_cell + num_classes
    if len(shape) != 4 or shape[1:] != (size, size, channels):
        raise ValueError(
            f"Expected `y_pred` of shape (batch, {size}, {size}, {channels}) "
            "= (batch, grid_size, grid_size, boxes_per_cell * 5 + "
            f"num_classes). Received: y_pred.shape={shape}")


def _check_args(grid_size, boxes_per_cell, num_classes, lambda_coord,
                lambda_noobj, confidence_target, box_loss, eps):
    validation.check_int("grid_size", grid_size, 1)
    validation.check_int("boxes_per_cell", boxes_per_cell, 1)
    validation.check_int("num_classes", num_classes, 1)
    validation.check_non_negative("lambda_coord", lambda_coord)
    validation.check_non_negative("lambda_noobj", lambda_noobj)
    validation.check_choice("confidence_target", confidence_target,
                            CONFIDENCE_TARGETS)
    validation.check_positive("eps", eps)
    if box_loss is not None and not (
            isinstance(box_loss, IoUFamilyLoss)
            and box_loss.box_format == "xyxy"):
        detail = ""
        if isinstance(box_loss, IoUFamilyLoss):
            detail = f" with box_format={box_loss.box_format!r}"
        raise ValueError(
            "Expected `box_loss` to be None or an IoU-family loss of "
            "keras_boxloss (IoU, GIoU, DIoU, CIoU, SmoothIoU) with "
            "box_format='xyxy': the loss decodes the predictions to "
            f"image-normalised xyxy boxes itself. Received: box_loss="
            f"{validation.describe(box_loss)}{detail}")
