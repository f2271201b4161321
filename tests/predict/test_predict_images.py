"""`keras-boxloss predict` on image files: boxes back in the original
image's pixels whatever its size, format or EXIF orientation, the outputs,
and clear errors for bad inputs.

The pixel mapping is checked exactly with a stand-in detector whose one
detection is a fixed box on the model's canvas: the expected pixels are
worked out by hand from the resize rule (`fixed`: stretch; `pad`: scale to
fit, pad bottom and right).
"""

import json

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_boxloss.cli.main import main
from keras_boxloss.inference.images import find_images, read_image
from keras_boxloss.training import train as train_module
from keras_boxloss.training.config import load_config

CANVAS_BOX = (0.1, 0.25, 0.4, 0.75)  # ymin, xmin, ymax, xmax on the canvas


class FixedDetector:
    """`decode` ignores the network: `self.boxes`, `(canvas box, class
    scores)` pairs, by default one box, `CANVAS_BOX`, class 2 (the
    generated data's "ellipse") at 0.9. Records the canvases it is given."""

    def __init__(self):
        self.seen = []
        self.boxes = [(CANVAS_BOX, (0.05, 0.9, 0.05))]

    def __call__(self, images, training=False):
        self.seen.append(np.asarray(images))
        return images

    def decode(self, outputs):
        count = tf.shape(outputs)[0]
        boxes = tf.tile(tf.constant([[b for b, _ in self.boxes]], tf.float32),
                        [count, 1, 1])
        scores = tf.tile(tf.constant([[s for _, s in self.boxes]],
                                     tf.float32), [count, 1, 1])
        return boxes, scores


@pytest.fixture
def fixed_run(monkeypatch, tmp_path):
    """`(run folder, detector, set_mode)`: `load_trained` of the folder
    returns the stand-in at image size 64 with the chosen resize mode."""
    detector = FixedDetector()
    state = {"mode": "fixed"}

    def load_trained(model_dir, checkpoint="last"):
        assert checkpoint == "last"
        config = load_config(None, ["model.image_size=64",
                                    f"data.resize_mode={state['mode']}"])
        return config, detector

    monkeypatch.setattr(train_module, "load_trained", load_trained)
    return tmp_path / "run", detector, lambda mode: state.update(mode=mode)


def predict(*args):
    return main(["predict", *map(str, args)])


def read_predictions(folder):
    return json.loads((folder / "predictions.json").read_text())


def save(pixels, path, **kwargs):
    Image.fromarray(pixels).save(path, **kwargs)
    return path


def test_fixed_resize_maps_the_canvas_box_to_pixels(fixed_run, tmp_path):
    run, detector, _ = fixed_run
    image = save(np.full((100, 200, 3), 90, np.uint8), tmp_path / "wide.png")
    out = tmp_path / "out"
    assert predict(image, "--model-dir", run, "--output-dir", out) == 0
    [entry] = read_predictions(out)["images"]
    assert (entry["file"], entry["width"], entry["height"]) == (
        "wide.png", 200, 100)
    # stretched: x * 200, y * 100 of the canvas box
    np.testing.assert_allclose(entry["boxes"], [[50, 10, 150, 40]])
    np.testing.assert_allclose(entry["boxes_normalized"], [CANVAS_BOX],
                               atol=1e-6)
    assert entry["classes"] == [2] and entry["class_names"] == ["ellipse"]
    np.testing.assert_allclose(entry["scores"], [0.9], atol=1e-6)
    assert detector.seen[0].shape == (1, 64, 64, 3)
    drawn = np.asarray(Image.open(out / "wide.png"))
    assert drawn.shape == (100, 200, 3)
    # the box outline is drawn in red at its left edge, x = 50
    assert (drawn[25, 50] != 90).any() and (drawn[25, 100] == 90).all()


def test_pad_resize_undoes_the_padding(fixed_run, tmp_path):
    run, detector, set_mode = fixed_run
    set_mode("pad")
    pixels = np.full((100, 200, 3), 200, np.uint8)
    image = save(pixels, tmp_path / "wide.png")
    out = tmp_path / "out"
    assert predict(image, "--model-dir", run, "--output-dir", out) == 0
    [entry] = read_predictions(out)["images"]
    # 200 x 100 into 64: scale 0.32, the image fills 64 x 32 of the canvas
    # (valid height 0.5), so canvas y / 0.5 and x / 1: (0.2, 0.25, 0.8,
    # 0.75) of the image, x * 200, y * 100 in pixels
    np.testing.assert_allclose(entry["boxes"], [[50, 20, 150, 80]],
                               atol=0.01)
    canvas = detector.seen[0][0]
    np.testing.assert_allclose(canvas[:32], 200, atol=1e-3)  # the image
    assert (canvas[32:] == 0).all()  # the padding, as make_dataset pads


