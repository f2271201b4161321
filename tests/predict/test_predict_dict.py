"""`SSD.predict` / `YOLOv1Detector.predict`: KerasHub's ObjectDetector dict
(decoded, NMS'd, -1 padded); `model(images)` stays the raw head output."""

import re

import keras
import numpy as np
import pytest

from keras_boxloss.ssd.model import SSD
from keras_boxloss.training.predict import (detect, detections_from_outputs,
                                            keras_hub_detections)
from keras_boxloss.yolo.model import YOLOv1Detector

KEYS = {"boxes", "confidence", "labels", "num_detections"}


def tiny_ssd():
    keras.utils.set_random_seed(3)
    return SSD(3, image_size=64, backbone="tiny", backbone_alpha=0.5,
               num_layers=3)


def tiny_yolo():
    keras.utils.set_random_seed(3)
    model = YOLOv1Detector(3, grid_size=4, image_size=64, backbone_alpha=0.5)
    # untrained, confidences are about 0 (clipped): lift them to ~0.5
    head = model.get_layer("yolo_predictions")
    head.bias.assign(np.full(head.bias.shape, 0.5, "float32"))
    return model


def images(count=3):
    return np.random.default_rng(0).uniform(
        0, 255, (count, 64, 64, 3)).astype("float32")


@pytest.mark.parametrize("build", [tiny_ssd, tiny_yolo])
def test_predict_returns_the_keras_hub_dict(build):
    model = build()
    out = model.predict(images(), batch_size=2, verbose=0,
                        max_detections=7, score_threshold=0.05)
    assert set(out) == KEYS
    assert out["boxes"].shape == (3, 7, 4) and out["boxes"].dtype == "float32"
    assert out["confidence"].shape == (3, 7)
    assert out["confidence"].dtype == "float32"
    assert out["labels"].shape == (3, 7) and out["labels"].dtype == "int32"
    assert out["num_detections"].shape == (3,)
    assert out["num_detections"].dtype == "int32"
    count = out["num_detections"]
    assert (count > 0).all() and (count <= 7).all()
    for i, n in enumerate(count):
        # real rows: normalised boxes, label-map ids 1..3, scores >= 0.05
        assert ((out["boxes"][i, :n] >= 0) & (out["boxes"][i, :n] <= 1)).all()
        assert set(out["labels"][i, :n]) <= {1, 2, 3}
        assert (out["confidence"][i, :n] >= 0.05).all()
        # padding: -1 everywhere, as KerasHub's mask_invalid_detections
        assert (out["boxes"][i, n:] == -1).all()
        assert (out["labels"][i, n:] == -1).all()
        assert (out["confidence"][i, n:] == -1).all()


@pytest.mark.parametrize("build", [tiny_ssd, tiny_yolo])
def test_predict_equals_call_decode_and_nms(build):
    # the evaluation path (`model(images)`, `decode`, NMS) gives the same
    model = build()
    batch = images(2)
    expected = detect(model, batch)
    out = model.predict(batch, verbose=0)
    count = expected["num_detections"].numpy().astype(int)
    np.testing.assert_array_equal(out["num_detections"], count)
    for i, n in enumerate(count):
        np.testing.assert_allclose(
            out["boxes"][i, :n], expected["detection_boxes"][i, :n],
            atol=1e-5)
        np.testing.assert_array_equal(
            out["labels"][i, :n], expected["detection_classes"][i, :n])
    raw = model(batch)  # the raw head outputs, as documented
    assert tuple(raw.shape) == (2,) + tuple(model.outputs[0].shape[1:])
    on_batch = model.predict_on_batch(batch)
    np.testing.assert_array_equal(on_batch["num_detections"], count)


def test_keras_hub_dict_pads_past_num_detections():
    # two images, K = 3 rows; 2 and 0 real detections
    od = {"detection_boxes": np.array([[[.1, .2, .3, .4], [.5, .5, .6, .7],
                                        [0, 0, 0, 0]], [[0, 0, 0, 0]] * 3]),
          "detection_scores": np.array([[.9, .4, 0], [0, 0, 0]]),
          "detection_classes": np.array([[2., 1., 0.], [0., 0., 0.]]),
          "num_detections": np.array([2., 0.])}
    out = keras_hub_detections(od)
    np.testing.assert_array_equal(out["labels"], [[2, 1, -1], [-1] * 3])
    np.testing.assert_allclose(out["confidence"], [[.9, .4, -1], [-1] * 3])
    np.testing.assert_allclose(out["boxes"][0, :2], od["detection_boxes"][
        0, :2])
    assert (out["boxes"][0, 2] == -1).all() and (out["boxes"][1] == -1).all()
    np.testing.assert_array_equal(out["num_detections"], [2, 0])


def test_no_images_give_empty_arrays():
    model = tiny_ssd()
    raw = np.zeros((0,) + tuple(model.outputs[0].shape[1:]), "float32")
    out = detections_from_outputs(model, raw, max_detections=5)
    assert out["boxes"].shape == (0, 5, 4) and out["labels"].shape == (0, 5)
    assert out["num_detections"].shape == (0,)


@pytest.mark.parametrize("build", [tiny_ssd, tiny_yolo])
@pytest.mark.parametrize("shape", [(1, 50, 64, 3), (2, 64, 64, 1),
                                   (64, 64, 3)])
def test_images_of_another_size_are_a_clear_error(build, shape):
    model = build()
    with pytest.raises(ValueError, match=r"Expected images of shape "
                       r"\[batch, 64, 64, 3\].*Received: x with shape "
                       + re.escape(str(shape))):
        model.predict(np.zeros(shape, "float32"), verbose=0)
    with pytest.raises(ValueError, match="Expected images of shape"):
        model.predict_on_batch(np.zeros(shape, "float32"))
