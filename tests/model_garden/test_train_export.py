"""Few-step train + eval through `keras-boxloss garden-train` (Model
Garden's trainer, in-process), export through `keras-boxloss garden-export`,
and the SavedModel run in a fresh process without keras_boxloss."""

import json
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("official.vision")

from keras_boxloss.cli.main import main  # noqa: E402
from tests.model_garden.conftest import SMALL_CONFIG  # noqa: E402
from tests.training.odapi_tutorial import (  # noqa: E402
    example_of, run_tutorial_snippet)

EXPERIMENT = "fasterrcnn_resnetfpn_boxloss"


def _override(records, **extra):
    values = {"task.train_data.input_path": records["train"],
              "task.validation_data.input_path": records["val"],
              "trainer.train_steps": 2, "trainer.steps_per_loop": 2,
              "trainer.summary_interval": 2,
              "trainer.checkpoint_interval": 2,
              "trainer.validation_interval": 2,
              "trainer.validation_steps": 1,
              "task.rpn_box_loss.type": "giou",
              "task.frcnn_box_loss.type": "smooth_iou", **extra}
    return ",".join(f"{key}={value}" for key, value in values.items())


@pytest.fixture(scope="module")
def model_dir(generated_records, tmp_path_factory):
    folder = tmp_path_factory.mktemp("garden_train")
    code = main(["garden-train", f"--experiment={EXPERIMENT}",
                 f"--config_file={SMALL_CONFIG}",
                 f"--params_override={_override(generated_records)}",
                 "--mode", "train_and_eval", f"--model_dir={folder}"])
    assert code == 0
    return folder


@pytest.fixture(scope="module")
def saved_model(model_dir, generated_records, tmp_path_factory):
    export_dir = tmp_path_factory.mktemp("garden_export")
    code = main(["garden-export", f"--experiment={EXPERIMENT}",
                 f"--config_file={SMALL_CONFIG}",
                 f"--params_override={_override(generated_records)}",
                 f"--checkpoint_path={model_dir}",
                 f"--export_dir={export_dir}"])
    assert code == 0
    return export_dir / "saved_model"


def test_garden_train_trains_evaluates_and_checkpoints(model_dir):
    assert (model_dir / "ckpt-2.index").exists()
    assert list((model_dir / "validation").iterdir())  # eval summaries
    params = (model_dir / "params.yaml").read_text()
    assert "type: smooth_iou" in params and "type: giou" in params


def test_garden_train_rejects_a_bad_loss_type(generated_records, tmp_path,
                                              capsys):
    override = _override(generated_records,
                         **{"task.frcnn_box_loss.type": "smoth_iou"})
    code = main(["garden-train", f"--experiment={EXPERIMENT}",
                 f"--config_file={SMALL_CONFIG}",
                 f"--params_override={override}", "--mode=train",
                 f"--model_dir={tmp_path}"])
    assert code == 2
    assert "task.frcnn_box_loss.type" in capsys.readouterr().err


def test_garden_train_needs_model_gardens_required_flags(capsys):
    assert main(["garden-train", f"--experiment={EXPERIMENT}"]) == 2
    assert "model_dir" in capsys.readouterr().err


def test_other_commands_still_reject_unknown_arguments():
    with pytest.raises(SystemExit):
        main(["evaluate", "--predictions=x.json", "--experiment=y"])


ROUND_TRIP = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tensorflow as tf
    model = tf.saved_model.load(sys.argv[1])
    serve = model.signatures["serving_default"]
    spec = serve.structured_input_signature[1]
    (name, tensor_spec), = spec.items()
    images = np.random.default_rng(0).integers(
        0, 256, (2, 96, 160, 3)).astype(np.uint8)
    out = serve(**{name: tf.constant(images)})
    print(json.dumps({
        "input_dtype": tensor_spec.dtype.name,
        "input_name": name,
        "callable": sorted(model(tf.constant(images))) == sorted(out),
        "keys": sorted(out),
        "dtypes": {k: v.dtype.name for k, v in out.items()},
        "boxes_shape": out["detection_boxes"].shape.as_list(),
        "boxes_min": float(tf.reduce_min(out["detection_boxes"])),
        "boxes_max": float(tf.reduce_max(out["detection_boxes"])),
        "num_detections": out["num_detections"].numpy().tolist(),
        "image_info": out["image_info"].numpy().tolist(),
        "keras_boxloss_loaded": any(
            m.startswith("keras_boxloss") for m in sys.modules),
    }))
