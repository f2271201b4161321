"""`keras-boxloss import-config`, and train / evaluate / export from a
TF OD API pipeline.config."""

import json
from pathlib import Path

import pytest

from keras_boxloss.cli.main import main
from keras_boxloss.training.config import load_config

FIXTURES = Path(__file__).resolve().parent / "fixtures"
V2_COCO = FIXTURES / "ssd_mobilenet_v2_coco.config"
V1_PETS = FIXTURES / "ssd_mobilenet_v1_pets.config"
FILL = [
    "train_config.fine_tune_checkpoint=",
    'train_input_reader.tf_record_input_reader.input_path="train-*.record"',
    'train_input_reader.label_map_path="label_map.pbtxt"',
    'eval_input_reader.tf_record_input_reader.input_path="val-*.record"',
    'eval_input_reader.label_map_path="label_map.pbtxt"',
]


def sets(items):
    return [arg for item in items for arg in ("--set", item)]


def test_import_config_writes_an_equivalent_commented_yaml(tmp_path,
                                                          monkeypatch,
                                                          capsys):
    monkeypatch.chdir(tmp_path)
    output = tmp_path / "out" / "pets.yaml"
    extra = ["model.ssd.loss.localization_loss=smooth_iou"]
    assert main(["import-config", str(V1_PETS), "--output", str(output),
                 *sets(FILL + extra)]) == 0
    text = output.read_text()
    assert load_config(output) == load_config(V1_PETS, FILL + extra)
    # per-field accounting as comments, and the origin of each value
    assert "#   line 68: model.ssd.feature_extractor.type: approximated: " \
           "model.backbone: mobilenet_v2" in text
    assert "not supported: our extra layers have fixed depths" in text
    assert "box_loss: smooth_iou  # --set model.ssd.loss.localization_loss" \
        in text
    assert "num_classes: 37  # model.ssd.num_classes" in text
    assert "Wrote" in capsys.readouterr().out


