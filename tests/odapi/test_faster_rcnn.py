"""TF OD API Faster R-CNN pipeline.configs -> Model Garden overrides.

Fixtures are shaped like the OD API's samples faster_rcnn_inception_v2_pets,
faster_rcnn_resnet50_coco and faster_rcnn_resnet101_pets; the expected
values are worked out by hand from those configs (and, where it states the
same thing, compared with the hand translation paper_pets_huber.yaml).
No Model Garden here: see test_faster_rcnn_garden.py.
"""

from pathlib import Path

import pytest
import yaml

from keras_boxloss.odapi import faster_rcnn
from keras_boxloss.odapi.accounting import Report
from keras_boxloss.odapi.pipeline import load_pipeline

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[2]
PAPER_YAML = REPO / "model_garden_configs" / "faster_rcnn" / "paper_pets_huber.yaml"


def _write_checkpoint(prefix, root="backbone"):
    import tensorflow as tf

    module = tf.Module()
    module.kernel = tf.Variable([1.0, 2.0])
    tf.train.Checkpoint(**{root: module}).write(str(prefix))


def place(tmp_path, name, text=None, checkpoint=True, records=()):
    """The fixture `name` in tmp_path with PATH_TO_BE_CONFIGURED -> data/
    (relative, so it resolves against the config's folder), the record
    files and label map it names, and a backbone checkpoint."""
    text = text or (FIXTURES / name).read_text()
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    for record in records:
        (data / record).write_bytes(b"")
    for label_map in ("pet_label_map.pbtxt", "mscoco_label_map.pbtxt"):
        (data / label_map).write_text(
            "item { id: 1 name: 'cat' }\nitem { id: 2 name: 'dog' }\n")
    if checkpoint:
        _write_checkpoint(data / "model.ckpt")
    path = tmp_path / name
    path.write_text(text.replace("PATH_TO_BE_CONFIGURED", "data"))
    return path


def imported(path, overrides=()):
    pipe = load_pipeline(path, overrides)
    report = Report(pipe.source)
    mapping = faster_rcnn.garden_mapping(pipe.root, pipe.config_dir, report,
                                         pipe.box_losses)
    return mapping, report


def entries(report, suffix):
    return [e for e in report.entries if e.path.endswith(suffix)]


def get(tree, key):
    for part in key.split("."):
        tree = tree[part]
    return tree


PETS_RECORDS = ("pet_train.record", "pet_val.record")


@pytest.fixture
def pets(tmp_path):
    return imported(place(tmp_path, "faster_rcnn_inception_v2_pets.config",
                          records=PETS_RECORDS))


def test_pets_model_values_worked_out_from_the_config(pets, tmp_path):
    mapping, _ = pets
    values = mapping.overrides
    expected = {
        "task.model.num_classes": 38,                  # 37 + background
        "task.model.backbone.resnet.model_id": 50,     # for Inception V2
        # keep_aspect_ratio 600/1024: a 4:3 image's long side min(1024,
        # 600 * 4/3) = 800, rounded up to a multiple of 2^6 = 64 -> 832.
        "task.model.input_size": [832, 832, 3],
        # scales 0.25..2 x 256 = 64, 128, 256, 512 px = 8 x 2^3 .. 8 x 2^6.
        "task.model.min_level": 3, "task.model.max_level": 6,
        "task.model.anchor.anchor_size": 8.0,
        "task.model.anchor.num_scales": 1,
        "task.model.anchor.aspect_ratios": [0.5, 1.0, 2.0],
        "task.model.roi_aligner.crop_size": 7,         # (14 - 2) // 2 + 1
        "task.model.roi_generator.nms_iou_threshold": 0.7,
        "task.model.roi_generator.test_num_proposals": 300,
        "task.model.roi_sampler.num_sampled_rois": 64,  # proto default
        "task.model.detection_generator.nms_iou_threshold": 0.6,
        "task.model.detection_generator.max_num_detections": 300,
        "task.losses.rpn_box_weight": 2.0, "task.losses.frcnn_box_weight": 2.0,
        "task.losses.rpn_score_weight": 1.0,
        "task.losses.l2_weight_decay": 0.0,
        "task.rpn_box_loss.type": "huber", "task.frcnn_box_loss.type": "huber",
        "task.train_data.global_batch_size": 1,
        "task.train_data.parser.aug_rand_hflip": True,
        "task.train_data.input_path": str(tmp_path / "data" /
                                          "pet_train.record"),
        "task.init_checkpoint": str(tmp_path / "data" / "model.ckpt"),
        "task.init_checkpoint_modules": "backbone",
        "trainer.train_steps": 200000,
        "trainer.validation_steps": 2000,
        "trainer.optimizer_config.optimizer.type": "sgd",
        "trainer.optimizer_config.optimizer.sgd.momentum": 0.9,
        "trainer.optimizer_config.optimizer.sgd.global_clipnorm": 10.0,
        # step 0's rate replaces the initial one, as in the OD API.
        # Keras switches after a boundary, the OD API at its step.
        "trainer.optimizer_config.learning_rate.stepwise.boundaries":
            [899999, 1199999],
        "trainer.optimizer_config.learning_rate.stepwise.values":
            [0.0002, 0.00002, 0.000002],
        "runtime.mixed_precision_dtype": "float32",
    }
    for key, value in expected.items():
        assert get(values, key) == pytest.approx(value) if isinstance(
            value, float) else get(values, key) == value, key


