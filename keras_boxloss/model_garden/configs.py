"""Config: Model Garden's MaskRCNN task config plus a box loss per stage.

`task.rpn_box_loss` and `task.frcnn_box_loss` each hold a `BoxLossConfig`:

| field | meaning |
|---|---|
| `type` | `huber`, `iou`, `giou`, `diou`, `ciou`, `smooth_iou`, `mpdiou`, `inner_iou`, `shape_iou`, `nwd` or `balanced_l1` (their own arguments at their defaults, except `mpdiou`'s image: the model's `input_size`, the pixels the anchors and RoIs are in) |
| `delta` | Huber delta (`huber`, `smooth_iou`); None: the stage's Model Garden delta, `losses.rpn_huber_loss_delta` or `losses.frcnn_huber_loss_delta` |
| `lambda_weight`, `lambda_gradient` | `smooth_iou` only (see `keras_boxloss.losses.smooth_iou`) |
| `eps` | the IoU denominators' eps (all but `huber` and `balanced_l1`) |
| `normalizer` | `coordinates`: sum over foreground boxes / (4 x count + 0.01), Model Garden's; `boxes`: / (count + 0.01), the TF OD API's per-box convention |

The defaults (`huber`, Model Garden's deltas, `coordinates`) give exactly
Model Garden's losses. Fields are checked by `check_box_loss_configs` when
the task is built: a wrong value raises a ValueError naming the field; a
misspelt key is already a KeyError of Model Garden's strict config parsing.
"""

import dataclasses
import math
from typing import Optional

from official.core import config_definitions as cfg
from official.core import exp_factory
from official.modeling import hyperparams
from official.vision.configs import maskrcnn as maskrcnn_config

from keras_boxloss.losses.registry import BOX_LOSSES, get_box_loss

EXPERIMENT = "fasterrcnn_resnetfpn_boxloss"
STAGES = ("rpn_box_loss", "frcnn_box_loss")
NORMALIZERS = ("coordinates", "boxes")
# Types with a Huber term (a `delta`), and types that need the real anchors
# (RPN) or RoIs (second stage): the rest are invariant and use the deltas.
HUBER_TYPES = ("huber", "smooth_iou")
# Types that compare the deltas as given: no box arguments, no `eps`.
COORDINATE_TYPES = ("huber", "balanced_l1")
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


@dataclasses.dataclass
class BoxLossMaskRCNNTask(maskrcnn_config.MaskRCNNTask):
    rpn_box_loss: BoxLossConfig = dataclasses.field(
        default_factory=BoxLossConfig)
    frcnn_box_loss: BoxLossConfig = dataclasses.field(
        default_factory=BoxLossConfig)


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
    if loss.type in HUBER_TYPES:
        _positive(f"{prefix}.delta", loss.delta, allow_none=True)
    elif loss.delta is not None:
        _fail(f"{prefix}.delta", f"to be None for type {loss.type!r} "
              f"(no Huber term)", loss.delta)
    if loss.type == "smooth_iou":
        _check_number(f"{prefix}.lambda_weight", loss.lambda_weight,
                      "a number in [0, 1]", lambda v: 0 <= v <= 1,
                      allow_none=True)
        if not isinstance(loss.lambda_gradient, bool):
            _fail(f"{prefix}.lambda_gradient", "to be true or false",
                  loss.lambda_gradient)
    else:
        for name, default in (("lambda_weight", None),
                              ("lambda_gradient", False)):
            if getattr(loss, name) != default:
                _fail(f"{prefix}.{name}", f"to be {default} for type "
                      f"{loss.type!r} (smooth_iou only)", getattr(loss, name))


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
    """The library loss object of a checked `BoxLossConfig`; `huber_delta`
    is the stage's Model Garden delta, used when `loss.delta` is None, and
    `image_size` (height, width), the model's input size, is `mpdiou`'s
    image (Model Garden's anchors and RoIs are in its pixels)."""
    kwargs = {}
    if loss.type in HUBER_TYPES:
        kwargs["delta"] = huber_delta if loss.delta is None else loss.delta
    if loss.type not in COORDINATE_TYPES:
        kwargs["eps"] = loss.eps
    if loss.type == "mpdiou" and image_size is not None:
        kwargs["image_size"] = tuple(image_size)
    if loss.type == "smooth_iou":
        kwargs.update(lambda_weight=loss.lambda_weight,
                      lambda_gradient=loss.lambda_gradient)
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
