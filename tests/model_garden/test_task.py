"""The task subclass: the stock Huber value through the plug-in, each loss
type training both stages' box heads, and the anchors DIoU/CIoU decode
against."""

import numpy as np
import pytest

pytest.importorskip("official.vision")

import tensorflow as tf  # noqa: E402
from official.core import task_factory  # noqa: E402
from official.vision.tasks import maskrcnn  # noqa: E402

from keras_boxloss.boxes import decode_deltas, pairwise_iou  # noqa: E402
from keras_boxloss.losses.registry import BOX_LOSSES  # noqa: E402
from keras_boxloss.model_garden import box_terms  # noqa: E402
from keras_boxloss.model_garden import registry_imports  # noqa: E402,F401
from keras_boxloss.model_garden.model import (  # noqa: E402
    ROIS_KEY, SampledRoIsMaskRCNNModel)
from tests.model_garden.conftest import small_params  # noqa: E402

BOX_HEAD_KERNELS = ("rpn-boxes/kernel", "detection-boxes/kernel")


@pytest.fixture(scope="module")
def forward(generated_records):
    """One training forward pass of the small model (which outputs the
    sampled RoIs) under a persistent tape: (records, model, labels,
    outputs, tape)."""
    params = small_params(generated_records,
                          frcnn_box_loss={"type": "ciou"})
    task = task_factory.get_task(params.task)
    model = task.build_model()
    assert isinstance(model, SampledRoIsMaskRCNNModel)
    tf.random.set_seed(0)
    _, labels = images_labels = next(iter(
        task.build_inputs(params.task.train_data)))
    with tf.GradientTape(persistent=True) as tape:
        outputs = model(images_labels[0],
                        image_shape=labels["image_info"][:, 1, :],
                        anchor_boxes=labels["anchor_boxes"],
                        gt_boxes=labels["gt_boxes"],
                        gt_classes=labels["gt_classes"], training=True)
        outputs = tf.nest.map_structure(lambda x: tf.cast(x, tf.float32),
                                        outputs)
    return generated_records, model, labels, outputs, tape


def _losses(forward, **task_overrides):
    records, model, labels, outputs, tape = forward
    task = task_factory.get_task(small_params(records,
                                              **task_overrides).task)
    with tape:
        return task.build_losses(outputs, labels, model.losses)


def test_huber_through_the_plug_in_equals_stock_model_garden(forward):
    records, model, labels, outputs, tape = forward
    params = small_params(records)
    ours = _losses(forward)  # the defaults: huber, Model Garden's deltas
    stock = maskrcnn.MaskRCNNTask(params.task).build_losses(
        outputs, labels, model.losses)
    assert set(ours) == set(stock)
    for key in stock:
        # Equal up to float32 summation order (Model Garden sums per
        # coordinate, the plug-in per box): a few ulp at most.
        np.testing.assert_allclose(ours[key].numpy(), stock[key].numpy(),
                                   rtol=1e-6, atol=0, err_msg=key)
    assert float(ours["rpn_box_loss"]) > 0 and float(
        ours["frcnn_box_loss"]) > 0


def test_smooth_iou_with_lambda_zero_is_the_huber_term(forward):
    huber = _losses(forward)
    smooth = _losses(forward, **{stage: {"type": "smooth_iou",
                                         "lambda_weight": 0.0}
                                 for stage in ("rpn_box_loss",
                                               "frcnn_box_loss")})
    for key in ("rpn_box_loss", "frcnn_box_loss"):
        np.testing.assert_allclose(smooth[key], huber[key], rtol=1e-6)


def test_boxes_normalizer_is_per_box():
    per_box = tf.constant([[1.0, 2.0, 5.0]])
    mask = tf.constant([[True, True, False]])
    coordinates = box_terms.normalized_sum(per_box, mask, "coordinates")
    boxes = box_terms.normalized_sum(per_box, mask, "boxes")
    np.testing.assert_allclose(coordinates, 3.0 / 8.01, rtol=1e-6)
    np.testing.assert_allclose(boxes, 3.0 / 2.01, rtol=1e-6)


@pytest.mark.parametrize("loss_type", list(BOX_LOSSES))
def test_each_loss_type_gives_finite_loss_and_box_head_gradients(
        forward, loss_type):
    _, model, _, _, tape = forward
    losses = _losses(forward, rpn_box_loss={"type": loss_type},
                     frcnn_box_loss={"type": loss_type})
    for key in ("total_loss", "rpn_box_loss", "frcnn_box_loss"):
        assert np.isfinite(losses[key].numpy()), key
    kernels = {name: v for v in model.trainable_variables
               for name in BOX_HEAD_KERNELS if name in v.name}
    assert set(kernels) == set(BOX_HEAD_KERNELS)
    for key, name in zip(("rpn_box_loss", "frcnn_box_loss"),
                         BOX_HEAD_KERNELS):
        grad = tape.gradient(losses[key], kernels[name]).numpy()
        assert np.all(np.isfinite(grad)), (key, name)
        assert np.abs(grad).max() > 0, (key, name)
    total = tape.gradient(losses["total_loss"], kernels[BOX_HEAD_KERNELS[1]])
    assert np.all(np.isfinite(total.numpy()))


def _best_iou_with_ground_truth(boxes_yxyx, gt_yxyx):
    """Per image: the best IoU of each box with that image's ground truth."""
    ious = pairwise_iou(tf.gather(boxes_yxyx, [1, 0, 3, 2], axis=-1),
                        tf.gather(gt_yxyx, [1, 0, 3, 2], axis=-1))
    return tf.reduce_max(ious, axis=-1).numpy()


def test_sampled_rois_are_the_anchors_of_the_second_stage_targets(forward):
    """Decoding the box targets against `sampled_rois` (weights 10, 10, 5, 5)
    gives back ground-truth boxes: the RoIs DIoU/CIoU decode against."""
    _, _, labels, outputs, _ = forward
    rois, targets = outputs[ROIS_KEY], outputs["box_targets"]
    foreground = outputs["class_targets"].numpy() > 0
    decoded = decode_deltas(targets, rois, box_terms.FRCNN_SCALE_FACTORS)
    decoded = tf.gather(decoded, [1, 0, 3, 2], axis=-1)  # xyxy to yxyx
    best = _best_iou_with_ground_truth(decoded, labels["gt_boxes"])
    assert foreground.any()
    np.testing.assert_allclose(best[foreground], 1.0, atol=1e-4)


def test_anchor_boxes_are_the_anchors_of_the_rpn_targets(forward):
    _, _, labels, _, _ = forward
    flat = box_terms._flat_boxes  # the layout rpn_box_loss uses
    for level in labels["rpn_box_targets"]:
        targets = flat(labels["rpn_box_targets"][level])
        anchors = flat(labels["anchor_boxes"][level])
        positive = tf.reduce_any(tf.abs(targets) > 1e-6, -1).numpy()
        if not positive.any():
            continue
        decoded = decode_deltas(targets, anchors,
                                box_terms.RPN_SCALE_FACTORS)
        decoded = tf.gather(decoded, [1, 0, 3, 2], axis=-1)
        best = _best_iou_with_ground_truth(decoded, labels["gt_boxes"])
        np.testing.assert_allclose(best[positive], 1.0, atol=1e-4)


def test_second_stage_coder_weights_are_model_gardens(forward):
    _, model, _, _, _ = forward
    assert tuple(model._cascade_layer_to_weights[0]) == (
        box_terms.FRCNN_SCALE_FACTORS)