def test_pets_agrees_with_the_hand_translation_where_it_states_the_same(pets):
    """paper_pets_huber.yaml translates this sample by hand (its optimiser
    is the paper's, not the sample's, so only the model, losses and
    parser are compared)."""
    mapping, _ = pets
    paper = yaml.safe_load(PAPER_YAML.read_text())
    keys = [
        "task.model.num_classes", "task.model.input_size",
        "task.model.min_level", "task.model.max_level",
        "task.model.anchor.num_scales", "task.model.anchor.aspect_ratios",
        "task.model.anchor.anchor_size", "task.model.backbone.resnet.model_id",
        "task.model.roi_generator.nms_iou_threshold",
        "task.model.roi_generator.num_proposals",
        "task.model.roi_generator.test_nms_iou_threshold",
        "task.model.roi_generator.test_num_proposals",
        "task.model.roi_sampler.num_sampled_rois",
        "task.model.roi_sampler.foreground_fraction",
        "task.model.detection_generator.pre_nms_score_threshold",
        "task.model.detection_generator.nms_iou_threshold",
        "task.model.detection_generator.max_num_detections",
        "task.losses.l2_weight_decay", "task.losses.rpn_huber_loss_delta",
        "task.losses.frcnn_huber_loss_delta", "task.losses.rpn_score_weight",
        "task.losses.rpn_box_weight", "task.losses.frcnn_class_weight",
        "task.losses.frcnn_box_weight", "task.rpn_box_loss.type",
        "task.rpn_box_loss.normalizer", "task.frcnn_box_loss.type",
        "task.frcnn_box_loss.normalizer",
        "task.train_data.global_batch_size",
        "task.train_data.parser.aug_rand_hflip",
        "task.train_data.parser.aug_scale_min",
        "task.train_data.parser.aug_scale_max",
        "task.train_data.parser.rpn_match_threshold",
        "task.train_data.parser.rpn_unmatched_threshold",
        "task.train_data.parser.rpn_batch_size_per_im",
        "task.train_data.parser.rpn_fg_fraction",
        "task.annotation_file", "trainer.train_steps",
        "runtime.mixed_precision_dtype"]
    for key in keys:
        assert get(mapping.overrides, key) == get(paper, key), key


def test_pets_prints_what_was_approximated_and_why(pets):
    _, report = pets
    text = report.format()
    (kind,) = entries(report, "feature_extractor.type")
    assert kind.status == "approximated" and "Inception V2" in kind.note
    assert "ResNet-50" in kind.note
    (crop,) = entries(report, "maxpool_kernel_size")
    assert crop.status == "approximated" and "7x7" in crop.note
    assert "14x14" in crop.note
    resizer = entries(report, "keep_aspect_ratio_resizer.min_dimension")
    assert resizer[0].status == "approximated"
    assert "800x600 there, 832x624 here" in resizer[0].note
    scales = entries(report, "grid_anchor_generator.scales")
    assert {e.status for e in scales} == {"approximated"}
    assert "P3-P6" in scales[0].note
    (per_class,) = entries(report, "max_detections_per_class")
    assert per_class.status == "approximated"
    (frozen,) = entries(report, "batch_norm_trainable")  # absent: default
    assert frozen.status == "approximated" and "frozen" in frozen.note
    (evals,) = entries(report, "eval_config.max_evals")
    assert evals.status == "not supported"
    # Every field of the file is accounted, each line a printed entry.
    assert ":98: train_input_reader.tf_record_input_reader:" in text
    lines = {e.line for e in report.entries}
    assert {8, 16, 33, 37, 64, 87, 106, 115} <= lines


