"""Our losses as the `box_loss` of KerasCV 0.9's YOLOV8Detector and RetinaNet.

What each detector hands its box loss (read from keras_cv 0.9.0's
`compute_loss`, and pinned by the tests below):

- YOLOV8Detector: `box_loss(y_true, y_pred, sample_weight)` with `[B, A, 4]`
  boxes in "xyxy", in units of each anchor's stride (grid cells, not pixels),
  background anchors zeroed to `[0, 0, 0, 0]` in both tensors, and
  `sample_weight [B, A, 1]` = box_loss_weight * the anchor's target score /
  the batch's total target score (0 on background). Its own loss is
  `CIoULoss(reduction="sum")`: ours need `reduction="sum"` too.
- RetinaNet: `box_loss(y_true, y_pred, sample_weight)` with `[B, A, 4]`
  deltas `[ty, tx, th, tw] / box_variance` (KerasCV encodes against
  "center_yxhw" anchors: our `deltas` convention, with
  `scale_factors = 1 / box_variance = (10, 10, 5, 5)`), `sample_weight
  [B, A]` = positive anchor / number of positive anchors; reduction "sum".
  Ignored anchors carry -2 deltas with weight 0.
"""

import numpy as np
import pytest

keras_cv = pytest.importorskip("keras_cv")

import keras  # noqa: E402
from keras import ops  # noqa: E402

from keras_boxloss import boxes  # noqa: E402
from keras_boxloss.losses import (  # noqa: E402
    CIoU, HuberBox, IoU, SmoothIoU)
from tests.integrations import generated_batch  # noqa: E402

IMAGE_SIZE = 64
# RetinaNet's BOX_VARIANCE (keras_cv/src/models/object_detection/retinanet).
BOX_VARIANCE = (0.1, 0.1, 0.2, 0.2)
SCALE_FACTORS = tuple(1.0 / v for v in BOX_VARIANCE)


def _retinanet_targets():
    """KerasCV's own RetinaNet label encoding of a generated batch:
    (anchors xyxy [A, 4], encoded deltas [B, A, 4], classes [B, A])."""
    images, gt_boxes, gt_classes = generated_batch(image_size=IMAGE_SIZE)
    anchor_generator = keras_cv.models.RetinaNet.default_anchor_generator(
        "xyxy")
    encoder = keras_cv.models.retinanet.LabelEncoder(
        bounding_box_format="xyxy", anchor_generator=anchor_generator,
        box_variance=BOX_VARIANCE)
    deltas, classes = encoder(images, {"boxes": gt_boxes,
                                       "classes": gt_classes})
    anchors = anchor_generator(image_shape=(IMAGE_SIZE, IMAGE_SIZE, 3))
    anchors = ops.concatenate(list(anchors.values()), axis=0)
    return (np.asarray(anchors), np.asarray(deltas), np.asarray(classes),
            gt_boxes)


def _kerascv_decode(deltas, anchors):
    from keras_cv.src.bounding_box.converters import _decode_deltas_to_boxes

    return np.asarray(_decode_deltas_to_boxes(
        anchors=anchors, boxes_delta=deltas, anchor_format="xyxy",
        box_format="xyxy", variance=BOX_VARIANCE))


def test_retinanet_deltas_are_our_deltas_convention():
    anchors, deltas, classes, gt_boxes = _retinanet_targets()
    positive = classes > -1
    assert positive.sum() >= 2  # the check below must have boxes to check
    # Our decoder, given KerasCV's anchors and 1 / box_variance, gives back
    # the ground-truth box each positive anchor was matched to.
    decoded = np.asarray(boxes.decode_deltas(
        deltas, anchors, SCALE_FACTORS, anchor_format="xyxy"))
    for image in range(len(gt_boxes)):
        real = gt_boxes[image][gt_boxes[image, :, 0] >= 0]
        for box in decoded[image][positive[image]]:
            assert np.min(np.abs(real - box).max(-1)) < 1e-3


