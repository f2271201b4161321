from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_boxloss import YOLOv1
from keras_boxloss.data.records import read_records
from keras_boxloss.evaluation.evaluate import evaluate_detections
from keras_boxloss.training.config import load_config
from keras_boxloss.training.export import export_saved_model
from keras_boxloss.training.predict import detect, predict_records
from keras_boxloss.training.train import train
from keras_boxloss.yolo.model import YOLOv1Detector

CONFIG = (Path(__file__).resolve().parents[2] / "model_garden_configs" / "yolo"
          / "yolo_v1_tiny_generated.yaml")


def test_output_is_the_loss_grid():
    model = YOLOv1Detector(3, grid_size=4, boxes_per_cell=2, image_size=128)
    assert model.outputs[0].shape[1:] == (4, 4, 2 * 5 + 3)
    with pytest.raises(ValueError, match="image_size"):
        YOLOv1Detector(3, grid_size=4, image_size=100)


def test_compute_loss_repacks_the_pipeline_ground_truth():
    model = YOLOv1Detector(3, grid_size=4, boxes_per_cell=2, image_size=64)
    truth = {"boxes": np.float32([[[0.1, 0.2, 0.5, 0.6], [-1, -1, -1, -1]]]),
             "classes": np.float32([[2, -1]])}
    y_pred = np.random.default_rng(0).normal(
        0.3, 0.2, (1, 4, 4, 13)).astype("float32")
    # by hand: class 2 -> 1, yxyx -> xyxy, padding stays padding
    packed = np.float32([[[1, 0.2, 0.1, 0.6, 0.5], [-1, -1, -1, -1, -1]]])
    expected = YOLOv1(4, 2, 3)(packed, y_pred)
    np.testing.assert_allclose(float(model.compute_loss(y=truth,
                                                        y_pred=y_pred)),
                               float(expected), rtol=1e-6)


def test_decode_places_a_cell_prediction_by_hand():
    model = YOLOv1Detector(2, grid_size=2, boxes_per_cell=1, image_size=64)
    grid = np.zeros((1, 2, 2, 1 * 5 + 2), "float32")
    # row 1, column 0: centre at (x, y) = (0.5, 0.25) of the cell
    grid[0, 1, 0] = [0.5, 0.25, 0.4, 0.2, 0.8, 0.25, 0.75]
    boxes, scores = model.decode(grid)
    cx, cy = (0 + 0.5) / 2, (1 + 0.25) / 2
    np.testing.assert_allclose(np.asarray(boxes)[0, 2],
                               [cy - 0.1, cx - 0.2, cy + 0.1, cx + 0.2],
                               rtol=1e-6)
    np.testing.assert_allclose(np.asarray(scores)[0, 2], [0.2, 0.6],
                               rtol=1e-6)


def test_xla_train_step_loss_equals_eager(generated):
    from keras_boxloss.data.pipeline import make_dataset

    model = YOLOv1Detector(3, grid_size=4, boxes_per_cell=2, image_size=64)
    images, truth = next(iter(make_dataset(
        generated["train"], batch_size=4, image_size=(64, 64),
        as_tuple=True, max_boxes=8)))

    def loss(images, truth):
        return model.compute_loss(y=truth, y_pred=model(images))

    eager = float(loss(images, truth))
    compiled = float(tf.function(loss, jit_compile=True)(images, truth))
    assert compiled == pytest.approx(eager, rel=1e-5)


@pytest.mark.slow  # 150 s; YOLOv1 trains, exports and serves in the default
# run through tests/training (mixed precision, the OD API export) and compare
def test_short_training_reaches_ap50_and_exports(generated, tmp_path):
    # Stated target: COCO AP50 > 0.05 on the generated val split after 300
    # steps (an untrained model scores about 0; the full config reaches
    # about 0.11).
    config = load_config(
        str(CONFIG),
        [f"data.train={generated['train']}",
         f"data.validation={generated['val']}",
         "trainer.eval_every_steps=-1"])  # evaluated once, below
    model, history = train(config, tmp_path / "run", verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    predictions = predict_records(model, config, generated["val"])
    metrics = evaluate_detections(list(read_records(generated["val"])),
                                  predictions)
    assert metrics["AP50"] > 0.05, metrics
    # the same serving signature and output names as the SSD
    export_saved_model(model, config, tmp_path / "saved" / "1")
    served = tf.saved_model.load(str(tmp_path / "saved" / "1"))
    image = np.random.default_rng(0).integers(0, 255, (1, 90, 70, 3),
                                              dtype=np.uint8)
    out = served.signatures["serving_default"](
        input_tensor=tf.constant(image))
    expected = detect(model, tf.image.resize(tf.cast(image, tf.float32),
                                             (128, 128)))
    for key in ("detection_boxes", "detection_scores", "detection_classes",
                "num_detections"):
        np.testing.assert_allclose(out[key].numpy(), expected[key].numpy(),
                                   rtol=1e-4, atol=1e-5)
    keras.backend.clear_session()
