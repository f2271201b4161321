"""`train_config`, the input readers and `eval_config` of a Faster R-CNN
pipeline.config as Model Garden trainer, data and runtime overrides.

The optimiser and learning rate are in `faster_rcnn_optimizer.py`.
"""

from __future__ import annotations

import glob
import math
import os

from keras_boxloss.odapi.accounting import Section, resolve_path
from keras_boxloss.odapi.faster_rcnn_mapping import GardenMapping, fail, number
from keras_boxloss.odapi.faster_rcnn_optimizer import (map_clipping,
                                                       map_optimizer)

# Steps per Model Garden training loop (the OD API's TF2 default for
# num_steps_per_iteration is 100) and the checkpoint default (1000).
STEPS_PER_LOOP, CHECKPOINT_EVERY = 100, 1000
TF1_SETTINGS = (
    "sync_replicas", "startup_delay_steps", "replicas_to_aggregate",
    "keep_checkpoint_every_n_hours", "batch_queue_capacity",
    "num_batch_queue_threads", "prefetch_queue_capacity",
    "summarize_gradients", "unpad_groundtruth_tensors",
    "retain_original_images", "num_steps_per_iteration")
INPUT_PERFORMANCE = (
    "num_readers", "num_parallel_batches", "num_prefetch_batches",
    "queue_capacity", "min_after_dequeue", "read_block_length",
    "prefetch_size", "num_parallel_map_calls", "num_parallel_reads",
    "filenames_shuffle_buffer_size", "name", "include_source_id",
    "use_display_name")
EVAL_DISPLAY = (
    "max_evals", "eval_interval_secs", "num_visualizations",
    "visualization_export_dir", "visualize_groundtruth_boxes",
    "min_score_threshold", "max_num_boxes_to_visualize", "skip_scores",
    "skip_labels", "keep_image_id_for_visualization_export", "save_graph",
    "export_path", "eval_master", "groundtruth_box_visualization_color",
    "retain_original_images")


def map_training(root: Section, config_dir, out: GardenMapping,
                 levels: tuple[int, int]) -> None:
    train = root.sub("train_config")
    _train_config(train, config_dir, out)
    _regularization(train, out)
    eval_batch = _eval_config(root.sub("eval_config"), out)
    _reader(root.sub("train_input_reader"), "train_data", config_dir, out,
            required=True)
    _reader(root.sub("eval_input_reader"), "validation_data", config_dir,
            out, required=False)
    out.put("task.validation_data.global_batch_size", eval_batch,
            "eval_config.batch_size")
    out.put("task.annotation_file", "", "COCO ground truth from the "
            "evaluation TFRecords")


# --- train_config ------------------------------------------------------------

