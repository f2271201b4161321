"""Importing TF OD API SSD pipeline configs (fixtures in the shape of the
OD API's published samples) into our DetectorConfig."""

import os
from pathlib import Path

import pytest

from keras_boxloss.odapi.accounting import NOT_MAPPED
from keras_boxloss.odapi.convert import import_pipeline, load_detector_config
from keras_boxloss.odapi.pipeline import is_pipeline_text
from keras_boxloss.ssd.anchors import ssd_default_boxes
from keras_boxloss.training.config import load_config

FIXTURES = Path(__file__).resolve().parent / "fixtures"
ROOT = Path(__file__).resolve().parents[2]
V2_COCO = FIXTURES / "ssd_mobilenet_v2_coco.config"
V1_PETS = FIXTURES / "ssd_mobilenet_v1_pets.config"
TF2_320 = FIXTURES / "ssd_mobilenet_v2_320x320_coco17_tpu-8.config"
# The model_garden YAML's data, given to the placeholders by --set.
FILL = [
    "train_config.fine_tune_checkpoint=",
    'train_input_reader.tf_record_input_reader.input_path='
    '"data/coco/train-*.tfrecord"',
    'train_input_reader.label_map_path="data/coco/label_map.pbtxt"',
    'eval_input_reader.tf_record_input_reader.input_path='
    '"data/coco/val-*.tfrecord"',
    'eval_input_reader.label_map_path="data/coco/label_map.pbtxt"',
]


def statuses(imported):
    return {e.path: (e.status, e.note) for e in imported.report.entries}


@pytest.mark.parametrize("path", [V2_COCO, V1_PETS, TF2_320],
                         ids=lambda p: p.stem)
def test_placeholders_are_one_error_listing_every_field(path):
    with pytest.raises(ValueError) as info:
        import_pipeline(path)
    message = str(info.value)
    assert message.count("PATH_TO_BE_CONFIGURED") >= 5
    for field in ("train_config.fine_tune_checkpoint",
                  "train_input_reader.tf_record_input_reader.input_path",
                  "train_input_reader.label_map_path",
                  "eval_input_reader.tf_record_input_reader.input_path",
                  "eval_input_reader.label_map_path"):
        assert field in message
    assert "Received 5 still to fill" in message


def test_ssd_mobilenet_v2_coco_equals_the_model_garden_yaml(tmp_path,
                                                           monkeypatch):
    monkeypatch.chdir(ROOT)  # the --set paths are relative to here
    imported = load_detector_config(V2_COCO, FILL, quiet=True)
    reference = load_config(
        ROOT / "model_garden_configs/ssd/ssd_mobilenet_v2_coco.yaml")
    assert imported.detector == reference.detector == "ssd"
    assert imported.model == reference.model
    assert imported.loss == reference.loss
    assert imported.optimizer == reference.optimizer
    assert imported.trainer == reference.trainer
    for name in ("batch_size", "resize_mode", "augment", "max_boxes",
                 "shuffle_buffer"):
        assert getattr(imported.data, name) == getattr(reference.data, name)
    assert imported.data.train == str(ROOT / "data/coco/train-*.tfrecord")
    assert imported.data.validation == str(ROOT / "data/coco/val-*.tfrecord")
    # The sample's NMS, not the YAML's default.
    assert imported.postprocess.score_threshold == 1e-8
    assert imported.postprocess.max_total_detections == 100
    # 1917 default boxes: MobileNetV2 at 300 px gives 19x19 (stride 16) and
    # 10x10 (stride 32) maps, then extra layers 5, 3, 2, 1; 3 boxes per
    # location on the lowest layer, 6 elsewhere: 3*361 + 6*(100+25+9+4+1).
    m = imported.model
    anchors = ssd_default_boxes(
        [(19, 19), (10, 10), (5, 5), (3, 3), (2, 2), (1, 1)],
        min_scale=m.min_scale, max_scale=m.max_scale,
        aspect_ratios=tuple(m.aspect_ratios),
        reduce_boxes_in_lowest_layer=m.reduce_boxes_in_lowest_layer,
        interpolated_scale_aspect_ratio=m.interpolated_scale_aspect_ratio)
    assert anchors.shape == (3 * 361 + 6 * 139, 4) == (1917, 4)


def test_every_field_of_the_samples_is_accounted_for():
    for path in (V2_COCO, V1_PETS, TF2_320):
        imported = import_pipeline(path, FILL)
        notes = [e for e in imported.report.entries if e.note == NOT_MAPPED]
        assert notes == [], (path.name, notes)
    got = statuses(import_pipeline(V2_COCO, FILL))
    assert got["model.ssd.num_classes"][0] == "honoured"
    assert got["model.ssd.loss.classification_loss.weighted_sigmoid"][0] == (
        "approximated")
    assert "softmax" in got[
        "model.ssd.loss.classification_loss.weighted_sigmoid"][1]
    assert got["model.ssd.feature_extractor.conv_hyperparams"][0] == (
        "not supported")
    assert got["model.ssd.loss.hard_example_miner.iou_threshold"][0] == (
        "approximated")
    assert got["eval_config.max_evals"][0] == "not supported"
    assert got["train_config.fine_tune_checkpoint"] == (
        "honoured", "removed by --set train_config.fine_tune_checkpoint= "
                    "(was line 130)")


