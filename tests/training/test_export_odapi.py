"""Exports that TF Object Detection API inference code uses unchanged.

Untrained tiny SSD and YOLOv1 (fixed seeds): the exports must reproduce
what the evaluation path (`training.predict.detect`) gives on the same
pixels, whatever the input type, and the OD API tutorial's inference
snippet runs on them as written.
"""

import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
import yaml

from keras_boxloss.cli.main import main
from keras_boxloss.training.config import config_to_dict, load_config
from keras_boxloss.training.export import (INPUT_TYPES, export_saved_model,
                                           export_tflite)
from keras_boxloss.training.predict import detect
from keras_boxloss.training.train import build_model
from tests.training.odapi_tutorial import example_of, run_tutorial_snippet

SIZE = 64
DETECTORS = {
    "ssd": ["model.image_size=64", "model.num_layers=3"],
    "yolo_v1": ["detector=yolo_v1", "model.image_size=64",
                "model.grid_size=4"],
}
ALL_OUTPUTS = {"detection_boxes", "detection_scores", "detection_classes",
               "num_detections", "detection_multiclass_scores",
               "detection_anchor_indices", "raw_detection_boxes",
               "raw_detection_scores"}


@pytest.fixture(scope="module")
def models():
    built = {}
    for name, overrides in DETECTORS.items():
        keras.utils.set_random_seed(1)
        config = load_config(None, overrides)
        model = build_model(config)
        if name == "yolo_v1":
            # untrained, its confidences and class probabilities are about
            # 0 (clipped): lift them to about 0.5 so there are detections
            head = model.get_layer("yolo_predictions")
            head.bias.assign(np.full(head.bias.shape, 0.5, "float32"))
        built[name] = (config, model)
    return built


@pytest.fixture(scope="module")
def exports(models, tmp_path_factory):
    """(detector, input_type) -> SavedModel path."""
    root = tmp_path_factory.mktemp("exports")
    return {(name, kind): export_saved_model(model, config,
                                             root / name / kind / "1",
                                             input_type=kind)
            for name, (config, model) in models.items()
            for kind in INPUT_TYPES}


@pytest.fixture(scope="module")
def image():
    """A 90 x 120 RGB image with a few flat rectangles (PNG is lossless)."""
    rng = np.random.default_rng(0)
    pixels = np.full((90, 120, 3), 40, np.uint8)
    for _ in range(4):
        y, x = rng.integers(0, 60), rng.integers(0, 90)
        pixels[y:y + 30, x:x + 30] = rng.integers(0, 256, 3)
    return pixels


def tutorial_inputs(kind, image_np):
    """What a user feeds for each input type: the image array, its encoded
    bytes, or a serialized tf.train.Example."""
    if kind == "image_tensor":
        return image_np
    if kind == "float_image_tensor":
        return image_np.astype(np.float32)
    encoded = tf.io.encode_png(image_np).numpy()
    return encoded if kind == "encoded_image_string_tensor" else \
        example_of(encoded)


def expected_for(model, images):
    """The evaluation path on the same pixels, stretched as `train` does."""
    resized = tf.image.resize(tf.cast(images, tf.float32), (SIZE, SIZE))
    return {key: value.numpy() for key, value in
            detect(model, resized).items()}


@pytest.mark.parametrize("kind", INPUT_TYPES)
@pytest.mark.parametrize("name", DETECTORS)
def test_the_tutorial_snippet_runs_unchanged(models, exports, image, name,
                                             kind):
    _, model = models[name]
    detections = run_tutorial_snippet(exports[name, kind],
                                      tutorial_inputs(kind, image))
    expected = expected_for(model, image[None])
    count = int(expected["num_detections"][0])
    assert detections["num_detections"] == count > 0
    assert set(detections) == ALL_OUTPUTS
    np.testing.assert_allclose(detections["detection_boxes"],
                               expected["detection_boxes"][0, :count],
                               atol=1e-5)
    np.testing.assert_allclose(detections["detection_scores"],
                               expected["detection_scores"][0, :count],
                               atol=1e-5)
    np.testing.assert_array_equal(
        detections["detection_classes"],
        expected["detection_classes"][0, :count].astype(np.int64))
    # label-map ids: 1-based, as the OD API's
    assert detections["detection_classes"].min() >= 1
    assert detections["detection_classes"].max() <= 3


