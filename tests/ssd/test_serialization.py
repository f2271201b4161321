"""The SSD as a Keras object: config round trip, `.keras` save and load."""

import json

import keras
import numpy as np

from keras_boxloss.losses import CIoU, HuberBox, SmoothIoU
from keras_boxloss.ssd.anchors import DEFAULT_ASPECT_RATIOS
from keras_boxloss.ssd.model import SSD
from tests.keras_saving import as_json, load_in_fresh_process, serialized

ANCHORS = {"min_scale": 0.3, "max_scale": 0.9, "aspect_ratios": (1.0, 2.0),
           "interpolated_scale_aspect_ratio": 0.0}


def small_ssd(**kwargs):
    settings = dict(image_size=64, backbone="tiny", backbone_alpha=0.5,
                    num_layers=3, box_loss=SmoothIoU(delta=0.5),
                    neg_pos_ratio=2.0, min_negatives_per_image=3, alpha=2.0,
                    matched_threshold=0.6, unmatched_threshold=0.4,
                    anchor_kwargs=ANCHORS)
    settings.update(kwargs)
    return SSD(3, **settings)


def images_and_truth(seed=0):
    rng = np.random.default_rng(seed)
    images = rng.uniform(0, 255, (2, 64, 64, 3)).astype("float32")
    boxes = np.full((2, 4, 4), -1.0, "float32")
    classes = np.full((2, 4), -1.0, "float32")
    boxes[:, :2] = [[0.1, 0.1, 0.5, 0.6], [0.4, 0.3, 0.9, 0.8]]
    classes[:, :2] = [1, 3]
    return images, {"boxes": boxes, "classes": classes}


def test_config_holds_every_setting_and_rebuilds_the_same_detector():
    model = small_ssd(classification="sigmoid_focal", focal_alpha=0.5,
                      focal_gamma=1.5)
    config = model.get_config()
    json.dumps(config)  # plain JSON: what a .keras file stores
    assert config["anchor_kwargs"] == {
        "min_scale": 0.3, "max_scale": 0.9, "aspect_ratios": [1.0, 2.0],
        "reduce_boxes_in_lowest_layer": True,
        "interpolated_scale_aspect_ratio": 0.0}
    assert "backbone_weights" not in config  # the weights come from the file

    rebuilt = SSD.from_config(as_json(config))
    assert rebuilt.get_config() == as_json(config)
    np.testing.assert_array_equal(rebuilt.anchors, model.anchors)
    assert isinstance(rebuilt.multibox.box_loss, SmoothIoU)
    assert rebuilt.multibox.box_loss.get_config()["delta"] == 0.5
    for name in ("num_classes", "alpha", "classification", "neg_pos_ratio",
                 "min_negatives_per_image", "focal_alpha", "focal_gamma",
                 "scale_factors"):
        assert getattr(rebuilt.multibox, name) == getattr(model.multibox,
                                                          name), name
    assert (rebuilt.matched_threshold, rebuilt.unmatched_threshold) == (
        0.6, 0.4)
    assert [w.shape for w in rebuilt.weights] == [w.shape for w in
                                                   model.weights]
    rebuilt.set_weights(model.get_weights())
    images, _ = images_and_truth()
    # the raw head outputs: `model.predict` returns NMS'd detections
    np.testing.assert_allclose(
        keras.Model.predict(rebuilt, images, verbose=0),
        keras.Model.predict(model, images, verbose=0), atol=1e-6)


def test_default_anchor_settings_are_recorded_complete():
    config = SSD(2, image_size=64, backbone="tiny", num_layers=3).get_config()
    assert config["anchor_kwargs"]["aspect_ratios"] == list(
        DEFAULT_ASPECT_RATIOS)
    assert HuberBox().get_config() == keras.saving.deserialize_keras_object(
        config["box_loss"]).get_config()


def test_saved_file_loads_in_a_fresh_process_with_the_same_predictions(
        tmp_path):
    model = small_ssd(box_loss=CIoU())  # CIoU needs MultiBox's anchors
    model.compile(optimizer=keras.optimizers.Adam(1e-2), jit_compile=False)
    images, truth = images_and_truth()
    # one step: the optimizer has state, batch norm's moving statistics
    # moved (non-trainable weights the file must hold too)
    model.train_on_batch(images, truth)
    path = tmp_path / "ssd.keras"
    model.save(path)

    predictions, facts = load_in_fresh_process(path, images, tmp_path)
    assert facts["class"] == "keras_boxloss.ssd.model.SSD"
    np.testing.assert_allclose(
        predictions, keras.Model.predict(model, images, verbose=0),
        atol=1e-6)
    assert facts["config"] == as_json(model.get_config())
    # the loss the loaded model trains with: every argument, box loss and
    # default boxes included
    assert facts["loss"] == serialized(model.multibox)
    assert facts["loss"]["config"]["box_loss"]["class_name"] == "CIoU"
    assert facts["optimizer"] == serialized(model.optimizer)
    assert facts["iterations"] == 1
