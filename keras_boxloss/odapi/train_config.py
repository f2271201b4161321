"""`train_config`, `train_input_reader`, `eval_input_reader` and
`eval_config` of a TF OD API pipeline.config -> our `DetectorConfig`
values (`trainer`, `optimizer`, `data` sections).

`learning_rate_values(section)` (the OD API's LearningRate message -> our
`optimizer.*` schedule fields) is shared with the Faster R-CNN mapping.
"""

from __future__ import annotations

import os
from pathlib import Path

from keras_boxloss.odapi.accounting import Report, Section, resolve_path
from keras_boxloss.odapi.pipeline import Pipeline
from keras_boxloss.odapi.ssd import Target, _bool, _num

QUEUE_NOTE = ("a TF1 queue / replica / logging setting: no effect in "
              "keras-boxloss (Keras fit, checkpoints every "
              "trainer.steps_per_epoch)")
READER_NOTE = "tf.data tuning: our input pipeline sets its own"
SUPPORTED_AUGMENTATIONS = ("random_horizontal_flip", "ssd_random_crop")


def learning_rate_values(section: Section) -> dict:
    """The OD API's `learning_rate { ... }` -> our optimizer fields
    (learning_rate, schedule, decay_*, boundaries, rates, warmup_*, ...),
    marking each field honoured."""
    kind, rate = section.oneof()
    if kind == "constant_learning_rate":
        value = _num(rate, "learning_rate", 0.002)
        rate.honoured("learning_rate", f"optimizer.learning_rate: {value:g}")
        return {"learning_rate": value, "schedule": "", "decay_rate": 1.0}
    if kind == "exponential_decay_learning_rate":
        initial = _num(rate, "initial_learning_rate", 0.002)
        steps = _num(rate, "decay_steps", 4000000, int)
        factor = _num(rate, "decay_factor", 0.95)
        staircase = _bool(rate, "staircase", True)
        burnin_steps = _num(rate, "burnin_steps", 0, int)
        burnin = _num(rate, "burnin_learning_rate", 0.0) or initial
        floor = _num(rate, "min_learning_rate", 0.0)
        values = {"learning_rate": initial, "decay_steps": steps,
                  "decay_rate": factor}
        rate.honoured("initial_learning_rate",
                      f"optimizer.learning_rate: {initial:g}")
        rate.honoured("decay_steps", f"optimizer.decay_steps: {steps}")
        rate.honoured("decay_factor", f"optimizer.decay_rate: {factor:g}")
        if staircase and not burnin_steps and not floor:
            values["schedule"] = ""  # Keras' ExponentialDecay, staircase
            rate.honoured("staircase", "staircase decay")
        else:
            values.update(schedule="exponential", staircase=staircase,
                          warmup_steps=burnin_steps,
                          warmup_learning_rate=burnin,
                          min_learning_rate=floor)
            rate.honoured("staircase", f"optimizer.staircase: {staircase}")
            rate.honoured("burnin_steps",
                          f"optimizer.warmup_steps: {burnin_steps}")
            rate.honoured("burnin_learning_rate",
                          f"optimizer.warmup_learning_rate: {burnin:g}")
            rate.honoured("min_learning_rate",
                          f"optimizer.min_learning_rate: {floor:g}")
        return values
    if kind == "manual_step_learning_rate":
        initial = _num(rate, "initial_learning_rate", 0.002)
        steps = rate.subs("schedule")
        if not steps:
            raise ValueError(f"{rate.where()}: Expected at least one "
                             "schedule { step: ... learning_rate: ... }. "
                             "Received: none")
        boundaries = [_num(s, "step", 0, int) for s in steps]
        rates = [_num(s, "learning_rate", 0.002) for s in steps]
        warmup = _bool(rate, "warmup", False)
        rate.honoured("initial_learning_rate",
                      f"optimizer.learning_rate: {initial:g}")
        rate.honoured("schedule", f"optimizer.boundaries: {boundaries}, "
                                  f"optimizer.rates: {rates}")
        rate.honoured("warmup", f"optimizer.warmup: {warmup}")
        return {"learning_rate": initial, "schedule": "manual_step",
                "boundaries": boundaries, "rates": rates, "warmup": warmup}
    if kind == "cosine_decay_learning_rate":
        values = {
            "learning_rate": _num(rate, "learning_rate_base", 0.002),
            "schedule": "cosine",
            "total_steps": _num(rate, "total_steps", 4000000, int),
            "warmup_learning_rate": _num(rate, "warmup_learning_rate",
                                         0.0002),
            "warmup_steps": _num(rate, "warmup_steps", 10000, int),
            "hold_base_rate_steps": _num(rate, "hold_base_rate_steps", 0,
                                         int),
        }
        for name, ours in (("learning_rate_base", "learning_rate"),
                           ("total_steps", "total_steps"),
                           ("warmup_learning_rate", "warmup_learning_rate"),
                           ("warmup_steps", "warmup_steps"),
                           ("hold_base_rate_steps", "hold_base_rate_steps")):
            rate.honoured(name, f"optimizer.{ours}: {values[ours]:g}")
        return values
    raise ValueError(f"{section.where()}: Expected a learning_rate (constant"
                     ", exponential_decay, manual_step or cosine_decay). "
                     f"Received: {kind or 'none'}")