""")


def test_saved_model_round_trip_in_a_fresh_process(saved_model, tmp_path):
    # Run from an empty folder so that the repository is not importable.
    result = subprocess.run([sys.executable, "-c", ROUND_TRIP,
                             str(saved_model)], cwd=tmp_path,
                            capture_output=True, text=True, check=True)
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["input_dtype"] == "uint8"
    assert out["input_name"] == "input_tensor" and out["callable"]
    assert not out["keras_boxloss_loaded"]
    assert {"detection_boxes", "detection_scores", "detection_classes",
            "num_detections"} <= set(out["keys"])
    assert out["dtypes"]["detection_classes"] == "float32"
    assert out["dtypes"]["num_detections"] == "float32"
    assert out["boxes_shape"][0] == 2 and out["boxes_shape"][2] == 4
    assert 0.0 <= out["boxes_min"] and out["boxes_max"] <= 1.0
    assert out["image_info"][0][0] == [96.0, 160.0]  # the original size


# The TF OD API's exporter_main_v2.py contract (see also
# tests/training/test_export_odapi.py for the SSD and YOLOv1).

ODAPI_OUTPUTS = {"detection_boxes", "detection_scores", "detection_classes",
                 "num_detections", "detection_multiclass_scores",
                 "raw_detection_boxes", "raw_detection_scores", "image_info"}


@pytest.fixture(scope="module")
def encoded_exports(model_dir, generated_records, tmp_path_factory):
    """input_type -> SavedModel path, for the two string input types."""
    paths = {}
    for kind in ("encoded_image_string_tensor", "tf_example"):
        export_dir = tmp_path_factory.mktemp(f"garden_{kind}")
        code = main(["garden-export", f"--experiment={EXPERIMENT}",
                     f"--config_file={SMALL_CONFIG}",
                     f"--params_override={_override(generated_records)}",
                     f"--checkpoint_path={model_dir}",
                     f"--export_dir={export_dir}", f"--input_type={kind}"])
        assert code == 0
        paths[kind] = str(export_dir / "saved_model")
    return paths


@pytest.fixture(scope="module")
def garden_image(generated_records):
    """The first generated val image, as uint8 pixels and PNG bytes."""
    import tensorflow as tf

    from keras_boxloss.data.records import read_records

    record = next(iter(read_records(generated_records["val"])))
    pixels = tf.io.decode_image(record.encoded, channels=3).numpy()
    return pixels, tf.io.encode_png(pixels).numpy()


@pytest.fixture(scope="module")
def served(saved_model):
    """The image_tensor export, loaded once (a load takes ~30 s here)."""
    import tensorflow as tf

    return tf.saved_model.load(str(saved_model))


def _check_detections(detections):
    """The tutorial's detections of the garden image: every output, some
    detections, valid normalised boxes, label-map classes. Returns the
    count."""
    assert set(detections) == ODAPI_OUTPUTS | {"num_detections"}
    count = detections["num_detections"]
    assert count > 0
    boxes = detections["detection_boxes"]
    assert boxes.shape == (count, 4)
    assert (0 <= boxes).all() and (boxes <= 1).all()
    assert (boxes[:, 2:] >= boxes[:, :2]).all()
    assert set(detections["detection_classes"]) <= {1, 2, 3}
    return count


def test_the_tutorial_snippet_runs_on_image_tensor(saved_model,
                                                    garden_image):
    pixels, _ = garden_image
    _check_detections(run_tutorial_snippet(str(saved_model), pixels))


@pytest.mark.slow  # two more exports and loads: minutes on 2 busy cores
def test_the_tutorial_snippet_runs_on_each_input_type(
        saved_model, encoded_exports, garden_image):
    import numpy as np

    pixels, png = garden_image
    runs = {"image_tensor": run_tutorial_snippet(str(saved_model), pixels),
            "encoded_image_string_tensor": run_tutorial_snippet(
                encoded_exports["encoded_image_string_tensor"], png),
            "tf_example": run_tutorial_snippet(
                encoded_exports["tf_example"], example_of(png))}
    reference = runs["image_tensor"]
    count = _check_detections(reference)
    # the PNG is lossless: every input type sees the same pixels
    for kind, run in runs.items():
        assert run["num_detections"] == count, kind
        for key in ("detection_boxes", "detection_scores",
                    "detection_multiclass_scores"):
            np.testing.assert_allclose(run[key], reference[key], atol=1e-5,
                                       err_msg=f"{kind} {key}")
        np.testing.assert_array_equal(run["detection_classes"],
                                      reference["detection_classes"])


@pytest.mark.slow  # uses the two encoded exports
def test_gif_and_webp_strings_decode_like_the_other_formats(
        served, encoded_exports, garden_image):
    """Model Garden's own decode returns a GIF or WebP as 4-D frames; ours
    takes the first frame, as the SSD export and the OD API do."""
    import io

    import numpy as np
    import tensorflow as tf
    from PIL import Image

    pixels, _ = garden_image
    encoded = tf.saved_model.load(
        encoded_exports["encoded_image_string_tensor"])
    for fmt, options in (("GIF", {}), ("WEBP", {"lossless": True})):
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format=fmt, **options)
        data = buffer.getvalue()
        # GIF's palette may change colours: compare with what it holds
        shown = tf.io.decode_image(data, channels=3,
                                   expand_animations=False)
        want = served(shown[None])
        got = encoded(tf.constant([data]))
        assert int(got["num_detections"][0]) == int(
            want["num_detections"][0]), fmt
        np.testing.assert_allclose(got["detection_boxes"],
                                   want["detection_boxes"], atol=1e-5,
                                   err_msg=fmt)


def test_multiclass_and_raw_outputs(served, garden_image):
    import numpy as np
    import tensorflow as tf

    pixels, _ = garden_image
    out = served(tf.constant(pixels[None]))
    count = int(out["num_detections"][0])
    raw = out["raw_detection_scores"].numpy()[0]
    proposals = raw.shape[0]
    assert raw.shape == (proposals, 4)   # background + 3 classes
    np.testing.assert_allclose(raw.sum(-1), 1.0, atol=1e-5)  # softmax
    assert out["raw_detection_boxes"].shape == (1, proposals, 4)
    raw_boxes = out["raw_detection_boxes"].numpy()[0]
    assert (0 <= raw_boxes).all() and (raw_boxes <= 1).all()
    multi = out["detection_multiclass_scores"].numpy()[0]
    classes = out["detection_classes"].numpy()[0].astype(int)
    scores = out["detection_scores"].numpy()[0]
    for k in range(count):
        # the row of the detection's own proposal: its class column is the
        # detection's score, and it is one of the raw rows
        assert multi[k, classes[k]] == pytest.approx(scores[k], abs=1e-5)
        assert np.abs(raw - multi[k]).sum(-1).min() < 1e-5
    assert not multi[count:].any()


def _check_empty(detect_fn, empty):
    out = detect_fn.signatures["serving_default"](input_tensor=empty)
    assert out["num_detections"].shape == (0,)
    assert out["detection_boxes"].shape == (0, 20, 4)  # max_num_detections
    assert out["detection_multiclass_scores"].shape == (0, 20, 4)
    assert out["raw_detection_scores"].shape[0] == 0


def test_an_empty_batch_gives_empty_outputs(served):
    import tensorflow as tf

    _check_empty(served, tf.zeros([0, 64, 48, 3], tf.uint8))


@pytest.mark.slow  # two more exports and loads: minutes on 2 busy cores
@pytest.mark.parametrize("kind", ["encoded_image_string_tensor",
                                  "tf_example"])
def test_an_empty_string_batch_gives_empty_outputs(encoded_exports, kind):
    import tensorflow as tf

    _check_empty(tf.saved_model.load(encoded_exports[kind]),
                 tf.constant([], tf.string))


def test_a_wrong_channel_count_is_a_clear_error(served):
    import tensorflow as tf

    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"3 channels.*channels=\] \[4\]"):
        served(tf.zeros([1, 64, 64, 4], tf.uint8))


def test_garden_export_refuses_a_non_empty_export_dir(
        model_dir, generated_records, saved_model, capsys):
    before = sorted(p.name for p in saved_model.parent.iterdir())
    code = main(["garden-export", f"--experiment={EXPERIMENT}",
                 f"--config_file={SMALL_CONFIG}",
                 f"--params_override={_override(generated_records)}",
                 f"--checkpoint_path={model_dir}",
                 f"--export_dir={saved_model.parent}"])
    assert code == 2
    assert "--overwrite" in capsys.readouterr().err
    assert sorted(p.name for p in saved_model.parent.iterdir()) == before