def test_retinanet_decoded_iou_equals_iou_of_true_boxes():
    anchors, deltas, classes, _ = _retinanet_targets()
    positive = classes > -1
    rng = np.random.default_rng(1)
    predicted = deltas + rng.normal(0, 1.0, deltas.shape).astype("float32")
    # The boxes KerasCV itself decodes (at predict time) from both.
    true_boxes = _kerascv_decode(deltas, anchors)[positive]
    pred_boxes = _kerascv_decode(predicted, anchors)[positive]
    expected = 1.0 - np.asarray(boxes.box_iou(true_boxes, pred_boxes))
    assert 0.05 < expected.mean() < 0.95  # neither identical nor disjoint
    # IoU needs no anchors (translation and per-axis scale invariant) ...
    no_anchors = IoU(box_format="deltas", scale_factors=SCALE_FACTORS,
                     reduction="none")
    np.testing.assert_allclose(
        no_anchors(deltas, predicted)[positive], expected, atol=1e-4)
    # ... CIoU does (centre distance and aspect ratio are not): with
    # KerasCV's anchors it is CIoU of the boxes KerasCV decodes.
    with_anchors = CIoU(box_format="deltas", scale_factors=SCALE_FACTORS,
                        anchors=anchors, anchor_format="xyxy",
                        reduction="none")
    np.testing.assert_allclose(
        with_anchors(deltas, predicted)[positive],
        1.0 - np.asarray(boxes.complete_box_iou(true_boxes, pred_boxes)),
        atol=1e-4)


def test_retinanet_smoothl1_is_huber_box_over_four():
    """RetinaNet's default `box_loss="smoothl1"` (SmoothL1Loss(l1_cutoff=1,
    reduction="sum")) and `"huber"` (keras Huber(delta=1, "sum")) average
    the 4 coordinates; HuberBox sums them: same settings, 4 times the value.
    """
    rng = np.random.default_rng(2)
    y_true = rng.normal(0, 2, (2, 50, 4)).astype("float32")
    y_pred = rng.normal(0, 2, (2, 50, 4)).astype("float32")
    positive = (rng.uniform(size=(2, 50)) < 0.3).astype("float32")
    weight = positive / positive.sum()  # RetinaNet's box weights
    ours = float(HuberBox(delta=1.0, reduction="sum")(y_true, y_pred, weight))
    smooth_l1 = keras_cv.losses.SmoothL1Loss(l1_cutoff=1.0, reduction="sum")
    huber = keras.losses.Huber(delta=1.0, reduction="sum")
    assert ours > 0
    np.testing.assert_allclose(ours, 4 * float(
        smooth_l1(y_true, y_pred, weight)), rtol=1e-5)
    np.testing.assert_allclose(ours, 4 * float(
        huber(y_true, y_pred, weight)), rtol=1e-5)


def test_yolov8_hand_off_background_zero_boxes_are_harmless():
    """YOLOV8 zeroes background anchors to [0, 0, 0, 0] (a degenerate box)
    with weight 0 and reduces with "sum": our loss is then the weighted sum
    over the foreground anchors alone, with finite gradients."""
    rng = np.random.default_rng(3)
    corner = rng.uniform(0, 6, (2, 30, 2))
    y_true = np.concatenate([corner, corner + rng.uniform(1, 4, (2, 30, 2))],
                            -1).astype("float32")
    y_pred = (y_true + rng.normal(0, 0.5, y_true.shape)).astype("float32")
    foreground = rng.uniform(size=(2, 30, 1)) < 0.4
    weight = np.where(foreground, rng.uniform(0.1, 1, (2, 30, 1)), 0.0)
    weight = (7.5 * weight / weight.sum()).astype("float32")
    y_true, y_pred = y_true * foreground, y_pred * foreground
    for loss in (CIoU(reduction="sum"), SmoothIoU(reduction="sum")):
        value = float(loss(y_true, y_pred, weight))
        keep = foreground[..., 0]
        alone = float(loss(y_true[keep], y_pred[keep], weight[keep][:, 0]))
        np.testing.assert_allclose(value, alone, rtol=1e-5)
    import tensorflow as tf

    pred = tf.Variable(y_pred)
    with tf.GradientTape() as tape:
        value = SmoothIoU(reduction="sum")(y_true, pred, weight)
    assert np.isfinite(tape.gradient(value, pred).numpy()).all()


