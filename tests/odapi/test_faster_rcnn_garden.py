"""An imported Faster R-CNN pipeline.config inside Model Garden: the
overrides load strictly, the learning rates are the OD API's formulas, and
`keras-boxloss garden-train --config_file=X.config` trains a few steps."""

import math

import pytest

pytest.importorskip("official.vision")

from keras_boxloss.cli.main import main  # noqa: E402
from tests.model_garden.conftest import generated_records  # noqa: E402,F401
from tests.odapi.test_faster_rcnn import (FIXTURES, PETS_RECORDS,  # noqa: E402
                                          TF2_FPN, imported, place)


def _schedule(overrides):
    from official.modeling.optimization import OptimizerFactory

    from keras_boxloss.model_garden.odapi_config import params_from_overrides

    params = params_from_overrides(overrides)
    return OptimizerFactory(params.trainer.optimizer_config) \
        .build_learning_rate()


def _od_api_cosine(step, base=0.04, total=25000, warmup_lr=0.013333,
                   warmup=2000):
    """The OD API's cosine_decay_with_warmup (utils/learning_schedules.py),
    written out: linear warmup, then a half cosine to 0 at total_steps."""
    if step > total:
        return 0.0
    if step < warmup:
        return warmup_lr + (base - warmup_lr) / warmup * step
    return 0.5 * base * (1 + math.cos(math.pi * (step - warmup)
                                      / (total - warmup)))


def test_cosine_with_warmup_is_the_od_api_formula(tmp_path):
    (tmp_path / "train.record").write_bytes(b"")
    path = tmp_path / "fpn.config"
    path.write_text(TF2_FPN)
    mapping, _ = imported(path)
    schedule = _schedule(mapping.overrides)
    for step in (0, 1, 1000, 1999, 2000, 2001, 12000, 24999, 25000, 30000):
        assert float(schedule(step)) == pytest.approx(
            _od_api_cosine(step), rel=1e-5, abs=1e-9), step


def test_manual_steps_with_warmup_are_the_od_api_rates(tmp_path):
    text = (FIXTURES / "faster_rcnn_resnet50_coco.config").read_text()
    text = text.replace("initial_learning_rate: 0.0003",
                        "initial_learning_rate: 0.0001\n          warmup: true")
    path = place(tmp_path, "coco.config", text, records=(
        "mscoco_train.record-00000-of-00100",
        "mscoco_val.record-00000-of-00010"))
    mapping, _ = imported(path)
    schedule = _schedule(mapping.overrides)
    # OD API manual_stepping with warmup: 1e-4 rising linearly to 3e-5 at
    # step 900000 (interpolated per step), then 3e-5, then 3e-6 from 1.2M.
    expected = {0: 1e-4, 450000: 1e-4 + (3e-5 - 1e-4) * 0.5,
                900000: 3e-5, 1199999: 3e-5, 1200000: 3e-6}
    for step, rate in expected.items():
        assert float(schedule(step)) == pytest.approx(rate, rel=1e-5), step


def test_the_imported_yaml_loads_strictly_in_model_garden(tmp_path):
    from keras_boxloss.model_garden.odapi_config import import_pipeline

    path = place(tmp_path, "faster_rcnn_inception_v2_pets.config",
                 records=PETS_RECORDS)
    printed = []
    target = import_pipeline(path, tmp_path / "out", echo=printed.append)
    from keras_boxloss.model_garden.export import load_params

    params = load_params("fasterrcnn_resnetfpn_boxloss", [target])
    assert params.task.model.input_size == [832, 832, 3]
    assert params.task.rpn_box_loss.normalizer == "boxes"
    assert "feature_extractor.type: approximated" in printed[0]
    assert "fields honoured" in printed[0]


CPU = """
# ResNet-18 FPN, 128 px, float32, a few steps: for the CPU test only.
task:
  model:
    input_size: [128, 128, 3]
    backbone: {type: resnet, resnet: {model_id: 18}}
    decoder: {type: fpn, fpn: {num_filters: 32}}
    rpn_head: {num_filters: 32}
    detection_head: {num_convs: 0, num_fcs: 1, fc_dims: 64}
    roi_generator: {pre_nms_top_k: 200, num_proposals: 50,
                    test_pre_nms_top_k: 200, test_num_proposals: 50}
    roi_sampler: {num_sampled_rois: 32}
    detection_generator: {max_num_detections: 20}
    norm_activation: {use_sync_bn: false}
  train_data: {global_batch_size: 2, dtype: float32,
               parser: {max_num_instances: 8}}
  validation_data: {global_batch_size: 2, dtype: float32,
                    parser: {max_num_instances: 8}}
runtime: {mixed_precision_dtype: float32}
trainer:
  train_steps: 2
  steps_per_loop: 2
  summary_interval: 2
  checkpoint_interval: 2
  validation_interval: 2
  validation_steps: 1
"""


