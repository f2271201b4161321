"""One comparison run of the Model Garden Faster R-CNN (the paper's
detector): both stages' box losses set to the run's loss.

Training runs in chunks through Model Garden's `train_lib.run_experiment`
(each chunk resumes from the previous checkpoint); after each chunk the
checkpoint is evaluated on the curve split, which gives the validation
curve in our own metrics (mean IoU, COCO AP) rather than Model Garden's.
Chunk `k` reads the training data with seed `1000 * seed + k`, the same for
every loss; an interrupted run resumes from the start of its chunk, so its
data order is kept. Imports Model Garden (`keras-boxloss[garden]`) when a
run is prepared, not at import: TensorFlow only.
"""

import glob
import logging
import os
import time

from keras_boxloss.compare.files import load_curves, write_json
from keras_boxloss.compare.plan import (CURVES, METRICS, curve_point,
                                        train_seconds_at, with_point)
from keras_boxloss.compare.runner import Runner

STAGES = ("rpn_box_loss", "frcnn_box_loss")


class GardenRunner(Runner):
    """Model Garden Faster R-CNN runs: `overrides` are its dotted
    `--params_override` keys; a curve point every `curve_every` steps
    (default: a quarter of the run)."""

    def prepare(self, runs):
        require_model_garden(self.config)
        overrides = ",".join(self.overrides)
        steps = self.steps or run_params(self.config, runs[0], self.splits,
                                         overrides).trainer.train_steps
        for run in runs:  # every run's config is valid before any trains
            run_params(self.config, run, self.splits, overrides, steps)
        self.steps = steps
        self.curve_every = self.curve_every or max(1, steps // 4)
        return steps

    def train_and_evaluate(self, run, run_dir, on_steps=None):
        # the module function, looked up at call time (tests wrap it)
        return train_and_evaluate(self.config, run, self.splits, run_dir,
                                  ",".join(self.overrides), self.steps,
                                  on_steps, self.curve_every)


def require_model_garden(config):
    """Raises, naming the extra to install, when Model Garden (package
    `official`, from tf-models-official) is not importable."""
    try:
        import official.core  # noqa: F401
    except ImportError as error:
        raise ValueError(
            f"Expected Model Garden (tf-models-official) for the Faster "
            f"R-CNN config {config}: pip install keras-boxloss[garden]. "
            f"Received: {type(error).__name__}: {error}") from error


def run_params(config_path, run, splits, overrides="", train_steps=None,
               chunk=0):
    """The experiment config of `run` (locked): the YAML file, the user's
    `--params_override` string, the run's swept value, then data, loss and
    seed."""
    from official.core import exp_factory
    from official.modeling import hyperparams

    from keras_boxloss.data.label_map import read_label_map
    from keras_boxloss.model_garden import configs

    params = exp_factory.get_exp_config(configs.EXPERIMENT)
    params = hyperparams.override_params_dict(params, str(config_path),
                                              is_strict=True)
    if overrides:
        params = hyperparams.override_params_dict(params, overrides,
                                                  is_strict=True)
    if run.overrides:  # a sweep's value, after the user's overrides
        params = hyperparams.override_params_dict(
            params, ",".join(run.overrides), is_strict=True)
    task = {"train_data": {"input_path": splits.train,
                           "seed": 1000 * run.seed + chunk},
            "validation_data": {"input_path": splits.curve}}
    if splits.label_map:
        task["model"] = {"num_classes": max(read_label_map(
            splits.label_map)) + 1}  # + background
    for stage in STAGES:
        current = getattr(params.task, stage)
        # A stage that changes type loses the other type's settings.
        task[stage] = ({"type": run.loss} if current.type == run.loss else
                       {"type": run.loss, "delta": None,
                        "lambda_weight": None, "lambda_gradient": False})
    params.override({"task": task}, is_strict=True)
    if train_steps is not None:
        params.override({"trainer": {"train_steps": train_steps}})
    params.validate()
    params.lock()
    return params


def chunk_ends(total, every):
    every = max(1, min(every or total, total))
    ends = list(range(every, total, every))
    return ends + [total]


def rewind_to_chunk_start(model_dir, starts):
    """The step a run resumes from: its latest checkpoint at one of the
    chunk `starts` (0 when none); checkpoints after it are deleted.

    Each chunk's batches come from a dataset seeded for that chunk, which
    restarts with the chunk. A run stopped inside a chunk and resumed from
    there would see the chunk's first batches twice, so its data order
    would no longer match the other losses' runs of its seed. Resuming
    from the chunk's start keeps the order, at the cost of up to one chunk
    of training done again.
    """
    import tensorflow as tf

    state = tf.train.get_checkpoint_state(model_dir)
    if state is None:
        return 0
    paths = list(state.all_model_checkpoint_paths)

    def step(path):
        return int(path.rsplit("-", 1)[1])

    latest = step(state.model_checkpoint_path)
    if latest in starts:
        return latest
    start = max((step(path) for path in paths if step(path) in starts),
                default=0)
    logging.getLogger(__name__).warning(
        "%s: checkpoint at step %d is inside a chunk; resuming from the "
        "chunk's start, step %d, so the run's data order stays that of its "
        "seed", model_dir, latest, start)
    for path in paths:
        if step(path) > start:
            for name in glob.glob(path + ".*"):
                os.remove(name)
    kept = [path for path in paths if step(path) <= start]
    if kept:
        tf.compat.v1.train.update_checkpoint_state(
            model_dir, kept[-1], all_model_checkpoint_paths=kept)
    else:
        os.remove(os.path.join(model_dir, "checkpoint"))
    return start


def build_task(params, model_dir, seed):
    """`(strategy, task)` of a chunk, after seeding: the model the task
    builds has the same initial weights for every loss of a seed."""
    import tf_keras
    from official.common import distribute_utils
    from official.core import task_factory
    from official.modeling import performance

    from keras_boxloss.model_garden import registry_imports  # noqa: F401

    tf_keras.backend.clear_session()
    tf_keras.utils.set_random_seed(seed)
    if params.runtime.mixed_precision_dtype:
        performance.set_mixed_precision_policy(
            params.runtime.mixed_precision_dtype)
    strategy = distribute_utils.get_distribution_strategy(
        distribution_strategy=params.runtime.distribution_strategy,
        num_gpus=params.runtime.num_gpus)
    with strategy.scope():
        task = task_factory.get_task(params.task, logging_dir=model_dir)
    return strategy, task


def train_chunk(params, model_dir, seed):
    """Trains up to `params.trainer.train_steps`, from the latest
    checkpoint in `model_dir` when there is one."""
    from official.core import train_lib

    strategy, task = build_task(params, model_dir, seed)
    train_lib.run_experiment(distribution_strategy=strategy, task=task,
                             mode="train", params=params,
                             model_dir=model_dir)


def predict(params, model_dir, pattern):
    """Detections of the latest checkpoint on `pattern`, one image at a
    time at its own size (boxes normalised to the original image)."""
    import numpy as np
    import tensorflow as tf

    from keras_boxloss.data.records import read_records
    from keras_boxloss.evaluation.predictions import predictions_from_batch
    from keras_boxloss.model_garden.export import NormalizedDetectionModule

    size = list(params.task.model.input_size[:2])
    module = NormalizedDetectionModule(params=params, batch_size=1,
                                       input_image_size=size,
                                       input_type="image_tensor",
                                       num_channels=3)
    checkpoint = tf.train.Checkpoint(model=module.model)
    checkpoint.read(tf.train.latest_checkpoint(model_dir)).expect_partial()
    serve = tf.function(module.serve, input_signature=[
        tf.TensorSpec([1, None, None, 3], tf.uint8)])
    from keras_boxloss.data.records import image_key

    predictions = []
    for index, record in enumerate(read_records(pattern)):
        image = tf.io.decode_image(record.encoded, channels=3,
                                   expand_animations=False)
        out = serve(image[None])
        predictions += predictions_from_batch(
            [image_key(record.source_id, record.filename, index)],
            out["detection_boxes"].numpy(),
            out["detection_scores"].numpy(),
            out["detection_classes"].numpy().astype(np.int64),
            out["num_detections"].numpy())
    return predictions


def train_summaries(model_dir):
    """`{tag: {step: value}}` of Model Garden's training summaries."""
    import tensorflow as tf

    values = {}
    for path in sorted(glob.glob(os.path.join(model_dir, "train",
                                              "events.out.tfevents.*"))):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                number = (float(tf.make_ndarray(value.tensor))
                          if value.HasField("tensor") else value.simple_value)
                values.setdefault(value.tag, {})[event.step] = number
    return values


def evaluate(params, model_dir, pattern, label_map):
    from keras_boxloss.data.records import read_records
    from keras_boxloss.evaluation.evaluate import evaluate_detections

    predictions = predict(params, model_dir, pattern)
    return evaluate_detections(list(read_records(pattern)), predictions,
                               label_map), predictions


def train_and_evaluate(config_path, run, splits, run_dir, overrides="",
                       steps=None, on_steps=None, curve_every=None):
    """Trains `run` in chunks of `curve_every` steps (resuming from the
    latest checkpoint), records curves, evaluates on `splits.evaluation`,
    writes `metrics.json`; returns the metrics."""
    import dataclasses

    from keras_boxloss.data.label_map import read_label_map
    from keras_boxloss.evaluation.predictions import save_predictions

    label_map = read_label_map(splits.label_map) if splits.label_map else None
    total = steps or run_params(config_path, run, splits,
                                overrides).trainer.train_steps
    curves_path = os.path.join(run_dir, CURVES)
    points = load_curves(curves_path)
    os.makedirs(run_dir, exist_ok=True)
    ends = chunk_ends(total, curve_every)
    done = rewind_to_chunk_start(run_dir, [0] + ends)
    if on_steps and done:
        on_steps(min(done, total))
    last = None  # (metrics, predictions) of the curve point at `total`
    for chunk, end in enumerate(ends):
        if end <= done and any(p["step"] == end for p in points):
            continue
        params = run_params(config_path, run, splits, overrides, end, chunk)
        start = time.perf_counter()
        if end > done:
            train_chunk(params, run_dir, run.seed)
        seconds = train_seconds_at(points, end, time.perf_counter() - start)
        if on_steps and end > done:
            on_steps(end - done)
        done = end
        metrics, predictions = evaluate(params, run_dir, splits.curve,
                                        label_map)
        if end == total:
            last = metrics, predictions
        logs = train_summaries(run_dir)
        point = curve_point(
            end, metrics, loss=_last(logs.get("total_loss"), end),
            box_loss=_last(logs.get("frcnn_box_loss"), end),
            rpn_box_loss=_last(logs.get("rpn_box_loss"), end),
            train_seconds=seconds)
        points = with_point(points, point)
        write_json(points, curves_path)
    if last is not None and splits.curve == splits.evaluation:
        # The last curve point evaluated this checkpoint on these records
        # (`--evaluate-on validation`): not twice.
        metrics, predictions = last
    else:
        evaluation = dataclasses.replace(splits, curve=splits.evaluation)
        params = run_params(config_path, run, evaluation, overrides, total)
        metrics, predictions = evaluate(params, run_dir, splits.evaluation,
                                        label_map)
    save_predictions(predictions, os.path.join(run_dir, "predictions.json"))
    if run.value is not None:
        metrics.update(value=run.value, keys=list(run.keys))
    metrics.update(loss=run.loss, seed=run.seed, steps=total,
                   train_seconds=points[-1].get("train_seconds"),
                   detector="faster_rcnn")
    write_json(metrics, os.path.join(run_dir, METRICS))
    return metrics


def _last(values, step):
    """The summary at the latest step <= `step` (None without one)."""
    if not values:
        return None
    steps = [s for s in values if s <= step]
    return values[max(steps)] if steps else None