def test_exif_rotated_jpeg_is_read_upright(fixed_run, tmp_path):
    run, _, _ = fixed_run
    stored = np.full((100, 200, 3), 128, np.uint8)  # 200 wide as stored
    stored[:20, :20] = (250, 0, 0)  # the stored top-left corner
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation 6: shown rotated 90 degrees clockwise
    image = save(stored, tmp_path / "rotated.jpg", exif=exif, quality=95)
    upright = read_image(image)
    assert upright.shape == (200, 100, 3)  # shown 100 wide, 200 high
    # clockwise: the stored top-left corner is shown at the top right
    assert upright[:15, -15:, 0].min() > 200
    assert upright[:15, :15, 0].max() < 160
    out = tmp_path / "out"
    assert predict(image, "--model-dir", run, "--output-dir", out) == 0
    [entry] = read_predictions(out)["images"]
    assert (entry["width"], entry["height"]) == (100, 200)
    np.testing.assert_allclose(entry["boxes"], [[25, 20, 75, 80]])
    assert Image.open(out / "rotated.jpg").size == (100, 200)


def test_grey_and_rgba_pngs_become_rgb(fixed_run, tmp_path):
    run, _, _ = fixed_run
    grey = np.arange(48 * 80, dtype=np.uint32).reshape(48, 80) % 251
    grey_path = save(grey.astype(np.uint8), tmp_path / "grey.png")
    rgba = np.zeros((30, 90, 4), np.uint8)
    rgba[..., :3] = (10, 20, 30)
    rgba[..., 3] = 40  # mostly transparent: alpha is dropped, not blended
    rgba_path = save(rgba, tmp_path / "rgba.png")
    assert Image.open(grey_path).mode == "L"
    assert Image.open(rgba_path).mode == "RGBA"
    np.testing.assert_array_equal(read_image(grey_path),
                                  np.repeat(grey[..., None], 3, -1))
    np.testing.assert_array_equal(read_image(rgba_path),
                                  np.broadcast_to((10, 20, 30), (30, 90, 3)))
    out = tmp_path / "out"
    assert predict(tmp_path, "--model-dir", run, "--output-dir", out) == 0
    entries = {e["file"]: e for e in read_predictions(out)["images"]}
    assert set(entries) == {"grey.png", "rgba.png"}
    np.testing.assert_allclose(entries["grey.png"]["boxes"],
                               [[20, 4.8, 60, 19.2]], atol=0.01)
    np.testing.assert_allclose(entries["rgba.png"]["boxes"],
                               [[22.5, 3, 67.5, 12]], atol=0.01)
    assert Image.open(out / "rgba.png").mode == "RGB"


def test_score_threshold_and_max_detections(fixed_run, tmp_path):
    run, _, _ = fixed_run
    image = save(np.zeros((64, 64, 3), np.uint8), tmp_path / "a.png")
    out = tmp_path / "out"
    assert predict(image, "--model-dir", run, "--output-dir", out,
                   "--score-threshold", "0.95") == 0
    data = read_predictions(out)
    assert data["score_threshold"] == 0.95
    assert data["images"][0]["num_detections"] == 0
    assert data["images"][0]["boxes"] == []


def test_folders_globs_and_same_names(fixed_run, tmp_path):
    run, _, _ = fixed_run
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        save(np.zeros((20, 30, 3), np.uint8), tmp_path / folder / "x.png")
    (tmp_path / "a" / "notes.txt").write_text("not an image")
    found = find_images([tmp_path / "a", str(tmp_path / "b" / "*.png"),
                         tmp_path / "a" / "x.png"])
    assert found == [tmp_path / "a" / "x.png", tmp_path / "b" / "x.png"]
    skipped = []
    find_images([tmp_path / "a", str(tmp_path / "a" / "*")], skipped)
    assert skipped == [tmp_path / "a" / "notes.txt"]  # named twice, once
    out = tmp_path / "out"
    assert predict(tmp_path / "a", tmp_path / "b", "--model-dir", run,
                   "--output-dir", out) == 0
    drawings = [e["drawing"] for e in read_predictions(out)["images"]]
    assert drawings == ["x.png", "x_2.png"]
    assert sorted(p.name for p in out.iterdir()) == [
        "predictions.json", "x.png", "x_2.png"]