def test_garden_train_trains_from_a_sample_style_pipeline_config(
        tmp_path, generated_records):
    """The pets-shaped config with the generated records as its data (no
    fine_tune_checkpoint: from scratch), CPU sizes from a second
    --config_file, 2 training steps (evaluation is Model Garden's own,
    tested in tests/model_garden)."""
    text = (FIXTURES / "faster_rcnn_inception_v2_pets.config").read_text()
    text = (text.replace('fine_tune_checkpoint: "PATH_TO_BE_CONFIGURED/'
                         'model.ckpt"', "")
            .replace("PATH_TO_BE_CONFIGURED/pet_train.record",
                     generated_records["train"])
            .replace("PATH_TO_BE_CONFIGURED/pet_val.record",
                     generated_records["val"])
            .replace("PATH_TO_BE_CONFIGURED/pet_label_map.pbtxt",
                     generated_records["label_map"]))
    config = tmp_path / "pets.config"
    config.write_text(text)
    cpu = tmp_path / "cpu.yaml"
    cpu.write_text(CPU)
    model_dir = tmp_path / "model"
    code = main(["garden-train", "--experiment=fasterrcnn_resnetfpn_boxloss",
                 f"--config_file={config}", f"--config_file={cpu}",
                 "--mode=train", f"--model_dir={model_dir}"])
    assert code == 0
    assert (model_dir / "ckpt-2.index").exists()
    assert (model_dir / "pipeline_garden.yaml").exists()
    params = (model_dir / "params.yaml").read_text()
    # From the pipeline.config (not the CPU file): its anchors and weights.
    assert "anchor_size: 8.0" in params and "rpn_box_weight: 2.0" in params
    assert "normalizer: boxes" in params


def test_garden_export_config_files_import_a_pipeline_config(tmp_path):
    from keras_boxloss.model_garden.export import load_params
    from keras_boxloss.model_garden.odapi_config import imported_config_files

    path = place(tmp_path, "faster_rcnn_resnet101_pets.config", records=(
        "pet_faces_train.record-00000-of-00010",
        "pet_faces_val.record-00000-of-00010"))
    yaml_file = tmp_path / "other.yaml"
    yaml_file.write_text("task: {model: {input_size: [256, 256, 3]}}\n")
    files = imported_config_files([str(path), str(yaml_file)],
                                  tmp_path / "out", echo=lambda text: None)
    assert files[1] == str(yaml_file) and files[0].endswith(".yaml")
    params = load_params("fasterrcnn_resnetfpn_boxloss", files)
    assert params.task.model.backbone.resnet.model_id == 101
    assert params.task.model.input_size == [256, 256, 3]  # later file wins


@pytest.mark.slow
def test_compare_runs_a_pipeline_config_on_its_own_records(
        tmp_path, generated_records, monkeypatch):
    """`compare --config X.config`: imported, trained on the records its
    readers name (relative to the config), two losses x 2 steps (185 s on 2
    busy CPU cores)."""
    import json
    import os
    import shutil

    data = tmp_path / "data"
    shutil.copytree(os.path.dirname(generated_records["train"]), data)
    text = (FIXTURES / "faster_rcnn_inception_v2_pets.config").read_text()
    text = (text.replace('fine_tune_checkpoint: "PATH_TO_BE_CONFIGURED/'
                         'model.ckpt"', "")
            .replace("PATH_TO_BE_CONFIGURED/pet_train.record",
                     "data/train-*.tfrecord")
            .replace("PATH_TO_BE_CONFIGURED/pet_val.record",
                     "data/val-*.tfrecord")
            .replace("PATH_TO_BE_CONFIGURED/pet_label_map.pbtxt",
                     "data/label_map.pbtxt"))
    (tmp_path / "pets.config").write_text(text)
    monkeypatch.chdir(tmp_path)
    cpu = ["task.model.input_size=[128,128,3]",
           "task.model.backbone.resnet.model_id=18",
           "task.model.decoder.fpn.num_filters=32",
           "task.model.rpn_head.num_filters=32",
           "task.model.detection_head.num_convs=0",
           "task.model.detection_head.fc_dims=64",
           "task.model.roi_generator.pre_nms_top_k=200",
           "task.model.roi_generator.test_pre_nms_top_k=200",
           "task.model.roi_generator.num_proposals=50",
           "task.model.roi_generator.test_num_proposals=50",
           "task.train_data.global_batch_size=2",
           "task.model.norm_activation.use_sync_bn=false"]
    code = main(["compare", "--config", "pets.config", "--losses",
                 "huber,smooth_iou", "--seeds", "1", "--steps", "2",
                 "--curve-every", "2", "--no-progress", "--output-dir", "out",
                 *[arg for item in cpu for arg in ("--set", item)]])
    assert code == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["data"]["train"] == str(data / "train-*.tfrecord")
    assert {run["loss"] for run in summary["runs"]} == {"huber",
                                                         "smooth_iou"}
