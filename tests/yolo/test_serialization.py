"""The YOLOv1 detector as a Keras object: config round trip, `.keras` save
and load."""

import json

import keras
import numpy as np
import pytest

from keras_boxloss.losses import GIoU
from keras_boxloss.yolo.model import YOLOv1Detector
from tests.keras_saving import as_json, load_in_fresh_process, serialized


def small_yolo(**kwargs):
    settings = dict(grid_size=4, boxes_per_cell=2, image_size=64,
                    backbone_alpha=0.5, box_loss=GIoU(), lambda_coord=3.0,
                    lambda_noobj=0.25, confidence_target="one")
    settings.update(kwargs)
    return YOLOv1Detector(3, **settings)


def images_and_truth(seed=0):
    rng = np.random.default_rng(seed)
    images = rng.uniform(0, 255, (2, 64, 64, 3)).astype("float32")
    boxes = np.full((2, 3, 4), -1.0, "float32")
    classes = np.full((2, 3), -1.0, "float32")
    boxes[:, :2] = [[0.1, 0.1, 0.5, 0.6], [0.4, 0.3, 0.9, 0.8]]
    classes[:, :2] = [2, 3]
    return images, {"boxes": boxes, "classes": classes}


def test_config_holds_every_setting_and_rebuilds_the_same_detector():
    model = small_yolo()
    config = model.get_config()
    json.dumps(config)  # plain JSON: what a .keras file stores
    assert "backbone_weights" not in config  # the weights come from the file
    rebuilt = YOLOv1Detector.from_config(as_json(config))
    assert rebuilt.get_config() == as_json(config)
    assert rebuilt.yolo_loss.get_config()["box_loss"]["class_name"] == "GIoU"
    assert serialized(rebuilt.yolo_loss) == serialized(model.yolo_loss)
    assert (rebuilt.grid_size, rebuilt.boxes_per_cell, rebuilt.image_size,
            rebuilt.backbone, rebuilt.backbone_alpha) == (4, 2, 64, "tiny",
                                                          0.5)
    assert [w.shape for w in rebuilt.weights] == [w.shape for w in
                                                   model.weights]
    rebuilt.set_weights(model.get_weights())
    images, _ = images_and_truth()
    # the raw grids: `model.predict` returns NMS'd detections
    np.testing.assert_allclose(
        keras.Model.predict(rebuilt, images, verbose=0),
        keras.Model.predict(model, images, verbose=0), atol=1e-6)


@pytest.mark.slow  # minutes on 2 CPU cores: CI budget
def test_saved_file_loads_in_a_fresh_process_with_the_same_predictions(
        tmp_path):
    model = small_yolo()
    model.compile(optimizer=keras.optimizers.SGD(1e-2, momentum=0.9),
                  jit_compile=False)
    images, truth = images_and_truth()
    # one step: momentum has state, batch norm's moving statistics moved
    model.train_on_batch(images, truth)
    path = tmp_path / "yolo.keras"
    model.save(path)

    predictions, facts = load_in_fresh_process(path, images, tmp_path)
    assert facts["class"] == "keras_boxloss.yolo.model.YOLOv1Detector"
    np.testing.assert_allclose(
        predictions, keras.Model.predict(model, images, verbose=0),
        atol=1e-6)
    assert facts["config"] == as_json(model.get_config())
    assert facts["loss"] == serialized(model.yolo_loss)
    assert facts["loss"]["config"]["lambda_noobj"] == 0.25
    assert facts["loss"]["config"]["box_loss"]["class_name"] == "GIoU"
    assert facts["optimizer"] == serialized(model.optimizer)
    assert facts["iterations"] == 1