@pytest.mark.parametrize("name", DETECTORS)
def test_multiclass_and_raw_outputs(models, exports, image, name):
    config, model = models[name]
    out = tf.saved_model.load(exports[name, "image_tensor"])(
        tf.constant(image[None]))
    resized = tf.image.resize(tf.cast(image[None], tf.float32), (SIZE, SIZE))
    boxes, scores = (np.asarray(x) for x in
                     model.decode(model(resized, training=False)))
    anchors = boxes.shape[1]
    assert out["raw_detection_boxes"].shape == (1, anchors, 4)
    assert out["raw_detection_scores"].shape == (1, anchors, 4)
    assert out["detection_multiclass_scores"].shape == (1, 100, 4)
    np.testing.assert_allclose(out["raw_detection_boxes"], boxes, atol=1e-5)
    raw = out["raw_detection_scores"].numpy()[0]
    np.testing.assert_allclose(raw[:, 1:], scores[0], atol=1e-5)
    if name == "ssd":   # softmax: column 0 is the background probability
        np.testing.assert_allclose(raw.sum(-1), 1.0, atol=1e-5)
    else:               # no background output: 1 - the best class score
        np.testing.assert_allclose(raw[:, 0], 1 - scores[0].max(-1),
                                   atol=1e-5)
    # each detection's row is the raw row of the box it came from, found
    # here by brute force over the anchors
    count = int(out["num_detections"][0])
    multi = out["detection_multiclass_scores"].numpy()[0]
    for k in range(count):
        box = out["detection_boxes"].numpy()[0, k]
        cls = int(out["detection_classes"][0, k])
        score = float(out["detection_scores"][0, k])
        source = np.flatnonzero(np.all(np.abs(boxes[0] - box) < 1e-6, -1)
                                & (np.abs(scores[0, :, cls - 1] - score)
                                   < 1e-6))
        assert len(source) >= 1
        np.testing.assert_allclose(multi[k], raw[source[0]], atol=1e-5)
        assert multi[k, cls] == pytest.approx(score, abs=1e-5)
        # detection_anchor_indices names that row (float32, as the OD API)
        anchor = out["detection_anchor_indices"].numpy()[0, k]
        assert anchor == int(anchor) and int(anchor) in source
    assert not multi[count:].any()
    assert out["detection_anchor_indices"].dtype == tf.float32
    assert not out["detection_anchor_indices"].numpy()[0, count:].any()


@pytest.mark.parametrize("kind", INPUT_TYPES)
def test_an_empty_batch_gives_empty_outputs(exports, kind):
    detect_fn = tf.saved_model.load(exports["ssd", kind])
    empty = {"image_tensor": tf.zeros([0, 50, 40, 3], tf.uint8),
             "float_image_tensor": tf.zeros([0, 50, 40, 3], tf.float32),
             }.get(kind, tf.constant([], tf.string))
    out = detect_fn(empty)
    assert out["num_detections"].shape == (0,)
    assert out["detection_boxes"].shape == (0, 100, 4)
    assert out["detection_classes"].shape == (0, 100)
    assert out["detection_multiclass_scores"].shape == (0, 100, 4)
    assert out["detection_anchor_indices"].shape == (0, 100)
    assert out["raw_detection_boxes"].shape[0] == 0
    # the signature too, under its input name
    signature = detect_fn.signatures["serving_default"]
    assert signature(input_tensor=empty)["num_detections"].shape == (0,)


def test_float_pixels_give_the_uint8_detections(exports, image):
    """float_image_tensor takes 0-255 floats: the same pixels as uint8 give
    the same detections, fractional values are accepted as they are."""
    as_float = tf.saved_model.load(exports["ssd", "float_image_tensor"])
    as_uint8 = tf.saved_model.load(exports["ssd", "image_tensor"])
    got = as_float.signatures["serving_default"](
        input_tensor=tf.constant(image[None], tf.float32))
    want = as_uint8(tf.constant(image[None]))
    for key in ("detection_boxes", "detection_scores", "detection_classes"):
        np.testing.assert_allclose(got[key], want[key], atol=1e-5)
    spec = as_float.signatures["serving_default"].structured_input_signature[
        1]["input_tensor"]
    assert spec.dtype == tf.float32