def map_optimizer(train: Section, target: Target) -> None:
    section = train.sub("optimizer")
    kind, opt = section.oneof(("rms_prop_optimizer", "momentum_optimizer",
                                "adam_optimizer"))
    ours = {"rms_prop_optimizer": "rmsprop", "momentum_optimizer": "sgd",
            "adam_optimizer": "adam"}.get(kind)
    if ours is None:
        raise ValueError(f"{section.where()}: Expected train_config.optimizer"
                         " with rms_prop_optimizer, momentum_optimizer or "
                         f"adam_optimizer. Received: {kind or 'none'}")
    target.set("optimizer.type", ours, opt.path)
    section.honoured(kind, f"optimizer.type: {ours}")
    for key, value in learning_rate_values(opt.sub("learning_rate")).items():
        target.set(f"optimizer.{key}", value, f"{opt.path}.learning_rate")
    if kind in ("rms_prop_optimizer", "momentum_optimizer"):
        momentum = _num(opt, "momentum_optimizer_value", 0.9)
        target.set("optimizer.momentum", momentum,
                   f"{opt.path}.momentum_optimizer_value")
    if kind == "rms_prop_optimizer":
        rho, eps = _num(opt, "decay", 0.9), _num(opt, "epsilon", 1.0)
        target.set("optimizer.rho", rho, f"{opt.path}.decay")
        target.set("optimizer.epsilon", eps, f"{opt.path}.epsilon")
        opt.honoured("decay", f"optimizer.rho: {rho:g}")
        opt.honoured("epsilon", f"optimizer.epsilon: {eps:g}")
    if kind == "adam_optimizer":
        # TF1's AdamOptimizer epsilon default is 1e-8.
        eps = _num(opt, "epsilon", 1e-8)
        target.set("optimizer.epsilon", eps, f"{opt.path}.epsilon")
        opt.honoured("epsilon", f"optimizer.epsilon: {eps:g}")
    opt.honoured("momentum_optimizer_value",
                 f"optimizer.momentum: {target.get('optimizer.momentum')}")
    if _bool(section, "use_moving_average", True) and section.has(
            "use_moving_average"):
        section.not_supported("use_moving_average",
                              "no moving average of the weights")
        section.not_supported("moving_average_decay",
                              "no moving average of the weights")
    else:
        section.honoured("use_moving_average", "no moving average")
        section.not_supported("moving_average_decay", "no moving average")
    clip = _num(train, "gradient_clipping_by_norm", 0.0)
    if clip > 0:
        target.set("optimizer.global_clipnorm", clip,
                   f"{train.path}.gradient_clipping_by_norm")
    train.honoured("gradient_clipping_by_norm",
                   f"optimizer.global_clipnorm: {clip:g}")