def test_tf2_320_focal_loss_cosine_warmup_and_codesize():
    config = load_detector_config(TF2_320, FILL, quiet=True)
    assert config.loss.classification == "sigmoid_focal"
    assert (config.loss.focal_alpha, config.loss.focal_gamma) == (0.75, 2.0)
    # normalize_loc_loss_by_codesize divides the box term by 4.
    assert config.loss.alpha == pytest.approx(0.25)
    assert config.loss.box_loss_params == {"delta": 1.0}
    o = config.optimizer
    assert (o.type, o.schedule, o.momentum) == ("sgd", "cosine", 0.9)
    assert (o.learning_rate, o.total_steps) == (0.08, 50000)
    assert (o.warmup_steps, o.warmup_learning_rate) == (2000, 0.013333)
    assert (config.data.batch_size, config.trainer.steps) == (512, 50000)
    assert config.model.backbone == "mobilenet_v2"
    got = statuses(import_pipeline(TF2_320, FILL))
    assert got["train_config.sync_replicas"][0] == "not supported"
    assert got["train_config.optimizer.use_moving_average"][0] == "honoured"


def test_pets_v1_goes_to_the_nearest_backbone_said_so():
    config = load_detector_config(V1_PETS, FILL, quiet=True)
    assert config.model.num_classes == 37
    assert config.model.backbone == "mobilenet_v2"
    assert config.loss.min_negatives_per_image == 0
    status, note = statuses(import_pipeline(V1_PETS, FILL))[
        "model.ssd.feature_extractor.type"]
    assert status == "approximated" and "ssd_mobilenet_v1" in note


def test_set_takes_the_configs_own_names_and_our_box_losses():
    config = load_detector_config(V2_COCO, FILL + [
        "train_config.batch_size=8",
        "model.ssd.loss.localization_loss=smooth_iou",
        "model.ssd.anchor_generator.ssd_anchor_generator.aspect_ratios="
        "[1.0, 2.0]",
        "trainer.steps_per_epoch=7"], quiet=True)
    assert config.data.batch_size == 8
    assert config.loss.box_loss == "smooth_iou"
    assert config.loss.box_loss_params == {}
    assert config.model.aspect_ratios == [1.0, 2.0]
    assert config.trainer.steps_per_epoch == 7
    config = load_detector_config(V2_COCO, FILL + [
        "model.ssd.loss.localization_loss={ weighted_giou { } }"], quiet=True)
    assert config.loss.box_loss == "giou"
    with pytest.raises(ValueError, match=r"--set train_config\.batchsize"):
        import_pipeline(V2_COCO, FILL + ["train_config.batchsize=8"])
    with pytest.raises(ValueError, match=r"box losses .*Received: 'l2'"):
        import_pipeline(V2_COCO, FILL + [
            "model.ssd.loss.localization_loss=l2"])


def test_an_unknown_field_is_an_error_naming_it_and_its_line(tmp_path):
    text = V2_COCO.read_text().replace("min_scale: 0.2",
                                       "min_scael: 0.2")
    line = text[:text.index("min_scael")].count("\n") + 1
    path = tmp_path / "pipeline.config"
    path.write_text(text)
    with pytest.raises(ValueError, match=rf"pipeline\.config:{line}: .*"
                       r"ssd_anchor_generator.*Received: unknown field "
                       r"`min_scael`"):
        import_pipeline(path, FILL)


def write_config(folder, train_section='', fine_tune=None):
    folder.mkdir(parents=True, exist_ok=True)
    text = V2_COCO.read_text()
    text = text.replace('"PATH_TO_BE_CONFIGURED/mscoco_train.record"',
                        '"records/train-*.record"')
    text = text.replace('"PATH_TO_BE_CONFIGURED/mscoco_val.record"',
                        '"../elsewhere/val.record"')
    text = text.replace('"PATH_TO_BE_CONFIGURED/mscoco_label_map.pbtxt"',
                        '"label_map.pbtxt"')
    if fine_tune is None:
        text = text.replace(
            'fine_tune_checkpoint: "PATH_TO_BE_CONFIGURED/model.ckpt"', "")
    else:
        text = text.replace('"PATH_TO_BE_CONFIGURED/model.ckpt"',
                            f'"{fine_tune}"')
    path = folder / "pipeline.config"
    path.write_text(text)
    return path