def test_skipped_files_are_named(fixed_run, tmp_path, capsys):
    """Nothing is dropped silently: a folder's non-image files are named."""
    run, _, _ = fixed_run
    save(np.zeros((20, 30, 3), np.uint8), tmp_path / "x.png")
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "scores.npy").write_bytes(b"\x93NUMPY")
    assert predict(tmp_path, "--model-dir", run, "--output-dir",
                   tmp_path / "out") == 0
    err = capsys.readouterr().err
    assert "skipped 2 files that are not images" in err
    assert "notes.txt" in err and "scores.npy" in err


@pytest.mark.parametrize("suffix, options", [
    (".bmp", {}), (".gif", {}), (".webp", {"lossless": True})])
def test_bmp_gif_and_webp_are_read(fixed_run, tmp_path, suffix, options):
    run, _, _ = fixed_run
    pixels = np.zeros((20, 30, 3), np.uint8)
    pixels[5:15, 10:20] = (200, 0, 0)  # two colours: GIF's palette is exact
    path = save(pixels, tmp_path / f"x{suffix}", **options)
    np.testing.assert_array_equal(read_image(path), pixels)
    out = tmp_path / "out"
    assert predict(tmp_path, "--model-dir", run, "--output-dir", out) == 0
    assert read_predictions(out)["images"][0]["file"] == f"x{suffix}"


def run_error(capsys, *args):
    assert predict(*args) == 2
    return capsys.readouterr().err


def test_bad_inputs_are_errors_naming_the_file(fixed_run, tmp_path, capsys):
    run, _, _ = fixed_run
    out = tmp_path / "out"
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    err = run_error(capsys, text, "--model-dir", run, "--output-dir", out)
    assert "Expected an image file" in err and f"path='{text}'" in err
    err = run_error(capsys, tmp_path / "missing.png", "--model-dir", run,
                    "--output-dir", out)
    assert "does not exist" in err and "missing.png" in err
    err = run_error(capsys, str(tmp_path / "*.jpg"), "--model-dir", run,
                    "--output-dir", out)
    assert "matches no" in err
    good = save(np.zeros((8, 8, 3), np.uint8), tmp_path / "good.png")
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    err = run_error(capsys, good, broken, "--model-dir", run,
                    "--output-dir", out)
    assert "Expected a readable image (JPEG" in err
    assert f"path='{broken}'" in err
    assert not out.exists()  # written whole or not at all


def test_a_non_empty_output_needs_overwrite(fixed_run, tmp_path, capsys):
    run, _, _ = fixed_run
    image = save(np.zeros((8, 8, 3), np.uint8), tmp_path / "a.png")
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    err = run_error(capsys, image, "--model-dir", run, "--output-dir", out)
    assert "--overwrite" in err
    assert (out / "keep.txt").read_text() == "mine"
    assert predict(image, "--model-dir", run, "--output-dir", out,
                   "--overwrite") == 0
    assert sorted(p.name for p in out.iterdir()) == ["a.png",
                                                      "predictions.json"]
    # an input inside the folder that --overwrite replaces is refused
    err = run_error(capsys, out / "a.png", "--model-dir", run,
                    "--output-dir", out, "--overwrite")
    assert "apart from the inputs" in err


def test_checkpoint_needs_a_run(tmp_path, capsys):
    image = save(np.zeros((8, 8, 3), np.uint8), tmp_path / "a.png")
    err = run_error(capsys, image, "--saved-model", tmp_path,
                    "--output-dir", tmp_path / "out", "--checkpoint", "best")
    assert "Expected --checkpoint with --model-dir" in err


def test_checkpoint_best_loads_the_best_weights(monkeypatch, tmp_path):
    asked = []

    def load_trained(model_dir, checkpoint="last"):
        asked.append(checkpoint)
        return load_config(None, ["model.image_size=64"]), FixedDetector()

    monkeypatch.setattr(train_module, "load_trained", load_trained)
    image = save(np.zeros((8, 8, 3), np.uint8), tmp_path / "a.png")
    assert predict(image, "--model-dir", tmp_path / "run", "--output-dir",
                   tmp_path / "out", "--checkpoint", "best") == 0
    assert asked == ["best"]


@pytest.mark.parametrize("source", ["--model-dir", "--saved-model",
                                    "--label-map"])