def config_path(section: Section, name: str, pipe: Pipeline,
                value=None) -> str:
    """A path field: relative to the config file's folder, or, given by
    --set (line 0), to the current folder."""
    text = str(section.value(name) if value is None else value)
    line = section.line(name)
    return resolve_path(text, pipe.config_dir if line else os.getcwd(),
                        section.where(name))


SCRATCH_HINT = ("remove the field (or --set "
                "train_config.fine_tune_checkpoint=) to train from scratch")


def _is_odapi_checkpoint(path: str) -> bool:
    p = Path(path)
    return (Path(path + ".index").exists() or ".ckpt" in p.name
            or (p.is_dir() and (p / "checkpoint").exists()))


def map_fine_tune(pipe: Pipeline, train: Section, target: Target) -> None:
    text = str(train.value("fine_tune_checkpoint", ""))
    if text == "":
        train.honoured("fine_tune_checkpoint", "empty: from scratch")
        for name in ("fine_tune_checkpoint_type", "from_detection_checkpoint",
                     "fine_tune_checkpoint_version",
                     "load_all_detection_checkpoint_vars"):
            train.not_supported(name, "no fine_tune_checkpoint: from "
                                      "scratch")
        return
    path = config_path(train, "fine_tune_checkpoint", pipe)
    where = train.where("fine_tune_checkpoint")
    # "" and from_detection_checkpoint mean a whole detector's weights
    kind = str(train.value("fine_tune_checkpoint_type", "")) or "detection"
    if _is_odapi_checkpoint(path):
        if not (Path(path).exists() or Path(path + ".index").exists()):
            raise ValueError(
                f"{where}: Expected train_config.fine_tune_checkpoint to "
                f"exist. Received: fine_tune_checkpoint={path!r} (no such "
                f"file, nor .index); {SCRATCH_HINT}")
        raise ValueError(
            f"{where}: Expected train_config.fine_tune_checkpoint to be "
            "Keras weights (.weights.h5, or a keras-boxloss train folder): "
            "a TF OD API checkpoint holds the variables of the OD API's own "
            "graph and cannot load into this Keras SSD. Remove the field to "
            "train from scratch (--set train_config.fine_tune_checkpoint=), "
            f"or point it at Keras weights. Received: {path!r}")
    if not Path(path).exists():
        raise ValueError(
            f"{where}: Expected train_config.fine_tune_checkpoint to exist. "
            f"Received: fine_tune_checkpoint={path!r}, no such file or "
            f"folder; {SCRATCH_HINT}")
    if kind == "classification":
        if target.get("model.backbone") != "mobilenet_v2" or Path(
                path).is_dir():
            raise ValueError(
                f"{where}: Expected a classification fine_tune_checkpoint to"
                " be Keras MobileNetV2 weights without the top (an .h5 file)"
                " for a mobilenet_v2 backbone. Received: "
                f"{path!r} for backbone {target.get('model.backbone')!r}")
        target.set("model.backbone_weights", path,
                   f"{train.path}.fine_tune_checkpoint")
        train.honoured("fine_tune_checkpoint",
                       f"model.backbone_weights: {path}")
        train.honoured("fine_tune_checkpoint_type",
                       "classification: the backbone's weights")
    else:
        target.set("trainer.fine_tune_checkpoint", path,
                   f"{train.path}.fine_tune_checkpoint")
        train.honoured("fine_tune_checkpoint",
                       f"trainer.fine_tune_checkpoint: {path}")
        train.honoured("fine_tune_checkpoint_type",
                       "detection: the whole detector's weights")
    train.honoured("from_detection_checkpoint", "see fine_tune_checkpoint")
    train.not_supported("fine_tune_checkpoint_version",
                        "Keras weights files have one format")
    train.not_supported("load_all_detection_checkpoint_vars",
                        "all weights load (the same detector)")