def _train_config(train: Section, config_dir, out: GardenMapping) -> int:
    if not train:
        raise ValueError(f"{train.report.source}: Expected a train_config "
                         f"(batch_size, num_steps, optimizer). Received: "
                         f"none")
    batch = number(train, "batch_size", 32, integer=True, positive=True)
    out.put("task.train_data.global_batch_size", batch,
            f"train_config.batch_size (line {train.line('batch_size')})")
    train.honoured("batch_size", f"task.train_data.global_batch_size: "
                                 f"{batch}")
    steps = train.value("num_steps", 0)
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        fail(train, "num_steps", "to be a positive number of steps (Model "
             "Garden trains a fixed number; 0 or no field means forever "
             "in the OD API): add it or --set train_config.num_steps=N",
             steps)
    out.put("trainer.train_steps", steps, "train_config.num_steps")
    train.honoured("num_steps", f"trainer.train_steps: {steps}")
    loop = min(STEPS_PER_LOOP, steps)
    every = number(train, "checkpoint_every_n", CHECKPOINT_EVERY,
                   integer=True, positive=True)
    every = min(steps, math.ceil(every / loop) * loop)
    out.put("trainer.steps_per_loop", loop, "the OD API's TF2 default "
            "num_steps_per_iteration (100), at most num_steps")
    out.put("trainer.summary_interval", loop, "every loop")
    out.put("trainer.checkpoint_interval", every, "train_config."
            "checkpoint_every_n (OD API default 1000), a multiple of the "
            "loop")
    out.put("trainer.validation_interval", every, "evaluate at each "
            "checkpoint, as the OD API's evaluator watches them")
    train.honoured("checkpoint_every_n", f"trainer.checkpoint_interval: "
                                         f"{every}")
    map_optimizer(train.sub("optimizer"), out)
    map_clipping(train, out)
    _augmentation(train, out)
    _checkpoint(train, config_dir, out)
    bfloat16 = train.value("use_bfloat16", False) is True
    dtype = "bfloat16" if bfloat16 else "float32"
    out.put("runtime.mixed_precision_dtype", dtype, "train_config."
            "use_bfloat16" + ("" if train.has("use_bfloat16") else
                              " (absent: float32)"))
    for split in ("train_data", "validation_data"):
        out.put(f"task.{split}.dtype", dtype, "train_config.use_bfloat16")
    train.honoured("use_bfloat16", f"runtime.mixed_precision_dtype: {dtype}")
    boxes = number(train, "max_number_of_boxes", 100, integer=True,
                   positive=True)
    for split in ("train_data", "validation_data"):
        out.put(f"task.{split}.parser.max_num_instances", boxes,
                "train_config.max_number_of_boxes")
    train.honoured("max_number_of_boxes", f"parser.max_num_instances: "
                                          f"{boxes}")
    for name in TF1_SETTINGS:
        train.not_supported(name, "a TF1 queue/replica/summary setting: "
                            "Model Garden's trainer has its own")
    for name in ("merge_multiple_label_boxes", "use_multiclass_scores",
                 "bias_grad_multiplier", "freeze_variables",
                 "update_trainable_variables"):
        train.not_supported(name, "Model Garden's trainer has no such "
                            "option: all variables train, one label a box")
    return steps


def _augmentation(train: Section, out: GardenMapping) -> None:
    parser = "task.train_data.parser"
    flip = False
    scale = (1.0, 1.0)
    for step in train.subs("data_augmentation_options"):
        for name in step.names():
            option = step.sub(name)
            if name == "random_horizontal_flip":
                flip = True
                probability = number(option, "probability", 0.5, low=0)
                if probability == 0.5:
                    step.honoured(name, f"{parser}.aug_rand_hflip: true")
                else:
                    step.approximated(name, f"{parser}.aug_rand_hflip: "
                                      f"flips with probability 0.5, not "
                                      f"{probability}")
                option.not_supported("keypoint_flip_permutation",
                                     "no keypoints")
            elif name == "random_vertical_flip":
                out.put(f"{parser}.aug_rand_vflip", True, f"{step.path}."
                        f"random_vertical_flip")
                step.honoured(name, f"{parser}.aug_rand_vflip: true")
            elif name == "random_image_scale":
                scale = (number(option, "min_scale_ratio", 0.5, low=0),
                         number(option, "max_scale_ratio", 2.0, low=0))
                step.approximated(name, f"{parser}.aug_scale_min/max "
                                  f"{scale}: Model Garden scales the canvas "
                                  f"and crops it")
            else:
                step.not_supported(name, "Model Garden's Faster R-CNN "
                                   "parser has flips and scale jitter only")
    out.put(f"{parser}.aug_rand_hflip", flip, "random_horizontal_flip"
            + ("" if flip else " absent"))
    out.put(f"{parser}.aug_scale_min", scale[0], "random_image_scale"
            if scale != (1.0, 1.0) else "no scale jitter")
    out.put(f"{parser}.aug_scale_max", scale[1], "")


