"""One comparison run of a `keras_boxloss.training` detector (SSD, YOLOv1):
train with the run's loss and seed, record curves, evaluate."""

import os
import time

import keras

from keras_boxloss.compare.files import load_curves, write_json
from keras_boxloss.compare.plan import (CURVES, METRICS, curve_point,
                                        train_seconds_at, with_point)
from keras_boxloss.compare.runner import Runner


class KerasRunner(Runner):
    """SSD and YOLOv1 runs (`keras_boxloss.training`); curve points at
    each epoch's end (`curve_every` does not apply)."""

    def prepare(self, runs):
        for run in runs:  # every run's config is valid before any trains
            steps = run_config(self.config, run, self.splits,
                               self.overrides, self.steps).trainer.steps
        self.steps = steps  # the config's when not given: the same for all
        return steps

    def train_and_evaluate(self, run, run_dir, on_steps=None):
        # the module function, looked up at call time (tests wrap it)
        return train_and_evaluate(self.config, run, self.splits, run_dir,
                                  self.overrides, self.steps, on_steps)


def run_config(config_path, run, splits, overrides=(), steps=None):
    """The detector config of `run`: the file, the data, the user's
    overrides, the run's swept value, then the run's loss and seed (which
    nothing overrides)."""
    from keras_boxloss.data.label_map import read_label_map
    from keras_boxloss.training.config import load_config

    # trainer.eval_every_steps=-1: CurveRecorder evaluates each epoch
    # itself; `train`'s own evaluations would double that and count in the
    # epochs' training time
    values = ["loss.box_loss_params={}", f"data.train={splits.train}",
              f"data.validation={splits.evaluation}",
              "trainer.eval_every_steps=-1"]
    if splits.label_map:
        values.append(f"model.num_classes="
                      f"{max(read_label_map(splits.label_map))}")
    if steps:
        values.append(f"trainer.steps={steps}")
    values += [*overrides, *run.overrides, f"loss.box_loss={run.loss}",
               f"trainer.seed={run.seed}"]
    config = load_config(config_path, values)
    if config.detector == "yolo_v1" and run.loss in ("huber", "balanced_l1"):
        raise ValueError("Expected an IoU-family loss for the yolo_v1 "
                         "detector (its own coordinate term is the paper's "
                         f"sum of squares). Received: losses={run.loss}")
    return config


def evaluate_model(model, config, pattern, ground_truth, label_map):
    """Detections with the config's `postprocess` NMS, as `evaluate` and
    training's validation make them, and their metrics."""
    from keras_boxloss.evaluation.evaluate import evaluate_detections
    from keras_boxloss.training.config import nms_kwargs
    from keras_boxloss.training.predict import predict_records

    predictions = predict_records(model, config, pattern,
                                  **nms_kwargs(config))
    return evaluate_detections(ground_truth, predictions, label_map), \
        predictions


class CurveRecorder(keras.callbacks.Callback):
    """Per epoch: the training losses and the validation metrics, kept in
    `curves.json` (an interrupted run keeps its earlier points)."""

    def __init__(self, path, config, pattern, label_map):
        super().__init__()
        from keras_boxloss.data.records import read_records

        self.path, self.config, self.pattern = path, config, pattern
        self.label_map = label_map
        self.ground_truth = list(read_records(pattern))
        self.points = load_curves(path)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        # a last epoch shorter than steps_per_epoch ends at trainer.steps
        step = min((epoch + 1) * self.config.trainer.steps_per_epoch,
                   self.config.trainer.steps)
        # Training time only: the evaluation below is not counted.
        seconds = train_seconds_at(self.points, step,
                                   time.perf_counter() - self.epoch_start)
        metrics, _ = evaluate_model(self.model, self.config, self.pattern,
                                    self.ground_truth, self.label_map)
        point = curve_point(
            step, metrics, loss=float(logs.get("loss", "nan")),
            box_loss=float(logs.get("box_loss", logs.get("loss"))),
            train_seconds=seconds)
        self.points = with_point(self.points, point)
        write_json(self.points, self.path)


class StepProgress(keras.callbacks.Callback):
    """Calls `on_steps(n)` as training steps complete, and once with the
    steps of the epochs a resumed run had already done (`BackupAndRestore`
    restarts `fit` at the epoch after the last completed one)."""

    def __init__(self, on_steps, steps_per_epoch):
        super().__init__()
        self.on_steps, self.steps_per_epoch = on_steps, steps_per_epoch
        self.started = False

    def on_epoch_begin(self, epoch, logs=None):
        if not self.started and epoch:
            self.on_steps(epoch * self.steps_per_epoch)
        self.started = True

    def on_train_batch_end(self, batch, logs=None):
        self.on_steps(1)


def train_and_evaluate(config_path, run, splits, run_dir, overrides=(),
                       steps=None, on_steps=None):
    """Trains `run` into `run_dir` (resuming an interrupted one), evaluates
    it on `splits.evaluation` and writes `metrics.json`; returns the
    metrics."""
    from keras_boxloss.data.label_map import read_label_map
    from keras_boxloss.data.records import read_records
    from keras_boxloss.evaluation.predictions import save_predictions
    from keras_boxloss.training.train import train

    config = run_config(config_path, run, splits, overrides, steps)
    label_map = read_label_map(splits.label_map) if splits.label_map else None
    os.makedirs(run_dir, exist_ok=True)
    keras.backend.clear_session()
    callbacks = [CurveRecorder(os.path.join(run_dir, CURVES), config,
                               splits.curve, label_map)]
    if on_steps:
        callbacks.append(StepProgress(on_steps,
                                       config.trainer.steps_per_epoch))
    model, _ = train(config, run_dir, verbose=0, callbacks=callbacks)
    metrics, predictions = evaluate_model(
        model, config, splits.evaluation,
        list(read_records(splits.evaluation)), label_map)
    save_predictions(predictions, os.path.join(run_dir, "predictions.json"))
    if run.value is not None:
        metrics.update(value=run.value, keys=list(run.keys))
    metrics.update(loss=run.loss, seed=run.seed, steps=config.trainer.steps,
                   train_seconds=callbacks[0].points[-1].get("train_seconds"),
                   detector=config.detector)
    write_json(metrics, os.path.join(run_dir, METRICS))
    return metrics