def test_output_apart_from_the_model(fixed_run, tmp_path, capsys, source):
    """`--overwrite` replaces the output folder whole: one that is or holds
    the model's files (or, for a folder, lies inside it) is refused before
    anything is read, and they are left as they were."""
    run, _, _ = fixed_run
    image = save(np.zeros((8, 8, 3), np.uint8), tmp_path / "a.png")
    model = tmp_path / "models" / "m"
    model.mkdir(parents=True)
    (model / "weights").write_text("keep")
    outs = [model, tmp_path / "models"]
    if source == "--label-map":
        labels = model / "label_map.pbtxt"
        labels.write_text("item { id: 1 name: 'x' }\n")
        flags = ["--model-dir", run, "--label-map", labels]
    else:
        flags = [source, model]
        outs.append(model / "preds")
    for out in outs:
        err = run_error(capsys, image, *flags, "--output-dir", out,
                        "--overwrite")
        assert f"Expected an --output-dir apart from {source}" in err, err
        assert "Received: output_dir=" in err
    assert sorted(p.name for p in model.iterdir()) == sorted(
        ["weights"] + (["label_map.pbtxt"] if source == "--label-map"
                       else []))
    assert (model / "weights").read_text() == "keep"


def test_16_bit_grey_png_keeps_its_high_byte(tmp_path):
    """A 16-bit grey PNG (PIL mode I;16) is scaled to 0..255 as
    `tf.io.decode_png(dtype=uint8)` scales it, value >> 8 (not clipped to
    white by PIL's `convert("RGB")`)."""
    values = np.array([[0, 255, 256, 257, 511, 512],
                       [32767, 32768, 40000, 65279, 65280, 65535]],
                      np.uint16)
    path = tmp_path / "g16.png"
    Image.fromarray(values).save(path)
    assert Image.open(path).mode.startswith("I;16")
    expected = np.array([[0, 0, 1, 1, 1, 2],
                         [127, 128, 156, 254, 255, 255]], np.uint8)
    read = read_image(path)
    assert read.dtype == np.uint8 and read.shape == (2, 6, 3)
    np.testing.assert_array_equal(read, np.repeat(expected[..., None], 3, -1))
    decoded = tf.io.decode_png(path.read_bytes(), channels=3).numpy()
    np.testing.assert_array_equal(read, decoded)


def test_boxes_of_no_area_are_dropped(fixed_run, tmp_path):
    """A detection in pad mode's padding maps past the image's edge, is
    clipped to it and has no area in its pixels: it is no detection."""
    run, detector, set_mode = fixed_run
    set_mode("pad")
    detector.boxes = [((0.6, 0.1, 0.9, 0.3), (0.05, 0.95, 0.05)),  # padding
                      (CANVAS_BOX, (0.05, 0.9, 0.05)),
                      ((0.2, 0.5, 0.3, 0.5), (0.8, 0.05, 0.05))]  # no width
    image = save(np.full((100, 200, 3), 200, np.uint8), tmp_path / "w.png")
    out = tmp_path / "out"
    assert predict(image, "--model-dir", run, "--output-dir", out) == 0
    [entry] = read_predictions(out)["images"]
    assert entry["num_detections"] == 1
    np.testing.assert_allclose(entry["boxes"], [[50, 20, 150, 80]],
                               atol=0.01)
    np.testing.assert_allclose(entry["scores"], [0.9], atol=1e-6)


def test_max_detections_on_the_command_line(fixed_run, tmp_path):
    """`--max-detections K` keeps the K best of several detections and is
    recorded in predictions.json; by default the run's postprocess'."""
    run, detector, _ = fixed_run
    detector.boxes = [((0.0, 0.0, 0.2, 0.2), (0.05, 0.6, 0.05)),
                      ((0.4, 0.4, 0.6, 0.6), (0.05, 0.05, 0.9)),
                      ((0.7, 0.7, 0.9, 0.9), (0.8, 0.05, 0.05)),
                      ((0.0, 0.7, 0.2, 0.9), (0.05, 0.5, 0.05))]
    image = save(np.zeros((100, 100, 3), np.uint8), tmp_path / "a.png")
    out = tmp_path / "out"
    assert predict(image, "--model-dir", run, "--output-dir", out,
                   "--max-detections", "2") == 0
    data = read_predictions(out)
    assert data["max_detections"] == 2
    [entry] = data["images"]
    assert entry["num_detections"] == 2
    np.testing.assert_allclose(entry["scores"], [0.9, 0.8], atol=1e-6)
    assert entry["classes"] == [3, 1]
    np.testing.assert_allclose(entry["boxes"], [[40, 40, 60, 60],
                                                [70, 70, 90, 90]], atol=0.01)
    assert predict(image, "--model-dir", run, "--output-dir", out,
                   "--overwrite") == 0
    data = read_predictions(out)
    assert data["max_detections"] == load_config(None, []).postprocess \
        .max_total_detections
    np.testing.assert_allclose(data["images"][0]["scores"],
                               [0.9, 0.8, 0.6, 0.5], atol=1e-6)
