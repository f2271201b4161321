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
    assert not out["keras_boxloss_loaded"]
    assert {"detection_boxes", "detection_scores", "detection_classes",
            "num_detections"} <= set(out["keys"])
    assert out["dtypes"]["detection_classes"] == "float32"
    assert out["dtypes"]["num_detections"] == "float32"
    assert out["boxes_shape"][0] == 2 and out["boxes_shape"][2] == 4
    assert 0.0 <= out["boxes_min"] and out["boxes_max"] <= 1.0
    assert out["image_info"][0][0] == [96.0, 160.0]  # the original size
