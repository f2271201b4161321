"""Config: Model Garden's MaskRCNN task config plus a box loss per stage.

`task.rpn_box_loss` and `task.frcnn_box_loss` each hold a `BoxLossConfig`:

| field | meaning |
|---|---|
| `type` | any registered box loss (`keras_boxloss.losses.registry.BOX_LOSSES`, see docs/losses.md) |
| `normalizer` | `coordinates`: sum over foreground boxes / (4 x count + 0.01), Model Garden's; `boxes`: / (count + 0.01), the TF OD API's per-box convention |
| `eps` | the IoU denominators' eps (every type but `huber` and `balanced_l1`) |
| `delta` | Huber delta (`huber`, `smooth_iou`; None: the stage's Model Garden delta, `losses.rpn_huber_loss_delta` or `losses.frcnn_huber_loss_delta`) or WIoU v3's delta (`wiou`) |
| any other field (`LOSS_ARGUMENTS`) | the loss's constructor argument of that name, for the types whose constructor takes it; None (False for `lambda_gradient`): the loss's default |

The loss arguments: `mode` (`iou`), `lambda_weight`, `lambda_gradient`
(`smooth_iou`), `gamma` (`focal_eiou`, `balanced_l1`), `weight_gradient`
(`focal_eiou`), `alpha` (`alpha_iou`, `wiou`, `balanced_l1`), `penalty`
(`alpha_iou`), `theta` (`siou`), `version`, `momentum`, `iou_loss_mean`
(`wiou`), `image_size` (`mpdiou`; None: the model's `input_size`, the
pixels the anchors and RoIs are in), `ratio`, `base` (`inner_iou`),
`scale` (`shape_iou`), `constant` (`nwd`; boxes are decoded to pixels
here, so the default 12.8 is the paper's 12.8 pixels), `beta`
(`balanced_l1`). Which types take an argument is read from the registered
loss's constructor.

The defaults (`huber`, Model Garden's deltas, `coordinates`) give exactly
Model Garden's losses. Fields are checked by `check_box_loss_configs` when
the task is built: a wrong value, or an argument set for a type that does
not take it, raises a ValueError naming the field; a misspelt key is
already a KeyError of Model Garden's strict config parsing.
"""

import dataclasses
import inspect
import math
from typing import List, Optional

from official.core import config_definitions as cfg
from official.core import exp_factory
from official.modeling import hyperparams
from official.vision.configs import maskrcnn as maskrcnn_config

from keras_boxloss.losses.registry import BOX_LOSSES, get_box_loss

EXPERIMENT = "fasterrcnn_resnetfpn_boxloss"
STAGES = ("rpn_box_loss", "frcnn_box_loss")
NORMALIZERS = ("coordinates", "boxes")
# Types with a Huber term: their `delta` defaults to the stage's.
HUBER_TYPES = ("huber", "smooth_iou")
# Types that need the real anchors (RPN) or RoIs (second stage) at their
# defaults; the rest are invariant and use the deltas. Some arguments change
# it (`alpha_iou`'s penalty, `inner_iou`'s base): the task asks the built
# loss (`requires_anchors`).
ANCHORED_TYPES = tuple(name for name, cls in BOX_LOSSES.items()
                       if getattr(cls, "requires_anchors", False))


@dataclasses.dataclass
class BoxLossConfig(hyperparams.Config):
    type: str = "huber"
    delta: Optional[float] = None
    lambda_weight: Optional[float] = None
    lambda_gradient: bool = False
    eps: float = 1e-7
    normalizer: str = "coordinates"
    # The loss's own arguments, None = its default (see the table above).
    mode: Optional[str] = None
    gamma: Optional[float] = None
    weight_gradient: Optional[bool] = None
    alpha: Optional[float] = None
    penalty: Optional[str] = None
    theta: Optional[float] = None
    version: Optional[int] = None
    momentum: Optional[float] = None
    iou_loss_mean: Optional[float] = None
    image_size: Optional[List[float]] = None
    ratio: Optional[float] = None
    base: Optional[str] = None
    scale: Optional[float] = None
    constant: Optional[float] = None
    beta: Optional[float] = None


# The fields that are a loss constructor's arguments of the same name.
LOSS_ARGUMENTS = ("delta", "lambda_weight", "lambda_gradient", "mode",
                  "gamma", "weight_gradient", "alpha", "penalty", "theta",
                  "version", "momentum", "iou_loss_mean", "image_size",
                  "ratio", "base", "scale", "constant", "beta")


def types_taking(argument):
    """The registered box losses whose constructor takes `argument`."""
    return tuple(name for name, cls in BOX_LOSSES.items()
                 if argument in inspect.signature(cls).parameters)


@dataclasses.dataclass
class BoxLossMaskRCNNTask(maskrcnn_config.MaskRCNNTask):
    rpn_box_loss: BoxLossConfig = dataclasses.field(
        default_factory=BoxLossConfig)
    frcnn_box_loss: BoxLossConfig = dataclasses.field(
        default_factory=BoxLossConfig)
    # The records' label map (.pbtxt), which their labels are checked
    # against before Model Garden reads them (`decoder.check_labels`);
    # empty: the `label_map.pbtxt` beside the records, when there is one.
    label_map: str = ""