def map_augmentation(train: Section, target: Target) -> None:
    steps = train.subs("data_augmentation_options")
    present = {name for step in steps for name in step.names()
               if name in SUPPORTED_AUGMENTATIONS}
    # Our pipeline has one switch for both (data.augment).
    missing = sorted(set(SUPPORTED_AUGMENTATIONS) - present)
    for step in steps:
        for name in step.names():
            option = step.sub(name)
            if name not in SUPPORTED_AUGMENTATIONS:
                step.not_supported(name, "not in our input pipeline (it "
                                         "has random_horizontal_flip and "
                                         "ssd_random_crop)")
                continue
            if name == "random_horizontal_flip":
                if option.value("probability", 0.5) == 0.5:
                    option.honoured("probability", "0.5")
                else:
                    option.approximated("probability", "0.5")
                option.not_supported("keypoint_flip_permutation",
                                     "no keypoints")
            elif option.has("operations"):
                option.approximated(
                    "operations", "the SSD paper's crop settings (min "
                    "object covered 0.1-0.9 or whole image, aspect ratio "
                    "0.5-2, area 0.1-1)")
            if missing:
                step.approximated(name, f"data.augment: true, which also "
                                        f"applies {missing[0]} (one switch "
                                        "for both)")
            else:
                step.honoured(name, "data.augment: true")
    target.set("data.augment", bool(present),
               f"{train.path}.data_augmentation_options")


# Fields only training reads: a config read to evaluate or export
# (`for_training=False`) does not check them, so a tutorial config whose
# fine_tune_checkpoint is an OD API checkpoint, or whose num_steps is 0,
# serves those commands as it is (the OD API's exporter ignores them too).
TRAINING_ONLY = ("num_steps", "fine_tune_checkpoint",
                 "fine_tune_checkpoint_type", "from_detection_checkpoint",
                 "fine_tune_checkpoint_version",
                 "load_all_detection_checkpoint_vars")
# ... and the placeholders those commands leave unfilled (a zoo config
# trained with --set for them is read unchanged)
TRAINING_ONLY_PLACEHOLDERS = (
    "train_config.fine_tune_checkpoint",
    "train_input_reader.tf_record_input_reader.input_path")


