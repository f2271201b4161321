"""Detector experiment configs: strict dataclasses read from YAML.

The style of Model Garden's `hyperparams.Config` (nested dataclasses with
defaults, YAML files overriding them, dotted overrides on the command line)
without importing Model Garden here: a misspelt key is a `ValueError` naming
the key and the file, a value of the wrong type names the field.
"""

import dataclasses
import re
import typing
from pathlib import Path

# The lists of choices and defaults live with the code that uses them; the
# config imports them (one home each).
from keras_boxloss.backbones import BACKBONES
from keras_boxloss.data.pipeline import RESIZE_MODES
from keras_boxloss.losses.multibox_loss import CLASSIFICATIONS
from keras_boxloss.losses.yolo_v1_loss import CONFIDENCE_TARGETS
from keras_boxloss.ssd.anchors import (DEFAULT_ASPECT_RATIOS,
                                       DEFAULT_MAX_SCALE, DEFAULT_MIN_SCALE)
from keras_boxloss.training.validation import BEST_METRICS

DETECTORS = ("ssd", "yolo_v1")
# Choices that only the config names (train.py builds from them).
OPTIMIZERS = ("adam", "rmsprop", "sgd")
SCHEDULES = ("", "exponential", "manual_step", "cosine")
DISTRIBUTIONS = ("default", "mirrored", "multi_worker_mirrored")
# Keras dtype policies for `trainer.mixed_precision` ("" = float32).
MIXED_PRECISION = ("", "mixed_float16", "mixed_bfloat16")
# Numbers in exponent notation that PyYAML (YAML 1.1) reads as strings:
# `1e12`, `1e-4` (it wants `1.0e+12`). A float field takes them.
_EXPONENT_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


@dataclasses.dataclass
class ModelConfig:
    num_classes: int = 3
    image_size: int = 128
    backbone: str = "tiny"            # one of BACKBONES
    backbone_alpha: float = 1.0
    backbone_weights: str = ""        # a local weights file, never a download
    num_layers: int = 4
    min_scale: float = DEFAULT_MIN_SCALE
    max_scale: float = DEFAULT_MAX_SCALE
    aspect_ratios: typing.List[float] = dataclasses.field(
        default_factory=lambda: list(DEFAULT_ASPECT_RATIOS))
    reduce_boxes_in_lowest_layer: bool = True
    interpolated_scale_aspect_ratio: float = 1.0
    grid_size: int = 7                # yolo_v1: S
    boxes_per_cell: int = 2           # yolo_v1: B


@dataclasses.dataclass
class LossConfig:
    # "" = the detector's own (SSD: huber; YOLOv1: the paper's sqrt term),
    # or any registered box loss, see docs/losses.md (YOLOv1: IoU family)
    box_loss: str = ""
    box_loss_params: typing.Dict[str, typing.Any] = dataclasses.field(
        default_factory=dict)         # e.g. {delta: 1.0}
    classification: str = "softmax"   # one of CLASSIFICATIONS
    neg_pos_ratio: float = 3.0
    min_negatives_per_image: int = 0
    alpha: float = 1.0
    focal_alpha: float = 0.25         # sigmoid_focal's alpha
    focal_gamma: float = 2.0          # sigmoid_focal's gamma
    matched_threshold: float = 0.5
    unmatched_threshold: float = 0.5
    lambda_coord: float = 5.0         # yolo_v1
    lambda_noobj: float = 0.5         # yolo_v1
    confidence_target: str = "iou"    # yolo_v1: one of CONFIDENCE_TARGETS


@dataclasses.dataclass
class DataConfig:
    train: str = ""                   # TFRecord glob; "" = generated dataset
    validation: str = ""
    label_map: str = ""
    batch_size: int = 8
    resize_mode: str = "fixed"        # one of RESIZE_MODES
    augment: bool = True
    max_boxes: int = 100
    shuffle_buffer: int = 256


@dataclasses.dataclass
class OptimizerConfig:
    type: str = "adam"                # one of OPTIMIZERS
    learning_rate: float = 0.001
    decay_rate: float = 1.0           # exponential decay factor
    decay_steps: int = 1000
    momentum: float = 0.9
    rho: float = 0.9
    epsilon: float = 1e-7
    # "" = constant, or exponential (staircase) when decay_rate != 1 (as
    # before); exponential (with staircase, burn-in = warmup_*, floor),
    # manual_step, cosine: the TF OD API's (keras_boxloss.training.schedules)
    schedule: str = ""
    staircase: bool = True            # exponential
    boundaries: typing.List[int] = dataclasses.field(
        default_factory=list)         # manual_step: steps where the rate
    rates: typing.List[float] = dataclasses.field(
        default_factory=list)         # ... changes to these
    total_steps: int = 0              # cosine
    hold_base_rate_steps: int = 0     # cosine
    warmup_steps: int = 0             # cosine: linear warmup from
    warmup_learning_rate: float = 0.0  # this; exponential: burn-in rate
    warmup: bool = False              # manual_step: linear to rates[0]
    min_learning_rate: float = 0.0    # exponential: the floor
    global_clipnorm: float = 0.0      # 0 = no gradient clipping


