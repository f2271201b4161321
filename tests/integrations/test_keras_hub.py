"""Our losses as the `box_loss` of KerasHub's RetinaNetObjectDetector.

keras-hub is not in our extras: keras-hub 0.26.0 co-installs with the pinned
stack (no other package changes, `pip check` clean); 0.28 and later add
tokenizers/huggingface_hub, and 0.30 and later pin kagglesdk==0.1.28, which
downgrades kagglehub and breaks kaggle (tf-models-official's dependency,
kagglesdk>=0.1.38). 0.27.1 installs cleanly but does not import (it imports
`tokenizers` without requiring it). Run these with
`pip install keras-hub==0.26.0`; without it they are skipped.

What the detector hands its box loss (keras_hub 0.26 `compute_loss`):
`box_loss(y_true, y_pred, sample_weight)` with `[B, A, 4]` deltas encoded in
"center_xywh", i.e. `[tx, ty, tw, th] / box_variance` (default variance
`[1, 1, 1, 1]`), `sample_weight [B, A]` = positive anchor / number of
positive anchors, reduction "sum" (its default is keras Huber(delta=1,
reduction="sum")). Our `deltas` are `[ty, tx, th, tw]`: every loss here is
symmetric under swapping x and y, so the x-first deltas are used as they
are -- they decode to the same boxes transposed, with the same IoU, GIoU,
DIoU, CIoU and Huber term -- and anchors, where a loss takes them, are
declared in the transposed format (xyxy anchors as `anchor_format="yxyx"`).
"""

import numpy as np
import pytest

keras_hub = pytest.importorskip(
    "keras_hub", reason="keras-hub is not installed (optional: "
    "pip install keras-hub==0.26.0, see this module's docstring)")

import keras  # noqa: E402
from keras import ops  # noqa: E402

from keras_boxloss import boxes  # noqa: E402
from keras_boxloss.losses import CIoU, HuberBox, IoU, SmoothIoU  # noqa: E402
from tests.integrations import generated_batch  # noqa: E402

IMAGE_SIZE = 64
# KerasHub's default box_variance [1, 1, 1, 1] -> scale factors 1.
SCALE_FACTORS = (1.0, 1.0, 1.0, 1.0)


def _anchor_generator():
    # The detector's default generator for a backbone with levels 3..7.
    return keras_hub.layers.AnchorGenerator(
        "xyxy", min_level=3, max_level=7, num_scales=3,
        aspect_ratios=[0.5, 1.0, 2.0], anchor_size=4)


def _targets():
    from keras_hub.src.models.retinanet.retinanet_label_encoder import (
        RetinaNetLabelEncoder)

    images, gt_boxes, gt_classes = generated_batch(image_size=IMAGE_SIZE)
    anchor_generator = _anchor_generator()
    encoder = RetinaNetLabelEncoder(
        anchor_generator, bounding_box_format="xyxy",
        encoding_format="center_xywh")
    deltas, classes = encoder(images, gt_boxes, gt_classes)
    anchors = ops.concatenate(list(anchor_generator(images).values()), 0)
    return (np.asarray(anchors), np.asarray(deltas), np.asarray(classes),
            gt_boxes)


def test_center_xywh_deltas_decode_transposed():
    anchors, deltas, classes, gt_boxes = _targets()
    positive = classes > -1
    assert positive.sum() >= 2
    decoded = np.asarray(boxes.decode_deltas(
        deltas, anchors, SCALE_FACTORS, anchor_format="yxyx"))
    transposed = decoded[..., [1, 0, 3, 2]]  # back from the swapped plane
    for image in range(len(gt_boxes)):
        real = gt_boxes[image][gt_boxes[image, :, 0] >= 0]
        for box in transposed[image][positive[image]]:
            assert np.min(np.abs(real - box).max(-1)) < 1e-3


