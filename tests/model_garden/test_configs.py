"""The config subclass, its experiment and its strict validation."""

import subprocess
import sys

import pytest

pytest.importorskip("official.vision")

from official.core import exp_factory  # noqa: E402
from official.modeling import hyperparams  # noqa: E402

from keras_boxloss.model_garden import configs  # noqa: E402
from keras_boxloss.model_garden import registry_imports  # noqa: E402,F401
from tests.model_garden.conftest import CONFIG_DIR  # noqa: E402


def _params(**losses):
    params = exp_factory.get_exp_config(configs.EXPERIMENT)
    params.override({"task": losses})
    return params


def test_experiment_is_stock_faster_rcnn_plus_box_losses_and_label_map():
    ours = exp_factory.get_exp_config(configs.EXPERIMENT).as_dict()
    stock = exp_factory.get_exp_config("fasterrcnn_resnetfpn_coco").as_dict()
    for stage in configs.STAGES:
        assert ours["task"].pop(stage) == configs.BoxLossConfig().as_dict()
    assert ours["task"].pop("label_map") == ""  # the records' own
    assert ours == stock


@pytest.mark.parametrize("path", sorted(CONFIG_DIR.glob("*.yaml")),
                         ids=lambda p: p.name)
def test_shipped_yaml_configs_parse_strictly_and_validate(path):
    params = exp_factory.get_exp_config(configs.EXPERIMENT)
    params = hyperparams.override_params_dict(params, str(path),
                                              is_strict=True)
    params.validate()
    configs.check_box_loss_configs(params.task)
    assert "Expected:" in path.read_text()  # each states its target metric


def test_misspelt_loss_type_is_an_error_naming_field_and_value():
    params = _params(frcnn_box_loss={"type": "smoth_iou"})
    with pytest.raises(ValueError, match=r"Expected `task\.frcnn_box_loss"
                       r"\.type` to be one of .*smooth_iou.*Received: "
                       r"type='smoth_iou'"):
        configs.check_box_loss_configs(params.task)


def test_misspelt_key_is_a_key_error_naming_it():
    params = exp_factory.get_exp_config(configs.EXPERIMENT)
    with pytest.raises(KeyError, match="lamda_weight"):
        params.override({"task": {"rpn_box_loss": {"lamda_weight": 0.5}}})


@pytest.mark.parametrize("stage,fields,message", [
    ("rpn_box_loss", {"normalizer": "anchors"}, r"rpn_box_loss\.normalizer"),
    ("rpn_box_loss", {"type": "huber", "delta": -1.0},
     r"rpn_box_loss\.delta` to be a finite number > 0"),
    ("frcnn_box_loss", {"type": "giou", "delta": 1.0},
     r"frcnn_box_loss\.delta` to be None for type 'giou'"),
    ("frcnn_box_loss", {"type": "huber", "lambda_weight": 0.5},
     r"frcnn_box_loss\.lambda_weight` to be None for type 'huber'"),
    ("frcnn_box_loss", {"type": "smooth_iou", "lambda_weight": 1.5},
     r"lambda_weight` to be a number in \[0, 1\]"),
    ("frcnn_box_loss", {"type": "ciou", "eps": 0.0}, r"frcnn_box_loss\.eps"),
])
def test_bad_values_are_errors_naming_the_field(stage, fields, message):
    params = _params(**{stage: fields})
    with pytest.raises(ValueError, match=message):
        configs.check_box_loss_configs(params.task)


def test_task_construction_validates():
    from official.core import task_factory

    params = _params(rpn_box_loss={"type": "xiou"})
    with pytest.raises(ValueError, match=r"task\.rpn_box_loss\.type"):
        task_factory.get_task(params.task)


def test_cascade_is_refused():
    params = exp_factory.get_exp_config(configs.EXPERIMENT)
    params.override({"task": {"model": {"roi_sampler": {
        "cascade_iou_thresholds": [0.6]}}}})
    with pytest.raises(ValueError, match="cascade_iou_thresholds"):
        configs.check_box_loss_configs(params.task)


def test_stock_config_rejects_our_fields():
    params = exp_factory.get_exp_config("fasterrcnn_resnetfpn_coco")
    with pytest.raises(KeyError, match="frcnn_box_loss"):
        params.override({"task": {"frcnn_box_loss": {"type": "giou"}}})


def test_build_box_loss_uses_the_stage_delta_unless_set():
    params = _params(rpn_box_loss={"type": "smooth_iou"},
                     frcnn_box_loss={"type": "huber", "delta": 0.5})
    rpn = configs.build_box_loss(params.task.rpn_box_loss, 1.0 / 9.0)
    frcnn = configs.build_box_loss(params.task.frcnn_box_loss, 1.0)
    assert rpn.get_config()["delta"] == pytest.approx(1.0 / 9.0)
    assert frcnn.get_config()["delta"] == 0.5


def test_import_keras_boxloss_stays_free_of_model_garden():
    code = ("import sys, keras_boxloss, keras_boxloss.cli.main as m; "
            "m.build_parser(); "
            "bad = [n for n in sys.modules if n.split('.')[0] in "
            "('official', 'tf_keras')]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_issue_18_types_build_with_their_stage_arguments():
    params = _params(rpn_box_loss={"type": "balanced_l1"},
                     frcnn_box_loss={"type": "mpdiou"})
    configs.check_box_loss_configs(params.task)
    rpn = configs.build_box_loss(params.task.rpn_box_loss, 1.0 / 9.0)
    input_size = params.task.model.input_size[:2]
    frcnn = configs.build_box_loss(params.task.frcnn_box_loss, 1.0,
                                   input_size)
    assert type(rpn).__name__ == "BalancedL1"  # no eps: it takes none
    assert frcnn.get_config()["image_size"] == [
        float(s) for s in input_size]
    # the distance losses decode against real anchors/RoIs, Inner-IoU (base
    # "iou") and Balanced L1 do not need them
    assert {"mpdiou", "nwd", "shape_iou"} <= set(configs.ANCHORED_TYPES)
    assert not {"inner_iou", "balanced_l1"} & set(configs.ANCHORED_TYPES)