@dataclasses.dataclass
class TrainerConfig:
    steps: int = 200
    steps_per_epoch: int = 50         # checkpoints and logs every epoch
    jit_compile: bool = True
    seed: int = 0
    distribution: str = "default"     # one of DISTRIBUTIONS
    # Keras weights of this same detector (a `.weights.h5`, or a train
    # output folder) to start from; "" = from scratch
    fine_tune_checkpoint: str = ""
    # "" (float32) | mixed_float16 (with loss scaling) | mixed_bfloat16:
    # the training model's compute dtype; losses stay float32
    mixed_precision: str = ""
    # Validation while training (training/validation.py): 0 = at the end
    # of every epoch (steps_per_epoch), N = every N steps, -1 = never
    eval_every_steps: int = 0
    # the metric that picks `best/`: one of BEST_METRICS, higher is better
    best_metric: str = "AP50"
    # evaluations in a row without a better best_metric that stop
    # training; 0 = never stop early
    early_stopping_patience: int = 0


@dataclasses.dataclass
class PostprocessConfig:
    """Detections (predict, evaluate, export): per-class NMS."""
    score_threshold: float = 0.01
    iou_threshold: float = 0.6
    max_detections_per_class: int = 100
    max_total_detections: int = 100


@dataclasses.dataclass
class DetectorConfig:
    detector: str = "ssd"
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    loss: LossConfig = dataclasses.field(default_factory=LossConfig)
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    optimizer: OptimizerConfig = dataclasses.field(
        default_factory=OptimizerConfig)
    trainer: TrainerConfig = dataclasses.field(default_factory=TrainerConfig)
    postprocess: PostprocessConfig = dataclasses.field(
        default_factory=PostprocessConfig)