def map_train_config(pipe: Pipeline, report: Report, target: Target,
                     for_training: bool = True) -> None:
    """train_config -> ours. `for_training=False`: the `TRAINING_ONLY`
    fields are not checked; the report counts them honoured, noted
    "training only: not read to evaluate or export"."""
    train = Section(pipe.root, "", report).sub("train_config")
    if not train:
        raise ValueError(f"{pipe.source}: Expected a train_config section. "
                         "Received: none")
    batch = _num(train, "batch_size", 32, int)
    target.set("data.batch_size", batch, "train_config.batch_size")
    if train.has("batch_size"):
        train.honoured("batch_size", f"data.batch_size: {batch}")
    else:
        report.mark("train_config.batch_size", None, "honoured",
                    "absent: the OD API's default 32", line=train.line())
    if not for_training:
        for name in TRAINING_ONLY:
            if train.has(name):
                train.honoured(name, "training only: not read to "
                                     "evaluate or export")
    else:
        steps = _num(train, "num_steps", 0, int)
        if steps < 1:
            raise ValueError(  # where: the section's line when absent
                f"{train.where('num_steps')}: Expected "
                "train_config.num_steps >= 1 (0 or absent trains "
                "forever in the OD API; keras-boxloss needs a step count: "
                "--set train_config.num_steps=N). Received: "
                f"num_steps={steps}")
        target.set("trainer.steps", steps, "train_config.num_steps")
        target.set("trainer.steps_per_epoch", min(steps, 1000))
        train.honoured("num_steps", f"trainer.steps: {steps}")
    map_optimizer(train, target)
    if for_training:
        map_fine_tune(pipe, train, target)
    map_augmentation(train, target)
    if _bool(train, "use_bfloat16", False):
        # The OD API's bfloat16 keeps float32 variables and losses, which is
        # what Keras' mixed_bfloat16 policy does.
        target.set("trainer.mixed_precision", "mixed_bfloat16",
                   "train_config.use_bfloat16")
        train.honoured("use_bfloat16", "trainer.mixed_precision: "
                       "mixed_bfloat16 (on a CPU, slower than float32)")
    else:
        train.honoured("use_bfloat16", "float32")
    if train.has("max_number_of_boxes"):
        boxes = _num(train, "max_number_of_boxes", 100, int)
        target.set("data.max_boxes", boxes, "train_config.max_number_of_boxes")
        train.honoured("max_number_of_boxes", f"data.max_boxes: {boxes}")
    if train.value("add_regularization_loss", True):
        train.not_supported("add_regularization_loss",
                            "our layers have no weight regularizer")
    else:
        train.honoured("add_regularization_loss", "no regularization loss")
    for name in ("sync_replicas", "keep_checkpoint_every_n_hours",
                 "startup_delay_steps", "replicas_to_aggregate",
                 "batch_queue_capacity", "num_batch_queue_threads",
                 "prefetch_queue_capacity", "unpad_groundtruth_tensors",
                 "retain_original_images", "summarize_gradients",
                 "checkpoint_every_n", "num_steps_per_iteration"):
        train.not_supported(name, QUEUE_NOTE)
    for name in ("freeze_variables", "update_trainable_variables",
                 "bias_grad_multiplier"):
        train.not_supported(name, "every variable trains alike")
    for name in ("merge_multiple_label_boxes", "use_multiclass_scores"):
        train.not_supported(name, "one class per box, from class/label")


def _input_paths(reader: Section, pipe: Pipeline) -> str:
    kinds = [k for k in ("tf_record_input_reader", "external_input_reader")
             if reader.has(k)]
    kind = kinds[0] if len(kinds) == 1 else None
    source = reader.sub("tf_record_input_reader")
    if kind != "tf_record_input_reader":
        raise ValueError(
            f"{reader.where(kind) if kind else reader.where()}: Expected "
            f"{reader.path}.tf_record_input_reader {{ input_path: ... }}. "
            f"Received: {kind or 'none'}")
    paths = [config_path(source, "input_path", pipe, p)
             for p in source.values("input_path")]
    if not paths:
        raise ValueError(f"{source.where()}: Expected at least one "
                         f"{source.path}.input_path. Received: none")
    if any("," in p for p in paths):
        raise ValueError(f"{source.where('input_path')}: Expected input "
                         "paths without commas (we join them with commas)."
                         f" Received: {paths}")
    pattern = ",".join(paths)
    source.honoured("input_path", f"{pattern}")
    reader.honoured(kind, "")
    return pattern