def test_resnet50_coco_globs_steps_and_the_c4_note(tmp_path):
    path = place(tmp_path, "faster_rcnn_resnet50_coco.config",
                 records=("mscoco_train.record-00000-of-00100",
                          "mscoco_val.record-00000-of-00010"))
    mapping, report = imported(path)
    values = mapping.overrides
    assert get(values, "task.model.num_classes") == 91
    assert get(values, "task.model.backbone.resnet.model_id") == 50
    assert get(values, "task.train_data.input_path") == str(
        tmp_path / "data" / "mscoco_train.record-?????-of-00100")
    # No step-0 entry: initial rate, then the two schedule rates.
    assert get(values, "trainer.optimizer_config.learning_rate.stepwise."
                       "values") == [0.0003, 0.00003, 0.000003]
    assert get(values, "trainer.validation_steps") == 8000
    (kind,) = entries(report, "feature_extractor.type")
    assert kind.status == "approximated" and "C4" in kind.note


def test_resnet101_pets_depth_metrics_and_checkpoint_fields(tmp_path):
    path = place(tmp_path, "faster_rcnn_resnet101_pets.config",
                 records=("pet_faces_train.record-00000-of-00010",
                          "pet_faces_val.record-00000-of-00010"))
    mapping, report = imported(path)
    assert get(mapping.overrides, "task.model.backbone.resnet.model_id") == 101
    assert get(mapping.overrides, "trainer.validation_steps") == 1101
    (metrics,) = entries(report, "metrics_set")
    assert metrics.status == "honoured"
    (load_all,) = entries(report, "load_all_detection_checkpoint_vars")
    assert load_all.status == "honoured"


def test_an_unknown_field_is_an_error_naming_field_and_line(tmp_path):
    text = (FIXTURES / "faster_rcnn_inception_v2_pets.config").read_text()
    text = text.replace("    first_stage_max_proposals: 300",
                        "    first_stage_max_proposal: 300")
    path = place(tmp_path, "typo.config", text, records=PETS_RECORDS)
    with pytest.raises(ValueError, match=r"typo.config:34: .*"
                       r"first_stage_max_proposal"):
        imported(path)


def test_placeholders_are_one_error_listing_every_field():
    with pytest.raises(ValueError) as error:
        load_pipeline(FIXTURES / "faster_rcnn_inception_v2_pets.config")
    message = str(error.value)
    for field in ("train_config.fine_tune_checkpoint",
                  "train_input_reader.tf_record_input_reader.input_path",
                  "train_input_reader.label_map_path",
                  "eval_input_reader.tf_record_input_reader.input_path",
                  "eval_input_reader.label_map_path"):
        assert field in message
    assert "Received 5 still to fill" in message


def test_a_missing_checkpoint_is_an_error_naming_field_and_path(tmp_path):
    path = place(tmp_path, "faster_rcnn_inception_v2_pets.config",
                 checkpoint=False, records=PETS_RECORDS)
    with pytest.raises(ValueError, match=r":88: .*fine_tune_checkpoint.*"
                       r"data/model\.ckpt"):
        imported(path)


def test_a_tf1_checkpoint_is_refused(tmp_path):
    import tensorflow as tf

    path = place(tmp_path, "faster_rcnn_inception_v2_pets.config",
                 checkpoint=False, records=PETS_RECORDS)
    with tf.Graph().as_default():
        weight = tf.compat.v1.Variable(1.0, name="FeatureExtractor/w")
        with tf.compat.v1.Session() as session:
            session.run(weight.initializer)
            tf.compat.v1.train.Saver().save(
                session, str(tmp_path / "data" / "model.ckpt"))
    with pytest.raises(ValueError, match="TF1 name-based checkpoint"):
        imported(path)


def test_no_checkpoint_field_trains_from_scratch(tmp_path):
    path = place(tmp_path, "faster_rcnn_inception_v2_pets.config",
                 checkpoint=False, records=PETS_RECORDS)
    mapping, _ = imported(path, ["train_config.fine_tune_checkpoint="])
    assert get(mapping.overrides, "task.init_checkpoint") == ""


def test_missing_records_are_an_error_naming_the_path(tmp_path):
    path = place(tmp_path, "faster_rcnn_inception_v2_pets.config",
                 records=("pet_train.record",))
    with pytest.raises(ValueError, match=r":111: .*eval_input_reader.*"
                       r"pet_val\.record"):
        imported(path)


def test_box_loss_override_per_stage(tmp_path):
    path = place(tmp_path, "faster_rcnn_inception_v2_pets.config",
                 records=PETS_RECORDS)
    mapping, report = imported(path, [
        "model.faster_rcnn.localization_loss=smooth_iou",
        "model.faster_rcnn.first_stage_localization_loss=giou"])
    assert get(mapping.overrides, "task.rpn_box_loss.type") == "giou"
    assert get(mapping.overrides, "task.frcnn_box_loss.type") == "smooth_iou"
    assert entries(report, "model.faster_rcnn.localization_loss")