def _checkpoint(train: Section, config_dir, out: GardenMapping) -> None:
    """fine_tune_checkpoint: a local Model Garden / TF2 checkpoint with a
    backbone -> task.init_checkpoint; a missing path is an error."""
    from keras_boxloss.odapi.faster_rcnn_checkpoint import garden_modules

    path = train.value("fine_tune_checkpoint", "")
    others = ("fine_tune_checkpoint_type", "fine_tune_checkpoint_version",
              "from_detection_checkpoint",
              "load_all_detection_checkpoint_vars")
    if not path:
        out.put("task.init_checkpoint", "", "no fine_tune_checkpoint: "
                "train from scratch")
        for name in ("fine_tune_checkpoint", *others):
            train.honoured(name, "no checkpoint: from scratch")
        return
    if str(train.value("fine_tune_checkpoint_version", "V2")) == "V1":
        fail(train, "fine_tune_checkpoint_version", "to be V2 (a TF1 "
             "checkpoint, the OD API's TF1 model zoo's, cannot be loaded "
             "into Model Garden)", "V1")
    resolved = resolve_path(str(path), config_dir,
                            train.where("fine_tune_checkpoint"))
    kind = str(train.value("fine_tune_checkpoint_type", "")) or (
        "detection" if train.value("from_detection_checkpoint", False)
        else "classification")
    modules, note = garden_modules(resolved, kind, train.where(
        "fine_tune_checkpoint"))
    out.put("task.init_checkpoint", resolved, "train_config."
            "fine_tune_checkpoint")
    out.put("task.init_checkpoint_modules", modules, note)
    train.honoured("fine_tune_checkpoint", f"task.init_checkpoint: "
                                           f"{resolved}")
    for name in others:
        train.honoured(name, f"task.init_checkpoint_modules: {modules} "
                             f"({note})")


def _regularization(train: Section, out: GardenMapping) -> None:
    """The Hyperparams' L2 weights -> Model Garden's one weight decay."""
    if train.value("add_regularization_loss", True) is False:
        out.put("task.losses.l2_weight_decay", 0.0, "train_config."
                "add_regularization_loss: false")
        train.honoured("add_regularization_loss", "l2_weight_decay: 0")
        for path, _, section in out.l2:
            section.honoured("weight", "no effect: add_regularization_loss"
                                       " is false")
        return
    train.honoured("add_regularization_loss", "see l2_weight_decay")
    weights = [w for _, w, _ in out.l2]
    decay = max(weights, default=0.0)
    out.put("task.losses.l2_weight_decay", decay, "the largest L2 weight of "
            "the config's hyperparams" if weights else "no regularizer in "
            "the config (Model Garden's default would be 4e-5)")
    for path, weight, section in out.l2:
        if weight == decay == 0:
            section.honoured("weight", "l2_weight_decay: 0")
        else:
            section.approximated("weight", f"task.losses.l2_weight_decay: "
                                 f"{decay} on every kernel (Model Garden has"
                                 f" one weight decay; this layer's: "
                                 f"{weight})")


# --- readers and eval_config -------------------------------------------------

def _reader(reader: Section, split: str, config_dir, out: GardenMapping,
            required: bool) -> None:
    if not reader:
        if required:
            raise ValueError(f"{reader.report.source}: Expected a "
                             f"train_input_reader with tf_record_input_"
                             f"reader.input_path. Received: none")
        out.put(f"task.{split}.input_path", out.get(
            "task.train_data.input_path"), "no eval_input_reader: the "
            "training records")
        return
    records = reader.sub("tf_record_input_reader")
    paths = [resolve_path(str(p), config_dir, records.where("input_path"))
             for p in records.values("input_path")]
    if not paths:
        raise ValueError(f"{reader.where()}: Expected `{reader.path}."
                         f"tf_record_input_reader.input_path`. Received: "
                         f"none")
    for pattern in paths:
        if not glob.glob(pattern):
            raise ValueError(
                f"{records.where('input_path')}: Expected `{records.path}."
                f"input_path` to name existing TFRecord files (a path, list "
                f"or glob; relative to the config's folder). Received: "
                f"input_path={pattern!r} (no such file)")
    value = paths[0] if len(paths) == 1 else paths
    out.put(f"task.{split}.input_path", value, f"{records.path}.input_path")
    records.honoured("input_path", f"task.{split}.input_path")
    reader.honoured("tf_record_input_reader", f"task.{split}.input_path")
    label_map = reader.value("label_map_path")
    if label_map:
        _check_label_map(reader, resolve_path(
            str(label_map), config_dir, reader.where("label_map_path")),
                         out, split)
    shuffle = reader.value("shuffle", True) is True
    if split == "train_data":
        size = number(reader, "shuffle_buffer_size", 2048, integer=True,
                      positive=True)
        out.put(f"task.{split}.shuffle_buffer_size", size,
                f"{reader.path}.shuffle_buffer_size")
        reader.honoured("shuffle_buffer_size", f"task.{split}."
                                               f"shuffle_buffer_size: {size}")
        if shuffle:
            reader.honoured("shuffle", "Model Garden shuffles training data")
        else:
            reader.approximated("shuffle", "Model Garden always shuffles "
                                "training data")
        epochs = reader.value("num_epochs", 0)
        if epochs:
            reader.approximated("num_epochs", "Model Garden repeats the "
                                "training data until train_steps")
        reader.honoured("num_epochs", "repeated until train_steps")
    else:
        reader.honoured("shuffle", "evaluation in file order")
        reader.honoured("num_epochs", "one pass per evaluation")
        reader.honoured("shuffle_buffer_size", "no effect (no shuffling)")
    if reader.value("load_instance_masks", False) is True:
        reader.not_supported("load_instance_masks", "no masks")
    reader.honoured("load_instance_masks", "no masks")
    boxes = reader.value("max_number_of_boxes")
    if boxes is not None:
        reader.approximated("max_number_of_boxes", "train_config."
                            "max_number_of_boxes sets parser."
                            "max_num_instances")
    for name in INPUT_PERFORMANCE:
        reader.honoured(name, "no effect: input pipeline performance / "
                              "naming setting")
    reader.not_supported("sample_1_of_n_examples", "Model Garden reads "
                         "every example")