def _fit(model, images, gt_boxes, gt_classes, steps=4):
    history = model.fit(images, {"boxes": gt_boxes, "classes": gt_classes},
                        batch_size=len(images), epochs=steps, verbose=0)
    return history.history


def _assert_trains(history):
    losses = history["loss"]
    assert np.isfinite(losses).all() and np.isfinite(
        history["box_loss"]).all()
    assert losses[-1] < losses[0]


@pytest.mark.slow  # ~5 min on a loaded 2-core CPU (graph building)
@pytest.mark.parametrize("box_loss", ["ciou", "smooth_iou"])
def test_yolov8_fits_with_our_box_loss(box_loss):
    images, gt_boxes, gt_classes = generated_batch(image_size=IMAGE_SIZE)
    backbone = keras_cv.models.YOLOV8Backbone(
        stackwise_channels=[8, 16, 32, 32], stackwise_depth=[1, 1, 1, 1],
        include_rescaling=True)
    model = keras_cv.models.YOLOV8Detector(
        num_classes=3, bounding_box_format="xyxy", backbone=backbone,
        fpn_depth=1)
    loss = (CIoU(box_format="xyxy", reduction="sum") if box_loss == "ciou"
            else SmoothIoU(box_format="xyxy", reduction="sum"))
    model.compile(optimizer=keras.optimizers.Adam(1e-2), box_loss=loss,
                  classification_loss="binary_crossentropy",
                  jit_compile=False)
    _assert_trains(_fit(model, images, gt_boxes, gt_classes))


def _small_retinanet():
    backbone = keras_cv.models.ResNetBackbone(
        stackwise_filters=[8, 16, 16, 16], stackwise_blocks=[1, 1, 1, 1],
        stackwise_strides=[1, 2, 2, 2], include_rescaling=True,
        input_shape=(IMAGE_SIZE, IMAGE_SIZE, 3))
    return keras_cv.models.RetinaNet(
        backbone=backbone, num_classes=3, bounding_box_format="xyxy")


@pytest.mark.slow  # minutes on a loaded 2-core CPU (graph building)
def test_retinanet_fits_with_smooth_iou_on_deltas():
    images, gt_boxes, gt_classes = generated_batch(image_size=IMAGE_SIZE)
    model = _small_retinanet()
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3), classification_loss="focal",
        box_loss=SmoothIoU(box_format="deltas", scale_factors=SCALE_FACTORS,
                           reduction="sum"),
        jit_compile=False)
    _assert_trains(_fit(model, images, gt_boxes, gt_classes))


def test_retinanet_compute_loss_huber_box_equals_smoothl1():
    """In the detector itself: HuberBox with loss_weights {"box": 0.25}
    gives RetinaNet's default smooth-L1 loss, on the same weights."""
    images, gt_boxes, gt_classes = generated_batch(image_size=IMAGE_SIZE)
    y = {"boxes": gt_boxes, "classes": gt_classes}
    model = _small_retinanet()
    y_pred = model(images)
    values = []
    for box_loss, weights in (("smoothl1", None),
                              (HuberBox(delta=1.0, reduction="sum"),
                               {"box": 0.25, "classification": 1.0})):
        model.compile(box_loss=box_loss, classification_loss="focal",
                      loss_weights=weights, jit_compile=False)
        values.append(float(model.compute_loss(images, y, y_pred, None)))
    assert values[0] > 0
    np.testing.assert_allclose(values[1], values[0], rtol=1e-5)