def test_decoded_iou_equals_iou_of_true_boxes():
    anchors, deltas, classes, _ = _targets()
    positive = classes > -1
    rng = np.random.default_rng(1)
    predicted = deltas + rng.normal(0, 0.3, deltas.shape).astype("float32")

    def kerashub_decode(encoded):
        return np.asarray(keras.utils.bounding_boxes.decode_deltas_to_boxes(
            anchors=anchors, boxes_delta=encoded,
            encoded_format="center_xywh", anchor_format="xyxy",
            box_format="xyxy", image_shape=(IMAGE_SIZE, IMAGE_SIZE, 3)))

    true_boxes = kerashub_decode(deltas)[positive]
    pred_boxes = kerashub_decode(predicted)[positive]
    expected_iou = 1.0 - np.asarray(boxes.box_iou(true_boxes, pred_boxes))
    assert 0.05 < expected_iou.mean() < 0.95
    np.testing.assert_allclose(
        IoU(box_format="deltas", scale_factors=SCALE_FACTORS,
            reduction="none")(deltas, predicted)[positive],
        expected_iou, atol=1e-4)
    np.testing.assert_allclose(
        CIoU(box_format="deltas", scale_factors=SCALE_FACTORS,
             anchors=anchors, anchor_format="yxyx",
             reduction="none")(deltas, predicted)[positive],
        1.0 - np.asarray(boxes.complete_box_iou(true_boxes, pred_boxes)),
        atol=1e-4)


def _detector():
    encoder = keras_hub.models.ResNetBackbone(
        input_conv_filters=[64], input_conv_kernel_sizes=[7],
        stackwise_num_filters=[64, 16, 16, 16],  # KerasHub: first must be 64
        stackwise_num_blocks=[1, 1, 1, 1],
        stackwise_num_strides=[1, 2, 2, 2], block_type="basic_block",
        image_shape=(IMAGE_SIZE, IMAGE_SIZE, 3))
    backbone = keras_hub.models.RetinaNetBackbone(
        image_encoder=encoder, min_level=3, max_level=7, use_p5=False,
        image_shape=(IMAGE_SIZE, IMAGE_SIZE, 3))
    return keras_hub.models.RetinaNetObjectDetector(
        backbone=backbone, num_classes=3, bounding_box_format="xyxy",
        anchor_generator=_anchor_generator(), pre_logits_num_conv_layers=1)


def test_compute_loss_huber_box_equals_default_huber():
    """The default box loss, keras Huber(delta=1, "sum"), averages the 4
    coordinates; HuberBox sums them: with loss_weights 0.25 on the box
    output the detector's loss is the same."""
    images, gt_boxes, gt_classes = generated_batch(image_size=IMAGE_SIZE)
    y = {"boxes": gt_boxes, "labels": gt_classes}
    model = _detector()
    y_pred = model(images)
    values = []
    for box_loss, weights in (
            ("auto", None),
            (HuberBox(delta=1.0, reduction="sum"),
             {"bbox_regression": 0.25, "cls_logits": 1.0})):
        model.compile(box_loss=box_loss, loss_weights=weights,
                      jit_compile=False)
        values.append(float(model.compute_loss(images, y, y_pred, None)))
    assert values[0] > 0
    np.testing.assert_allclose(values[1], values[0], rtol=1e-5)


@pytest.mark.slow  # minutes on a loaded 2-core CPU (graph building)
def test_fits_with_smooth_iou_on_deltas():
    images, gt_boxes, gt_classes = generated_batch(image_size=IMAGE_SIZE)
    model = _detector()
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        box_loss=SmoothIoU(box_format="deltas", scale_factors=SCALE_FACTORS,
                           reduction="sum"),
        jit_compile=False)
    history = model.fit(images, {"boxes": gt_boxes, "labels": gt_classes},
                        batch_size=len(images), epochs=4, verbose=0).history
    assert np.isfinite(history["loss"]).all()
    assert np.isfinite(history["bbox_regression_loss"]).all()
    assert history["loss"][-1] < history["loss"][0]