@pytest.mark.parametrize("channels", [1, 4])
def test_a_wrong_channel_count_is_a_clear_error(exports, channels):
    detect_fn = tf.saved_model.load(exports["ssd", "image_tensor"])
    images = tf.zeros([1, 32, 32, channels], tf.uint8)
    message = rf"input_tensor with 3 channels.*channels=\] \[{channels}\]"
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        detect_fn(images)
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        detect_fn.signatures["serving_default"](input_tensor=images)


def test_encoded_grey_and_rgba_images_decode_to_rgb(exports, image):
    detect_fn = tf.saved_model.load(
        exports["ssd", "encoded_image_string_tensor"])
    grey = image[..., :1]
    rgba = np.concatenate([image, np.full_like(image[..., :1], 255)], -1)
    out = detect_fn(tf.stack([tf.io.encode_png(grey), tf.io.encode_png(rgba)]))
    # decode_image(channels=3) repeats grey and drops alpha
    direct = tf.saved_model.load(exports["ssd", "image_tensor"])
    for row, pixels in enumerate([np.repeat(grey, 3, -1), image]):
        want = direct(tf.constant(pixels[None]))
        np.testing.assert_allclose(out["detection_boxes"][row],
                                   want["detection_boxes"][0], atol=1e-5)


def test_a_batch_of_different_sizes_through_encoded_strings(exports, image):
    detect_fn = tf.saved_model.load(exports["yolo_v1", "tf_example"])
    small = image[:45, :60]
    batch = [example_of(tf.io.encode_png(x).numpy()) for x in (image, small)]
    out = detect_fn(tf.constant(batch))
    direct = tf.saved_model.load(exports["yolo_v1", "image_tensor"])
    for row, pixels in enumerate((image, small)):
        want = direct(tf.constant(pixels[None]))
        np.testing.assert_allclose(out["detection_boxes"][row],
                                   want["detection_boxes"][0], atol=1e-5)


LOAD_AND_RUN = """
import sys
import numpy as np
import tensorflow as tf
detect_fn = tf.saved_model.load(sys.argv[1])
detections = detect_fn(tf.convert_to_tensor(np.load(sys.argv[2])))
assert not any(m.startswith("keras_boxloss") for m in sys.modules)
print(int(detections["num_detections"][0]))
"""


@pytest.mark.slow  # a fresh TensorFlow import: ~30 s on 2 busy cores
def test_loads_in_a_fresh_process_without_the_library(exports, image,
                                                      tmp_path):
    np.save(tmp_path / "image.npy", image[None])
    result = subprocess.run(
        [sys.executable, "-c", LOAD_AND_RUN, exports["ssd", "image_tensor"],
         str(tmp_path / "image.npy")], capture_output=True, text=True,
        check=True, cwd=tmp_path)
    assert int(result.stdout.split()[-1]) > 0