def _check_label_map(reader: Section, path: str, out: GardenMapping,
                     split: str) -> None:
    from keras_boxloss.data.label_map import read_label_map

    if not os.path.isfile(path):
        raise ValueError(f"{reader.where('label_map_path')}: Expected "
                         f"`{reader.path}.label_map_path` to be a file. "
                         f"Received: label_map_path={path!r} (no such file)")
    ids = read_label_map(path)
    classes = out.get("task.model.num_classes") - 1
    if ids and max(ids) > classes:
        raise ValueError(
            f"{reader.where('label_map_path')}: Expected the label map's ids"
            f" to be <= model.faster_rcnn.num_classes ({classes}). "
            f"Received: {path} has id {max(ids)}")
    # One label map per run (task.label_map), the training data's: the
    # records of both splits are checked against it before they are read.
    chosen = out.get("task.label_map")
    if chosen is None:  # the training data's, or (none there) the eval's
        out.put("task.label_map", path, f"{reader.path}.label_map_path")
    elif chosen != path:
        reader.approximated("label_map_path", f"a different label map from "
                            f"the training data's: task.label_map {chosen} "
                            f"checks the records of both splits")
        return
    reader.honoured("label_map_path", f"{len(ids)} classes, ids within "
                    f"num_classes; the records' labels are checked against "
                    f"it (task.label_map); used by evaluate and compare")


def _eval_config(config: Section, out: GardenMapping) -> int:
    batch = number(config, "batch_size", 1, integer=True, positive=True)
    config.honoured("batch_size", f"task.validation_data.global_batch_size: "
                                  f"{batch}")
    if config.has("num_examples"):
        examples = number(config, "num_examples", 5000, integer=True,
                          positive=True)
        validation = math.ceil(examples / batch)
        config.honoured("num_examples", f"trainer.validation_steps: "
                        f"{validation} (x batch {batch})")
        out.put("trainer.validation_steps", validation,
                "eval_config.num_examples / batch_size")
    else:
        out.put("trainer.validation_steps", -1, "no num_examples: the "
                "whole evaluation split")
    metrics = [str(m) for m in config.values("metrics_set")]
    if all(m == "coco_detection_metrics" for m in metrics):
        config.honoured("metrics_set", "Model Garden's COCO metrics")
    else:
        config.approximated("metrics_set", f"Model Garden reports COCO "
                            f"metrics (AP50 is the VOC-style AP), not "
                            f"{metrics}")
    per_class = config.value("include_metrics_per_category", False) is True
    out.put("task.per_category_metrics", per_class,
            "eval_config.include_metrics_per_category")
    config.honoured("include_metrics_per_category",
                    f"task.per_category_metrics: {str(per_class).lower()}")
    config.honoured("use_moving_averages", "Model Garden evaluates the "
                    "averaged weights when the optimizer averages")
    for name in EVAL_DISPLAY:
        config.not_supported(name, "an evaluation scheduling or "
                             "visualisation setting of the OD API's "
                             "evaluator (Model Garden evaluates every "
                             "validation_interval steps)")
    return batch