def _coerce(value, kind, where):
    origin = typing.get_origin(kind)
    if dataclasses.is_dataclass(kind):
        if not isinstance(value, dict):
            raise ValueError(f"Expected a mapping at {where}. "
                             f"Received: {value!r}")
        return _build(kind, value, where)
    if origin is list:
        if not isinstance(value, list):
            raise ValueError(f"Expected a list at {where}. Received: "
                             f"{value!r}")
        (item,) = typing.get_args(kind)
        return [_coerce(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ValueError(f"Expected a mapping at {where}. Received: "
                             f"{value!r}")
        return dict(value)
    if kind is typing.Any:
        return value
    if kind is float and isinstance(value, int) and not isinstance(value,
                                                                   bool):
        return float(value)
    if kind is float and isinstance(value, str) and \
            _EXPONENT_NUMBER.fullmatch(value.strip()):
        return float(value)
    if kind is str and value is None:  # `label_map:` or --set x.label_map=
        return ""                      # "" is every text field's unset
    if not isinstance(value, kind) or (kind is int and isinstance(value,
                                                                  bool)):
        raise ValueError(f"Expected {kind.__name__} at {where}. "
                         f"Received: {value!r}")
    return value


def _build(cls, values, where):
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ValueError(
            f"Unknown key {where}.{unknown[0]} (expected one of "
            f"{sorted(fields)}). Received: {unknown[0]}={values[unknown[0]]!r}"
            .replace("<root>.", ""))
    kwargs = {name: _coerce(value, hints[name], f"{where}.{name}".replace(
        "<root>.", "")) for name, value in values.items()}
    return cls(**kwargs)


def _set_dotted(values, key, text):
    import yaml

    parts = key.split(".")
    node = values
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ValueError(f"Expected `{key}` to name a field. "
                             f"Received: {key}={text}")
    node[parts[-1]] = yaml.safe_load(text)


def load_config(path=None, overrides=(), for_training: bool = True):
    """Reads a detector config: defaults, then the YAML file, then `overrides`
    (`"trainer.steps=100"`). Raises `ValueError` naming a bad key or value
    and the file. A TF OD API pipeline.config (recognised by its content)
    is converted (`keras_boxloss.odapi.convert`), its overrides in the
    config's own dotted names; `for_training=False` (evaluate, export)
    leaves its training-only fields unchecked (a tutorial's OD API
    fine_tune_checkpoint, num_steps 0)."""
    import yaml

    values = {}
    if path is not None:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8-sig")  # a BOM is no text
        except FileNotFoundError:
            raise ValueError(f"Config file not found: {path}") from None
        from keras_boxloss.odapi.pipeline import is_pipeline_text

        if is_pipeline_text(text):  # a TF OD API pipeline.config, by content
            from keras_boxloss.odapi.convert import load_detector_config

            return load_detector_config(path, overrides,
                                        for_training=for_training)
        try:
            values = yaml.safe_load(text) or {}
        except yaml.YAMLError as error:
            raise ValueError(f"{path}: not valid YAML: {error}") from None
        if not isinstance(values, dict):
            raise ValueError(f"{path}: expected a mapping of sections. "
                             f"Received: {type(values).__name__}")
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep:
            raise ValueError("Expected overrides as key=value. "
                             f"Received: {item!r}")
        _set_dotted(values, key.strip(), text)
    try:
        config = _build(DetectorConfig, values, "<root>")
    except ValueError as error:
        raise ValueError(f"{path or 'config'}: {error}") from None
    _check(config, path)
    return config


def _check(config, path):
    from keras_boxloss.losses.registry import BOX_LOSSES

    checks = [
        ("detector", config.detector, DETECTORS),
        ("model.backbone", config.model.backbone, BACKBONES),
        ("loss.box_loss", config.loss.box_loss, ("",) + tuple(BOX_LOSSES)),
        ("loss.confidence_target", config.loss.confidence_target,
         CONFIDENCE_TARGETS),
        ("loss.classification", config.loss.classification, CLASSIFICATIONS),
        ("data.resize_mode", config.data.resize_mode, RESIZE_MODES),
        ("optimizer.type", config.optimizer.type, OPTIMIZERS),
        ("optimizer.schedule", config.optimizer.schedule, SCHEDULES),
        ("trainer.distribution", config.trainer.distribution,
         DISTRIBUTIONS),
        ("trainer.mixed_precision", config.trainer.mixed_precision,
         MIXED_PRECISION),
        ("trainer.best_metric", config.trainer.best_metric, BEST_METRICS),
    ]
    for name, value, choices in checks:
        if value not in choices:
            raise ValueError(f"{path or 'config'}: Expected `{name}` to be "
                             f"one of {list(choices)}. Received: "
                             f"{name}={value!r}")
    if not (0 < config.loss.focal_alpha <= 1
            and 0 <= config.loss.focal_gamma < float("inf")):
        raise ValueError(f"{path or 'config'}: Expected 0 < loss.focal_alpha"
                         " <= 1 and loss.focal_gamma >= 0, finite. Received: "
                         f"focal_alpha={config.loss.focal_alpha!r}, "
                         f"focal_gamma={config.loss.focal_gamma!r}")
    # Step counts: a 0 or negative one trained a different number of steps
    # than asked (or divided by zero) rather than failing.
    for name, value in (("trainer.steps", config.trainer.steps),
                        ("trainer.steps_per_epoch",
                         config.trainer.steps_per_epoch)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{path or 'config'}: Expected `{name}` to be a "
                             f"positive integer. Received: {name}={value!r}")
    _check_validation(config.trainer, config.data, path or "config")


def _check_validation(trainer, data, where):
    """`trainer.eval_every_steps` and `early_stopping_patience`: in range,
    and an explicit evaluation has a validation split to run on (the
    generated data has one; records given need `data.validation`)."""
    every, patience = trainer.eval_every_steps, trainer.early_stopping_patience
    if every < -1 or patience < 0:
        raise ValueError(
            f"{where}: Expected trainer.eval_every_steps >= -1 (0: every "
            f"epoch, -1: never) and trainer.early_stopping_patience >= 0. "
            f"Received: eval_every_steps={every}, "
            f"early_stopping_patience={patience}")
    if patience and every == -1:
        raise ValueError(
            f"{where}: Expected evaluations (trainer.eval_every_steps >= 0) "
            f"for trainer.early_stopping_patience, which counts them. "
            f"Received: eval_every_steps=-1, early_stopping_patience="
            f"{patience}")
    if (every > 0 or patience) and data.train and not data.validation:
        raise ValueError(
            f"{where}: Expected data.validation (records to evaluate on) "
            f"with trainer.eval_every_steps={every} and "
            f"early_stopping_patience={patience}. Received: data.train="
            f"{data.train!r} and no data.validation")


def check_config(config, path=None):
    """Checks a config's choices and step counts (`load_config` does; call
    it on a config built or changed in code). Raises `ValueError` naming the
    field."""
    _check(config, path)


def nms_kwargs(config):
    """`training.predict.non_max_suppression`'s arguments from the config's
    `postprocess` section."""
    p = config.postprocess
    return {"score_threshold": p.score_threshold,
            "iou_threshold": p.iou_threshold,
            "max_per_class": p.max_detections_per_class,
            "max_detections": p.max_total_detections}


def config_to_dict(config):
    return dataclasses.asdict(config)