def test_a_non_empty_output_is_refused_unless_overwrite(models, tmp_path,
                                                       monkeypatch):
    config, model = models["yolo_v1"]
    output = tmp_path / "saved"
    output.mkdir()
    (output / "keep.txt").write_text("old")
    with pytest.raises(ValueError, match="overwrite"):
        export_saved_model(model, config, output)
    # a failed write leaves the old output as it was, and no temporary
    def broken_save(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(tf.saved_model, "save", broken_save)
    with pytest.raises(RuntimeError, match="disk full"):
        export_saved_model(model, config, output, overwrite=True)
    monkeypatch.undo()
    assert [p.name for p in output.iterdir()] == ["keep.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["saved"]
    export_saved_model(model, config, output, overwrite=True)
    assert (output / "saved_model.pb").exists()
    assert not (output / "keep.txt").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["saved"]


def test_tflite_matches_the_saved_model(models, exports, image, tmp_path):
    config, model = models["ssd"]
    path = export_tflite(model, config, tmp_path / "ssd.tflite")
    runner = tf.lite.Interpreter(model_path=path).get_signature_runner()
    saved = tf.saved_model.load(exports["ssd", "image_tensor"])
    rng = np.random.default_rng(3)
    images = [tf.cast(tf.image.resize(image, (SIZE, SIZE)), tf.uint8).numpy(),
              rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8),
              np.zeros((SIZE, SIZE, 3), np.uint8)]
    worst = 0.0
    for pixels in images:
        lite = runner(input_tensor=pixels[None])
        want = saved(tf.constant(pixels[None]))
        assert set(lite) == {"detection_boxes", "detection_scores",
                             "detection_classes", "num_detections"}
        count = int(want["num_detections"][0])
        assert int(lite["num_detections"][0]) == count > 0
        worst = max(worst, float(np.abs(
            lite["detection_boxes"][0, :count]
            - want["detection_boxes"][0, :count]).max()))
        np.testing.assert_allclose(lite["detection_scores"][0, :count],
                                   want["detection_scores"][0, :count],
                                   atol=1e-5)
        # the OD API's TFLite classes are 0-based
        np.testing.assert_array_equal(lite["detection_classes"][0, :count] + 1,
                                      want["detection_classes"][0, :count])
    print(f"TFLite vs SavedModel, max box difference: {worst:.3g}")
    assert worst < 1e-4


def test_tflite_outputs_by_position_as_odapi_code_reads_them(models, image,
                                                             tmp_path):
    """OD API TFLite inference code reads `get_output_details()` by index:
    0 boxes, 1 classes, 2 scores, 3 count (TFLite_Detection_PostProcess)."""
    config, model = models["ssd"]
    path = export_tflite(model, config, tmp_path / "ssd.tflite")
    interpreter = tf.lite.Interpreter(model_path=path)
    interpreter.allocate_tensors()
    outputs = interpreter.get_output_details()
    assert [o["name"] for o in outputs] == [
        "TFLite_Detection_PostProcess", "TFLite_Detection_PostProcess:1",
        "TFLite_Detection_PostProcess:2", "TFLite_Detection_PostProcess:3"]
    pixels = tf.cast(tf.image.resize(image, (SIZE, SIZE)), tf.uint8).numpy()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"],
                           pixels[None])
    interpreter.invoke()
    boxes, classes, scores, count = (
        interpreter.get_tensor(o["index"]) for o in outputs)
    want = tf.lite.Interpreter(model_path=path).get_signature_runner()(
        input_tensor=pixels[None])
    assert boxes.shape == (1, 100, 4) and count.shape == (1,)
    np.testing.assert_array_equal(boxes, want["detection_boxes"])
    np.testing.assert_array_equal(classes, want["detection_classes"])
    np.testing.assert_array_equal(scores, want["detection_scores"])
    np.testing.assert_array_equal(count, want["num_detections"])
    # the OD API sample loop: for i in range(int(count[0])): scores[0][i] ...
    assert int(count[0]) > 0 and scores[0, 0] >= scores[0, int(count[0]) - 1]


def test_export_command(models, tmp_path, capsys):
    config, model = models["ssd"]
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text(yaml.safe_dump(config_to_dict(config)))
    model.save_weights(run / "model.weights.h5")
    out = tmp_path / "out"
    assert main(["export", "--model-dir", str(run), "--output-dir", str(out),
                 "--input-type", "tf_example"]) == 0
    signature = tf.saved_model.load(str(out)).signatures["serving_default"]
    spec = signature.structured_input_signature[1]["input_tensor"]
    assert spec.dtype == tf.string
    # a second export into it is refused, then allowed with --overwrite
    assert main(["export", "--model-dir", str(run), "--output", str(out),
                 "--format", "tflite"]) != 0
    assert "overwrite" in capsys.readouterr().err
    assert main(["export", "--model-dir", str(run), "--output", str(out),
                 "--format", "tflite", "--overwrite"]) == 0
    assert out.is_file() and out.read_bytes()[4:8] == b"TFL3"