def test_num_classes_below_the_label_map_ids_is_an_error(tmp_path):
    text = (FIXTURES / "faster_rcnn_inception_v2_pets.config").read_text()
    path = place(tmp_path, "pets.config", text.replace("num_classes: 37",
                                                       "num_classes: 1"),
                 records=PETS_RECORDS)
    with pytest.raises(ValueError, match=r"num_classes \(1\).*id 2"):
        imported(path)


def test_the_training_label_map_is_the_task_s_and_checks_both_splits(
        pets, tmp_path):
    """task.label_map: what `decoder.check_labels` checks both splits'
    records against; an eval reader's other label map is approximated."""
    mapping, report = pets
    assert get(mapping.overrides, "task.label_map") == str(
        tmp_path / "data" / "pet_label_map.pbtxt")
    train, val = (e for e in report.entries
                  if e.path.endswith("label_map_path"))
    assert (train.status, val.status) == ("honoured", "honoured")
    text = (FIXTURES / "faster_rcnn_inception_v2_pets.config").read_text()
    head, tail = text.split("eval_input_reader", 1)
    other = tmp_path / "other"
    other.mkdir()
    eval_reader = "eval_input_reader" + tail.replace(
        "pet_label_map.pbtxt", "mscoco_label_map.pbtxt")
    path = place(other, "pets.config", head + eval_reader,
                 records=PETS_RECORDS)
    mapping, report = imported(path)
    assert get(mapping.overrides, "task.label_map").endswith(
        "pet_label_map.pbtxt")
    (val,) = [e for e in report.entries
              if e.path == "eval_input_reader.label_map_path"]
    assert val.status == "approximated" and "task.label_map" in val.note


TF2_FPN = """
model { faster_rcnn {
  num_classes: 3
  image_resizer { keep_aspect_ratio_resizer {
    min_dimension: 640 max_dimension: 640 pad_to_max_dimension: true } }
  feature_extractor {
    type: 'faster_rcnn_resnet50_fpn_keras'
    batch_norm_trainable: true
    fpn { min_level: 2 max_level: 6 }
    conv_hyperparams {
      activation: RELU_6,
      regularizer { l2_regularizer { weight: 0.0004 } }
      initializer { truncated_normal_initializer { stddev: 0.03 mean: 0.0 } }
      batch_norm { scale: true, decay: 0.997, epsilon: 0.001, }
    }
    override_base_feature_extractor_hyperparams: true
  }
  first_stage_anchor_generator { multiscale_anchor_generator {
    min_level: 2 max_level: 6 anchor_scale: 4.0
    aspect_ratios: [1.0, 2.0, 0.5] scales_per_octave: 2
    normalize_coordinates: false } }
  first_stage_box_predictor_conv_hyperparams { op: CONV
    regularizer { l2_regularizer { weight: 0.0 } } }
  initial_crop_size: 14 maxpool_kernel_size: 2 maxpool_stride: 2
  second_stage_box_predictor { mask_rcnn_box_predictor {
    fc_hyperparams { op: FC regularizer { l2_regularizer { weight: 0.0 } } }
    share_box_across_classes: true } }
  second_stage_post_processing {
    batch_non_max_suppression { score_threshold: 0.0 iou_threshold: 0.6
      max_detections_per_class: 100 max_total_detections: 100 }
    score_converter: SOFTMAX }
  use_static_shapes: true
  use_matmul_crop_and_resize: true
} }
train_config: {
  batch_size: 64
  num_steps: 25000
  use_bfloat16: true
  optimizer { momentum_optimizer: { learning_rate: {
    cosine_decay_learning_rate { learning_rate_base: .04 total_steps: 25000
      warmup_learning_rate: .013333 warmup_steps: 2000 } }
    momentum_optimizer_value: 0.9 }
    use_moving_average: false }
  data_augmentation_options { random_horizontal_flip { } }
  data_augmentation_options { random_adjust_hue { } }
}
train_input_reader: { tf_record_input_reader { input_path: "train.record" } }
eval_config: { metrics_set: "coco_detection_metrics" batch_size: 1; }
"""