def test_relative_paths_resolve_against_the_config_folder(tmp_path,
                                                          monkeypatch):
    path = write_config(tmp_path / "project")
    monkeypatch.chdir(tmp_path)
    config = load_detector_config(path, quiet=True)
    assert config.data.train == str(tmp_path / "project/records/train-*.record")
    assert config.data.validation == str(tmp_path / "elsewhere/val.record")
    assert config.data.label_map == str(tmp_path / "project/label_map.pbtxt")
    assert config.trainer.fine_tune_checkpoint == ""  # no field: scratch


def test_fine_tune_checkpoint_used_missing_or_odapi(tmp_path):
    weights = tmp_path / "start.weights.h5"
    weights.write_bytes(b"")
    config = load_detector_config(
        write_config(tmp_path / "a", fine_tune=str(weights)), quiet=True)
    assert config.trainer.fine_tune_checkpoint == str(weights)
    missing = tmp_path / "nowhere.weights.h5"
    with pytest.raises(ValueError, match=r"fine_tune_checkpoint to exist.*"
                       + str(missing).replace(".", r"\.")):
        load_detector_config(write_config(tmp_path / "b",
                                          fine_tune=str(missing)))
    (tmp_path / "model.ckpt.index").write_bytes(b"")
    with pytest.raises(ValueError, match=r"TF OD API checkpoint.*cannot "
                       r"load into this Keras SSD"):
        load_detector_config(write_config(
            tmp_path / "c", fine_tune=str(tmp_path / "model.ckpt")))


def test_evaluate_and_export_read_training_only_fields_unchecked(
        tmp_path, monkeypatch):
    """A zoo sample trained with --set for its checkpoint and train records
    serves evaluate and export unchanged: placeholders there, and a
    classification checkpoint, are training's (for_training=False)."""
    from keras_boxloss.cli.export import same_detector

    text = V2_COCO.read_text()
    for old, new in (('"PATH_TO_BE_CONFIGURED/mscoco_val.record"',
                      '"val.record"'),
                     ('"PATH_TO_BE_CONFIGURED/mscoco_label_map.pbtxt"',
                      '"label_map.pbtxt"')):
        text = text.replace(old, new)
    path = tmp_path / "zoo.config"
    path.write_text(text)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=r"Received 2 still to fill: "
                       r"train_config\.fine_tune_checkpoint .*"
                       r"train_input_reader\.tf_record_input_reader\."
                       r"input_path"):
        load_config(path)
    read = load_config(path, for_training=False)
    assert read.data.validation == str(tmp_path / "val.record")
    assert read.model.backbone_weights == ""
    # the run trained from classification weights: still the same detector
    weights = tmp_path / "mnv2.weights.h5"
    weights.write_bytes(b"")
    trained = load_config(path, [
        f'train_config.fine_tune_checkpoint="{weights}"',
        'train_config.fine_tune_checkpoint_type="classification"',
        'train_input_reader.tf_record_input_reader.input_path="t.record"'])
    assert trained.model.backbone_weights == str(weights)
    assert same_detector(read, trained)
    other = load_config(path, ["model.ssd.num_classes=3"], for_training=False)
    assert not same_detector(other, trained)


def test_load_config_detects_a_pipeline_by_content(tmp_path, monkeypatch):
    path = write_config(tmp_path)
    renamed = tmp_path / "my_model.txt"
    renamed.write_text(path.read_text())
    monkeypatch.chdir(tmp_path)
    config = load_config(renamed, ["train_config.num_steps=5"])
    assert (config.model.num_classes, config.trainer.steps) == (90, 5)
    assert is_pipeline_text("model {\n ssd { } }")
    assert is_pipeline_text("# comment\ntrain_config:\n{ batch_size: 1 }")
    assert not is_pipeline_text("detector: ssd\nmodel:\n  num_classes: 3\n")
    assert not is_pipeline_text("model:\n  ssd: {}\n")


def test_a_byte_order_mark_is_not_config_text(tmp_path, monkeypatch):
    """Notepad saves UTF-8 with a BOM: the file reads as without it."""
    path = write_config(tmp_path)
    marked = tmp_path / "bom.config"
    marked.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    monkeypatch.chdir(tmp_path)
    config = load_config(marked, ["train_config.num_steps=5"])
    assert config == load_config(path, ["train_config.num_steps=5"])


def test_num_steps_zero_is_an_error():
    with pytest.raises(ValueError, match=r"num_steps >= 1.*Received: "
                       r"num_steps=0"):
        load_detector_config(V2_COCO, FILL + ["train_config.num_steps=0"])


