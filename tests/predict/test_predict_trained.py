"""End to end: a tiny SSD trained briefly on a generated image, saved as a
`train` run folder, finds the image's true box again through `keras-boxloss
predict`, in the pixels of a stretched, non-square copy of the image."""

import json

import keras
import numpy as np
import pytest
import yaml
from PIL import Image

from keras_boxloss.cli.main import main
from keras_boxloss.data.generated import CLASSES, generate_image
from keras_boxloss.training import run_state
from keras_boxloss.training.config import config_to_dict, load_config
from keras_boxloss.training.train import build_model


def iou_xyxy(a, b):
    inter = (max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
             * max(0.0, min(a[3], b[3]) - max(a[1], b[1])))
    area = lambda box: (box[2] - box[0]) * (box[3] - box[1])  # noqa: E731
    return inter / (area(a) + area(b) - inter)


@pytest.mark.slow  # minutes of XLA compiling and training on 2 CPU cores
def test_predict_finds_the_true_box_after_short_training(tmp_path):
    # seed 0: one rectangle of about 50 x 48 px, x 1..51, y 9..57 (pixel
    # edges, as the generator records them)
    pixels, boxes, classes = generate_image(np.random.default_rng(0), 64,
                                            max_objects=1)
    assert boxes.shape == (1, 4) and min(boxes[0, 2:] - boxes[0, :2]) >= 20
    keras.utils.set_random_seed(0)
    config = load_config(None, ["model.image_size=64", "model.num_layers=3"])
    model = build_model(config)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), jit_compile=True)
    truth = {"boxes": (boxes[:, [1, 0, 3, 2]] / 64)[None],
             "classes": classes[None].astype("float32")}
    batch = {k: np.repeat(v, 8, 0).astype("float32")
             for k, v in truth.items()}
    model.fit(np.repeat(pixels[None], 8, 0).astype("float32"), batch,
              batch_size=8, epochs=120, verbose=0)
    run = tmp_path / "run"  # what `train` leaves: its config and weights
    run.mkdir()
    (run / run_state.CONFIG).write_text(yaml.safe_dump(config_to_dict(
        config)))
    model.save_weights(run / run_state.WEIGHTS)

    # stretched to 128 wide, 96 high: x * 2, y * 1.5 in pixels
    Image.fromarray(pixels).resize((128, 96), Image.BILINEAR).save(
        tmp_path / "shapes.png")
    out = tmp_path / "out"
    assert main(["predict", str(tmp_path / "shapes.png"), "--model-dir",
                 str(run), "--output-dir", str(out), "--score-threshold",
                 "0.5"]) == 0
    [image] = json.loads((out / "predictions.json").read_text())["images"]
    assert (image["width"], image["height"]) == (128, 96)
    assert image["num_detections"] >= 1
    expected = boxes[0] * [2, 1.5, 2, 1.5]
    assert iou_xyxy(image["boxes"][0], expected) > 0.6, (image["boxes"][0],
                                                          expected)
    assert image["classes"][0] == classes[0]
    assert image["class_names"][0] == CLASSES[int(classes[0])]
