"""Every box loss's own arguments can be set from a Model Garden config:
each reaches the built loss, misuse is an error naming the field."""

import pytest

pytest.importorskip("official.vision")

from official.core import exp_factory  # noqa: E402

from keras_boxloss.model_garden import configs  # noqa: E402
from keras_boxloss.model_garden import registry_imports  # noqa: E402,F401

# (type, fields set, what the built loss's get_config holds); values other
# than the losses' defaults, so that a dropped field fails.
CASES = [
    ("iou", {"mode": "log"}, {"mode": "log"}),
    ("focal_eiou", {"gamma": 1.5, "weight_gradient": True},
     {"gamma": 1.5, "weight_gradient": True}),
    ("alpha_iou", {"alpha": 2.0, "penalty": "giou"},
     {"alpha": 2.0, "penalty": "giou"}),
    ("siou", {"theta": 2.0}, {"theta": 2.0}),
    ("wiou", {"version": 3, "alpha": 1.5, "delta": 2.5, "momentum": 0.01,
              "iou_loss_mean": 0.7},
     {"version": 3, "alpha": 1.5, "delta": 2.5, "momentum": 0.01,
      "iou_loss_mean": pytest.approx(0.7)}),
    ("mpdiou", {"image_size": [600.0, 800.0]}, {"image_size": [600.0, 800.0]}),
    ("inner_iou", {"ratio": 1.25, "base": "ciou"},
     {"ratio": 1.25, "base": "ciou"}),
    ("shape_iou", {"scale": 0.5}, {"scale": 0.5}),
    ("nwd", {"constant": 6.4}, {"constant": 6.4}),
    ("balanced_l1", {"alpha": 0.25, "gamma": 1.0, "beta": 2.0},
     {"alpha": 0.25, "gamma": 1.0, "beta": 2.0}),
    ("smooth_iou", {"delta": 0.5, "lambda_weight": 0.3,
                    "lambda_gradient": True},
     {"delta": 0.5, "lambda_weight": 0.3, "lambda_gradient": True}),
    ("giou", {"eps": 1e-6}, {"eps": 1e-6}),
]


def _params(**losses):
    params = exp_factory.get_exp_config(configs.EXPERIMENT)
    params.override({"task": losses})
    return params


@pytest.mark.parametrize("loss_type,fields,expected", CASES,
                         ids=[case[0] for case in CASES])
def test_each_field_reaches_the_loss(loss_type, fields, expected):
    params = _params(frcnn_box_loss={"type": loss_type, **fields})
    configs.check_box_loss_configs(params.task)
    loss = configs.build_box_loss(params.task.frcnn_box_loss, 1.0,
                                  image_size=(64, 64))
    config = loss.get_config()
    for name, value in expected.items():
        assert config[name] == value, name


def test_unset_fields_are_the_losses_defaults():
    from keras_boxloss.losses.registry import BOX_LOSSES

    for loss_type in ("focal_eiou", "alpha_iou", "siou", "wiou",
                      "inner_iou", "shape_iou", "nwd", "balanced_l1"):
        params = _params(frcnn_box_loss={"type": loss_type})
        configs.check_box_loss_configs(params.task)
        built = configs.build_box_loss(params.task.frcnn_box_loss, 1.0)
        default = BOX_LOSSES[loss_type]().get_config()
        assert built.get_config() == default, loss_type


def test_mpdiou_image_is_the_input_size_unless_set():
    params = _params(frcnn_box_loss={"type": "mpdiou"})
    loss = configs.build_box_loss(params.task.frcnn_box_loss, 1.0,
                                  image_size=(480, 640))
    assert loss.get_config()["image_size"] == [480.0, 640.0]


def test_wiou_delta_is_wious_not_the_stage_huber_delta():
    params = _params(rpn_box_loss={"type": "wiou", "version": 3})
    loss = configs.build_box_loss(params.task.rpn_box_loss, 1.0 / 9.0)
    assert loss.get_config()["delta"] == 3.0


@pytest.mark.parametrize("loss_type,field,value,takers", [
    ("giou", "gamma", 2.0, "focal_eiou, balanced_l1"),
    ("huber", "theta", 2.0, "siou"),
    ("ciou", "constant", 1.0, "nwd"),
    ("nwd", "image_size", [1.0, 1.0], "mpdiou"),
    ("iou", "delta", 1.0, "huber, smooth_iou, wiou"),
    ("diou", "weight_gradient", False, "focal_eiou"),
    ("eiou", "lambda_gradient", True, "smooth_iou"),
])
def test_a_field_the_type_does_not_take_is_an_error(loss_type, field, value,
                                                    takers):
    params = _params(rpn_box_loss={"type": loss_type, field: value})
    with pytest.raises(ValueError) as error:
        configs.check_box_loss_configs(params.task)
    message = str(error.value)
    assert message.startswith(f"Expected `task.rpn_box_loss.{field}` to be ")
    assert f"for type {loss_type!r} (taken by {takers})" in message
    assert f"Received: {field}={value!r}" in message


@pytest.mark.parametrize("loss_type,field,value", [
    ("focal_eiou", "gamma", -1.0),
    ("alpha_iou", "penalty", "eiou"),
    ("siou", "theta", 0.0),
    ("wiou", "version", 2),
    ("wiou", "momentum", 1.5),
    ("mpdiou", "image_size", [0.0, 10.0]),
    ("inner_iou", "base", "mpdiou"),
    ("shape_iou", "scale", -0.5),
    ("nwd", "constant", 0.0),
    ("balanced_l1", "beta", -2.0),
])
def test_a_bad_value_is_the_losses_error_naming_the_field(loss_type, field,
                                                          value):
    params = _params(frcnn_box_loss={"type": loss_type, field: value})
    with pytest.raises(ValueError,
                       match=rf"^Expected `task\.frcnn_box_loss\.{field}`.*"
                             rf"Received: {field}="):
        configs.check_box_loss_configs(params.task)


def test_types_taking_reads_the_constructors():
    assert configs.types_taking("gamma") == ("focal_eiou", "balanced_l1")
    assert configs.types_taking("constant") == ("nwd",)
    for name in configs.LOSS_ARGUMENTS:
        assert configs.types_taking(name), name


@pytest.mark.parametrize("fields,needs_rois", [
    ({"type": "alpha_iou", "penalty": "giou"}, False),
    ({"type": "alpha_iou", "penalty": "ciou"}, True),
    ({"type": "inner_iou"}, False),
    ({"type": "inner_iou", "base": "diou"}, True),
])
def test_an_argument_can_decide_that_the_second_stage_needs_rois(
        fields, needs_rois):
    from official.core import task_factory

    task = task_factory.get_task(_params(frcnn_box_loss=fields).task)
    assert task.needs_rois is needs_rois