def test_use_bfloat16_becomes_the_mixed_bfloat16_policy():
    # The samples leave use_bfloat16 unset: float32, as the OD API on a GPU.
    default = load_detector_config(V2_COCO, FILL, quiet=True)
    assert default.trainer.mixed_precision == ""
    imported = import_pipeline(V2_COCO, FILL + [
        "train_config.use_bfloat16=true"])
    config = load_detector_config(V2_COCO, FILL + [
        "train_config.use_bfloat16=true"], quiet=True)
    assert config.trainer.mixed_precision == "mixed_bfloat16"
    assert statuses(imported)["train_config.use_bfloat16"][0] == "honoured"


def test_faster_rcnn_config_for_train_points_at_garden_train(tmp_path):
    path = tmp_path / "frcnn.config"
    path.write_text("model { faster_rcnn { num_classes: 3 } }\n"
                    "train_config { num_steps: 5 }\n")
    with pytest.raises(ValueError, match="garden-train"):
        load_detector_config(path)


def test_imports_print_what_was_approximated(capsys):
    load_detector_config(V1_PETS, FILL)
    out = capsys.readouterr().out
    assert "approximated" in out and "not supported" in out
    assert "ssd_mobilenet_v1" in out
    assert os.path.basename(str(V1_PETS)) in out


def test_fpn_lite_multiscale_anchors_and_shared_predictor():
    path = FIXTURES / "ssd_mobilenet_v2_fpnlite_320x320_coco17_tpu-8.config"
    config = load_detector_config(path, FILL, quiet=True)
    m = config.model
    # levels 3..7 -> 5 layers; anchor_scale 4 x 2^level / 320 px: 0.1 at
    # level 3, 1.6 at level 7 (capped at 1)
    assert (m.image_size, m.num_layers) == (320, 5)
    assert (m.min_scale, m.max_scale) == (0.1, 1.0)
    assert m.aspect_ratios == [1.0, 2.0, 0.5]
    assert m.reduce_boxes_in_lowest_layer is False
    assert (config.loss.focal_alpha, config.loss.alpha) == (0.25, 0.25)
    assert config.data.augment is True
    got = statuses(import_pipeline(path, FILL))
    assert got["model.ssd.feature_extractor.type"][0] == "approximated"
    assert "no FPN" in got["model.ssd.feature_extractor.type"][1]
    assert got["model.ssd.feature_extractor.fpn"][0] == "approximated"
    assert got["model.ssd.anchor_generator.multiscale_anchor_generator."
               "min_level"][0] == "approximated"
    assert got["train_config.data_augmentation_options.random_crop_image"][
        0] == "not supported"
    status, note = got["train_config.data_augmentation_options."
                       "random_horizontal_flip"]
    assert status == "approximated" and "ssd_random_crop" in note
    assert got["model.ssd.box_predictor.weight_shared_convolutional_box_"
               "predictor.share_prediction_tower"][0] == "approximated"


def test_efficientdet_and_quantization_fields_say_what_they_became(
        tmp_path):
    """Fields of the TF2 zoo's EfficientDet and quantized SSD configs: each
    with its own note, none "not mapped"."""
    text = TF2_320.read_text()
    text = text.replace("    num_classes: 90\n", """    num_classes: 90
    add_background_class: false
    explicit_background_class: false
    use_confidences_as_targets: false
    implicit_example_weight: 0.5
    return_raw_detections_during_predict: true
""", 1)
    text = text.replace("    feature_extractor {\n", """    feature_extractor {
      bifpn { min_level: 3 max_level: 7 num_iterations: 3 num_filters: 64 }
""", 1)
    text += ("graph_rewriter {\n  quantization {\n    delay: 48000\n"
             "    weight_bits: 8\n    activation_bits: 8\n  }\n}\n")
    path = tmp_path / "efficientdet_like.config"
    path.write_text(text)
    imported = import_pipeline(path, FILL)
    assert [e for e in imported.report.entries if e.note == NOT_MAPPED] == []
    got = statuses(imported)
    # sigmoid focal: no background column, as add_background_class: false
    status, note = got["model.ssd.add_background_class"]
    assert status == "honoured" and "no background column" in note
    for name in ("explicit_background_class", "use_confidences_as_targets",
                 "implicit_example_weight",
                 "return_raw_detections_during_predict"):
        assert got[f"model.ssd.{name}"][0] == "honoured", name
    assert got["model.ssd.feature_extractor.bifpn"][0] == "approximated"
    status, note = got["graph_rewriter"]
    assert status == "not supported" and "quantization" in note
    # the other way round is said too
    imported = import_pipeline(path, FILL + [
        "model.ssd.add_background_class=true",
        "model.ssd.use_confidences_as_targets=true"])
    got = statuses(imported)
    assert got["model.ssd.add_background_class"][0] == "approximated"
    assert got["model.ssd.use_confidences_as_targets"][0] == "not supported"
    # now it would be read, and is not
    assert got["model.ssd.implicit_example_weight"][0] == "not supported"