def _fail(field, expected, value):
    raise ValueError(f"Expected `{field}` {expected}. "
                     f"Received: {field.rsplit('.', 1)[-1]}={value!r}")


def _check_number(field, value, expected, accept, allow_none=False):
    if value is None and allow_none:
        return
    if (isinstance(value, bool) or not isinstance(value, (int, float))
            or not math.isfinite(value) or not accept(value)):
        _fail(field, f"to be {expected}" + (" or None" if allow_none else ""),
              value)


def _positive(field, value, allow_none=False):
    _check_number(field, value, "a finite number > 0", lambda v: v > 0,
                  allow_none)


def check_box_loss_config(loss, prefix):
    """Checks one `BoxLossConfig`; `prefix` names it in errors
    (`task.frcnn_box_loss`)."""
    if loss.type not in BOX_LOSSES:
        _fail(f"{prefix}.type", f"to be one of {list(BOX_LOSSES)}",
              loss.type)
    if loss.normalizer not in NORMALIZERS:
        _fail(f"{prefix}.normalizer", f"to be one of {list(NORMALIZERS)}",
              loss.normalizer)
    _positive(f"{prefix}.eps", loss.eps)
    if loss.type == "smooth_iou":
        _check_number(f"{prefix}.lambda_weight", loss.lambda_weight,
                      "a number in [0, 1]", lambda v: 0 <= v <= 1,
                      allow_none=True)
        if not isinstance(loss.lambda_gradient, bool):
            _fail(f"{prefix}.lambda_gradient", "to be true or false",
                  loss.lambda_gradient)
    defaults = BoxLossConfig()
    for name in LOSS_ARGUMENTS:
        value, default = getattr(loss, name), getattr(defaults, name)
        types = types_taking(name)
        if value != default and loss.type not in types:
            _fail(f"{prefix}.{name}", f"to be {default} for type "
                  f"{loss.type!r} (taken by {', '.join(types)})", value)
    # The values: the loss's own constructor checks them (one check per
    # argument); its error names the field.
    try:
        build_box_loss(loss, huber_delta=1.0)
    except ValueError as error:
        message = str(error)
        if message.startswith("Expected `"):
            raise ValueError(message.replace("Expected `",
                                             f"Expected `{prefix}.", 1)) \
                from None
        raise ValueError(f"Invalid `{prefix}` (type {loss.type!r}): "
                         f"{message}") from None


def check_box_loss_configs(task_config):
    """Checks both stages' box losses of a `BoxLossMaskRCNNTask` config."""
    for stage in STAGES:
        check_box_loss_config(getattr(task_config, stage), f"task.{stage}")
    cascade = task_config.model.roi_sampler.cascade_iou_thresholds
    if cascade:
        _fail("task.model.roi_sampler.cascade_iou_thresholds",
              "to be None: the box-loss task supports one detection head "
              "(Faster R-CNN), not Cascade R-CNN", cascade)


def build_box_loss(loss, huber_delta, image_size=None):
    """The library loss object of a `BoxLossConfig`, through the loss's
    constructor: every argument field that is set, `eps` for the types that
    take it; `huber_delta` is the stage's Model Garden delta, used by the
    Huber types when `loss.delta` is None, and `image_size` (height, width),
    the model's input size, is `mpdiou`'s image when `loss.image_size` is
    None (Model Garden's anchors and RoIs are in its pixels)."""
    kwargs = {name: getattr(loss, name) for name in LOSS_ARGUMENTS
              if getattr(loss, name) is not None
              and loss.type in types_taking(name)}
    if loss.type in HUBER_TYPES and loss.delta is None:
        kwargs["delta"] = huber_delta
    if "eps" in inspect.signature(BOX_LOSSES[loss.type]).parameters:
        kwargs["eps"] = loss.eps
    if "image_size" in kwargs:
        kwargs["image_size"] = tuple(kwargs["image_size"])
    elif loss.type == "mpdiou" and image_size is not None:
        kwargs["image_size"] = tuple(image_size)
    return get_box_loss(loss.type, **kwargs)


@exp_factory.register_config_factory(EXPERIMENT)
def fasterrcnn_resnetfpn_boxloss() -> cfg.ExperimentConfig:
    """`fasterrcnn_resnetfpn_coco` with `task.rpn_box_loss` and
    `task.frcnn_box_loss` (Huber by default: the same experiment)."""
    base = maskrcnn_config.fasterrcnn_resnetfpn_coco()
    fields = dataclasses.fields(maskrcnn_config.MaskRCNNTask)
    task = BoxLossMaskRCNNTask(
        **{field.name: getattr(base.task, field.name) for field in fields})
    return cfg.ExperimentConfig(runtime=base.runtime, task=task,
                                trainer=base.trainer,
                                restrictions=base.restrictions)