def test_import_config_refuses_to_overwrite_and_writes_nothing_on_error(
        tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    output = tmp_path / "config.yaml"
    output.write_text("keep me\n")
    assert main(["import-config", str(V2_COCO), "--output", str(output),
                 *sets(FILL)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert output.read_text() == "keep me\n"
    assert main(["import-config", str(V2_COCO), "--output", str(output),
                 "--overwrite", *sets(FILL)]) == 0
    assert load_config(output).model.num_classes == 90
    # a bad config: an error, and no file at all
    fresh = tmp_path / "fresh.yaml"
    assert main(["import-config", str(V2_COCO), "--output", str(fresh),
                 *sets(FILL + ["train_config.num_steps=0"])]) == 2
    assert "num_steps >= 1" in capsys.readouterr().err
    assert not fresh.exists()
    assert list(tmp_path.glob(".fresh.yaml*")) == []
    # placeholders left: one error
    assert main(["import-config", str(V2_COCO), "--output", str(fresh)]) == 2
    assert "Received 5 still to fill" in capsys.readouterr().err
    assert not fresh.exists()
    yaml_file = tmp_path / "ours.yaml"
    yaml_file.write_text("detector: ssd\n")
    assert main(["import-config", str(yaml_file), "--output",
                 str(fresh)]) == 2
    assert "does not look like a TF OD API pipeline" in \
        capsys.readouterr().err


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    from keras_boxloss.data.generated import default_dataset

    return default_dataset(tmp_path_factory.mktemp("odapi_data"),
                           image_size=64, splits={"train": 16, "val": 8})


def small_pipeline(folder, data):
    """The sample's SSD shrunk (tiny backbone, 64 px, 3 layers, 2 steps) on
    small generated records, placeholders filled in."""
    text = V2_COCO.read_text()
    for old, new in (
            ("num_classes: 90", "num_classes: 3"),
            ("type: 'ssd_mobilenet_v2'", "type: 'tiny'"),
            ("height: 300 width: 300", "height: 64 width: 64"),
            ("num_layers: 6", "num_layers: 3"),
            ("batch_size: 24", "batch_size: 2"),
            ("num_steps: 200000", "num_steps: 2"),
            ("max_total_detections: 100", "max_total_detections: 7"),
            ('fine_tune_checkpoint: "PATH_TO_BE_CONFIGURED/model.ckpt"', ""),
            ('"PATH_TO_BE_CONFIGURED/mscoco_train.record"',
             f'"{data["train"]}"'),
            ('"PATH_TO_BE_CONFIGURED/mscoco_val.record"', f'"{data["val"]}"'),
            ('"PATH_TO_BE_CONFIGURED/mscoco_label_map.pbtxt"',
             f'"{data["label_map"]}"')):
        assert old in text, old
        text = text.replace(old, new)
    path = folder / "pipeline.config"
    path.write_text(text)
    return path


def test_train_and_evaluate_from_a_pipeline_config(tiny_data, tmp_path,
                                                   capsys):
    config_file = small_pipeline(tmp_path, tiny_data)
    model_dir = tmp_path / "run"
    assert main(["train", "--config", str(config_file), "--model-dir",
                 str(model_dir), "--no-progress",
                 *sets(["train_config.batch_size=4",
                        "trainer.jit_compile=false"])]) == 0
    out = capsys.readouterr().out
    assert "Trained 2 steps" in out and "approximated" in out
    trained = load_config(model_dir / "config.yaml")
    assert trained.model.backbone == "tiny"
    assert trained.data.batch_size == 4  # --set over the file's 2
    assert trained.loss.classification == "softmax"
    assert trained.optimizer.type == "rmsprop"
    assert trained.postprocess.max_total_detections == 7
    # evaluate: the eval reader's records and the pipeline's NMS
    assert main(["evaluate", "--model-dir", str(model_dir), "--config",
                 str(config_file), "--no-progress"]) == 0
    images = json.loads((model_dir / "predictions.json").read_text())[
        "images"]
    assert len(images) == 8  # the val split's images
    assert max(len(p["scores"]) for p in images) == 7  # an untrained SSD
    # scores every anchor above the threshold: NMS keeps the config's 7

    # The same file as the TF2 tutorial leaves it: fine_tune_checkpoint an
    # OD API checkpoint and no num_steps, which only `train` needs (it
    # took --set for them); evaluate reads the rest as it is.
    zoo = tmp_path / "pre-trained-models" / "checkpoint"
    zoo.mkdir(parents=True)
    (zoo / "ckpt-0.index").write_bytes(b"")
    (zoo / "ckpt-0.data-00000-of-00001").write_bytes(b"")
    tutorial = tmp_path / "tutorial.config"
    tutorial.write_text(config_file.read_text().replace(
        "num_steps: 2", "").replace(
        "train_config: {", f'train_config: {{\n  fine_tune_checkpoint: '
        f'"{zoo / "ckpt-0"}"', 1))
    with pytest.raises(ValueError, match="num_steps >= 1"):
        load_config(tutorial)
    with pytest.raises(ValueError, match="fine_tune_checkpoint to be Keras"):
        load_config(tutorial, ["train_config.num_steps=5"])
    assert main(["evaluate", "--model-dir", str(model_dir), "--config",
                 str(tutorial), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "train_config.fine_tune_checkpoint" not in out  # not a warning
    settings = load_config(tutorial, for_training=False)
    assert settings.model == trained.model
    assert settings.postprocess.max_total_detections == 7


def test_export_takes_the_nms_of_its_config(tiny_data, tmp_path):
    import numpy as np
    import tensorflow as tf

    from keras_boxloss.training.train import build_model, WEIGHTS

    run = tmp_path / "run"
    run.mkdir()
    config = load_config(None, ["model.image_size=64", "model.num_layers=3",
                                "model.backbone=tiny",
                                "postprocess.max_total_detections=5"])
    model = build_model(config)
    model.save_weights(run / WEIGHTS)
    import yaml
    from keras_boxloss.training.config import config_to_dict

    (run / "config.yaml").write_text(yaml.safe_dump(config_to_dict(config)))
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump({**config_to_dict(config), "postprocess":
                                     {"max_total_detections": 3,
                                      "score_threshold": 0.0}}))
    image = np.zeros((1, 64, 64, 3), np.uint8)
    # the run's own config says 5; --config's postprocess (3) wins
    for extra, count in ((["--config", str(other)], 3),):
        output = tmp_path / f"export{count}"
        assert main(["export", "--model-dir", str(run),
                     "--output-dir", str(output), *extra]) == 0
        detections = tf.saved_model.load(str(output))(tf.constant(image))
        assert detections["detection_boxes"].shape == (1, count, 4)
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({**config_to_dict(config),
                                   "model": {"num_classes": 5}}))
    assert main(["export", "--model-dir", str(run), "--output-dir",
                 str(tmp_path / "x"), "--config", str(bad)]) == 2


def test_compare_imports_a_pipeline_into_its_folder(tmp_path, monkeypatch):
    from keras_boxloss.cli.compare import _import_pipeline
    from keras_boxloss.cli.main import CommandError

    monkeypatch.chdir(tmp_path)
    out = tmp_path / "cmp"
    path, overrides = _import_pipeline(str(V2_COCO), FILL + [
        "trainer.steps_per_epoch=5"], str(out))
    assert overrides == []
    assert path == str(out / "imported_config.yaml")
    config = load_config(path)
    assert config.trainer.steps_per_epoch == 5
    assert config.data.train == str(tmp_path / "train-*.record")
    # the same import again resumes; a different one is refused
    _import_pipeline(str(V2_COCO), FILL + ["trainer.steps_per_epoch=5"],
                     str(out))
    with pytest.raises(CommandError, match="different config"):
        _import_pipeline(str(V2_COCO), FILL, str(out))


@pytest.mark.parametrize("command", [
    ["import-config", str(FIXTURES / "centernet_hourglass104_512x512_coco17_"
                          "tpu-8.config"), "--output", "c.yaml"],
    ["train", "--config", str(FIXTURES / "centernet_hourglass104_512x512_"
                              "coco17_tpu-8.config"), "--model-dir", "run"]])
def test_an_unmapped_architecture_is_said_first(command, tmp_path,
                                                monkeypatch, capsys):
    """CenterNet: the architecture is the error, before its unfilled paths
    are asked for, and no command is suggested that would refuse it too."""
    monkeypatch.chdir(tmp_path)
    assert main(command) == 2
    err = capsys.readouterr().err
    assert "Expected model.ssd or model.faster_rcnn" in err
    assert "Received: model.center_net" in err
    assert "PATH_TO_BE_CONFIGURED" not in err and "garden-train" not in err
    assert list(tmp_path.iterdir()) == []