def test_a_tf2_fpn_config_maps_exactly_where_model_garden_can(tmp_path):
    (tmp_path / "train.record").write_bytes(b"")
    path = tmp_path / "fpn.config"
    path.write_text(TF2_FPN)
    mapping, report = imported(path)
    v = mapping.overrides
    # Multiscale anchors are Model Garden's own scheme: copied as they are.
    assert (get(v, "task.model.min_level"), get(v, "task.model.max_level"),
            get(v, "task.model.anchor.anchor_size"),
            get(v, "task.model.anchor.num_scales")) == (2, 6, 4.0, 2)
    assert get(v, "task.model.input_size") == [640, 640, 3]
    assert get(v, "task.model.detection_head.class_agnostic_bbox_pred")
    assert get(v, "task.model.norm_activation.activation") == "relu6"
    assert get(v, "task.model.norm_activation.norm_momentum") == 0.997
    assert get(v, "task.losses.l2_weight_decay") == 0.0004
    lr = get(v, "trainer.optimizer_config")
    assert lr["learning_rate"] == {"type": "cosine", "cosine": {
        "initial_learning_rate": 0.04, "decay_steps": 23000,
        "offset": 2000, "alpha": 0.0}}
    assert lr["warmup"] == {"type": "linear", "linear": {
        "warmup_steps": 2000, "warmup_learning_rate": 0.013333}}
    assert get(v, "runtime.mixed_precision_dtype") == "bfloat16"
    # No eval reader: the training records are evaluated.
    assert get(v, "task.validation_data.input_path") == str(
        tmp_path / "train.record")
    status = {e.path.rsplit(".", 1)[-1]: e.status for e in report.entries}
    assert status["type"] == "honoured"
    assert status["min_dimension"] == "honoured"
    assert status["anchor_scale"] == "honoured"
    assert status["use_static_shapes"] == "honoured"
    assert status["random_adjust_hue"] == "not supported"
    # 0.0004 of the FPN layers becomes the one weight decay: said so.
    (decays,) = [e for e in report.entries
                 if e.path.endswith("extractor.conv_hyperparams.regularizer."
                                    "l2_regularizer.weight")]
    assert decays.status == "approximated"


def test_anchor_sizes_off_the_octaves_are_approximated(tmp_path):
    text = (FIXTURES / "faster_rcnn_inception_v2_pets.config").read_text()
    text = text.replace("scales: [0.25, 0.5, 1.0, 2.0]",
                        "scales: [0.5, 0.75, 1.0]")
    path = place(tmp_path, "odd.config", text, records=PETS_RECORDS)
    mapping, report = imported(path)
    # 128, 192, 256 px: 128 = 8 x 2^4, then octaves 128, 256 (P4-P5).
    assert (get(mapping.overrides, "task.model.min_level"),
            get(mapping.overrides, "task.model.max_level")) == (4, 5)
    assert "nearest octaves" in entries(report, ".scales")[0].note


def test_import_yaml_comments_name_the_source_lines(pets):
    mapping, _ = pets
    text = mapping.to_yaml("header")
    assert "num_classes: 38  # model.faster_rcnn.num_classes 37 + " \
           "background (line 8)" in text
    assert yaml.safe_load(text) == mapping.overrides


def test_compare_reads_the_records_of_an_imported_config(pets, tmp_path):
    """`compare --config X.config` imports it to a Model Garden YAML; its
    input readers' records become the comparison's data."""
    from keras_boxloss.cli.compare import _config_data

    mapping, _ = pets
    path = tmp_path / "imported.yaml"
    path.write_text(mapping.to_yaml())
    assert _config_data(str(path)) == (
        str(tmp_path / "data" / "pet_train.record"),
        str(tmp_path / "data" / "pet_val.record"))
    # The repository's own Model Garden YAMLs name no records: unchanged.
    assert _config_data(str(PAPER_YAML)) == (None, None)


def test_graph_rewriter_is_said_not_supported_for_faster_rcnn(tmp_path):
    """A top-level field, whichever the architecture: quantized model zoo
    configs carry graph_rewriter { quantization { ... } }."""
    from keras_boxloss.odapi.accounting import NOT_MAPPED
    from keras_boxloss.odapi.convert import import_pipeline

    text = (FIXTURES / "faster_rcnn_resnet50_coco.config").read_text() + (
        "graph_rewriter {\n  quantization {\n    delay: 48000\n"
        "    weight_bits: 8\n    activation_bits: 8\n  }\n}\n")
    path = place(tmp_path, "quantized.config", text=text,
                 records=("mscoco_train.record-00000-of-00100",
                          "mscoco_val.record-00000-of-00010"))
    report = import_pipeline(path).report
    (rewriter,) = [e for e in report.entries if e.path == "graph_rewriter"]
    assert rewriter.status == "not supported"
    assert "quantization" in rewriter.note
    assert not [e for e in report.entries
                if e.path.startswith("graph_rewriter") and
                e.note == NOT_MAPPED]