def _reader_common(reader: Section, training: bool, target: Target) -> None:
    if training:
        if reader.value("shuffle", True):
            reader.honoured("shuffle", "shuffled")
        else:
            reader.not_supported("shuffle", "training data is always "
                                            "shuffled")
        if reader.has("shuffle_buffer_size"):
            size = _num(reader, "shuffle_buffer_size", 2048, int)
            target.set("data.shuffle_buffer", size,
                       f"{reader.path}.shuffle_buffer_size")
            reader.honoured("shuffle_buffer_size",
                            f"data.shuffle_buffer: {size}")
        reader.honoured_if_default("num_epochs", 0, "repeats until num_steps",
                                   "training repeats the data until "
                                   "trainer.steps")
        if reader.has("max_number_of_boxes"):
            boxes = _num(reader, "max_number_of_boxes", 100, int)
            target.set("data.max_boxes", boxes,
                       f"{reader.path}.max_number_of_boxes")
            reader.honoured("max_number_of_boxes", f"data.max_boxes: {boxes}")
    else:
        if reader.value("shuffle", True):
            reader.not_supported("shuffle", "evaluation reads in order")
        else:
            reader.honoured("shuffle", "in order")
        reader.honoured_if_default("num_epochs", 1, "one pass",
                                   "evaluation reads once")
        reader.not_supported("max_number_of_boxes", "evaluation reads every "
                                                    "box")
    reader.honoured_if_default("sample_1_of_n_examples", 1, "every example",
                               "every example is read")
    for name in ("filenames_shuffle_buffer_size", "num_readers",
                 "num_parallel_batches", "num_prefetch_batches",
                 "queue_capacity", "min_after_dequeue", "read_block_length",
                 "prefetch_size", "num_parallel_map_calls",
                 "num_parallel_reads"):
        reader.not_supported(name, READER_NOTE)
    reader.not_supported("name", "a label only")
    for name in ("use_display_name", "include_source_id"):
        reader.not_supported(name, "classes come from image/object/class/"
                                   "label, source_id is always read")
    reader.not_supported_rest("not read by our input pipeline (boxes and "
                              "classes only)")


def map_input_readers(pipe: Pipeline, report: Report, target: Target) -> None:
    root = Section(pipe.root, "", report)
    train = root.sub("train_input_reader")
    if not train:
        raise ValueError(f"{pipe.source}: Expected a train_input_reader "
                         "section. Received: none")
    target.set("data.train", _input_paths(train, pipe),
               "train_input_reader.tf_record_input_reader.input_path")
    label_map = ""
    if train.has("label_map_path"):
        label_map = config_path(train, "label_map_path", pipe)
        target.set("data.label_map", label_map,
                   "train_input_reader.label_map_path")
        train.honoured("label_map_path", f"data.label_map: {label_map}")
    _reader_common(train, True, target)
    readers = root.subs("eval_input_reader")
    if readers:
        first = readers[0]
        target.set("data.validation", _input_paths(first, pipe),
                   "eval_input_reader.tf_record_input_reader.input_path")
        if first.has("label_map_path"):
            path = config_path(first, "label_map_path", pipe)
            if path == label_map or not label_map:
                if not label_map:
                    target.set("data.label_map", path,
                               "eval_input_reader.label_map_path")
                first.honoured("label_map_path", f"data.label_map: {path}")
            else:
                first.approximated(
                    "label_map_path", f"one label map for both: the train "
                    f"reader's {label_map}, not {path}")
        _reader_common(first, False, target)
        for other in readers[1:]:
            other.mark_self("not supported", "one eval reader: the first")
    eval_config = root.sub("eval_config")
    if eval_config.has("num_examples"):
        eval_config.approximated("num_examples", "every record of the eval "
                                 "reader is evaluated")
    for f in eval_config._fields("metrics_set"):
        metric, path = str(f.value), "eval_config.metrics_set"
        if metric == "coco_detection_metrics":
            report.honoured(path, f, "COCO metrics (keras-boxloss evaluate)")
        elif metric.startswith(("pascal_voc", "weighted_pascal", "oid_V2")):
            report.approximated(path, f, f"COCO metrics, whose AP@0.5 is "
                                f"the PASCAL VOC metric, not {metric}")
        else:
            report.not_supported(path, f, f"{metric}: we compute COCO "
                                 "metrics and the mean IoU")
    if eval_config.value("use_moving_averages", False):
        eval_config.not_supported("use_moving_averages", "no moving average")
    else:
        eval_config.honoured("use_moving_averages", "the trained weights")
    eval_config.not_supported_rest(
        "keras-boxloss evaluate runs once on the eval records (no eval loop, "
        "visualisation options are its --visualize flags)")

