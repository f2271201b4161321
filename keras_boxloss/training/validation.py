"""Validation while training: evaluations on the validation split, the best
checkpoint, early stopping.

Every `trainer.eval_every_steps` steps (0: at the end of every epoch), and
once more at the last step, `Validation` runs the model on the validation
records and evaluates its detections as `evaluate` does (COCO AP/AR and the
paper's mean IoUs, `evaluation.evaluate.evaluate_detections`). Each
evaluation gives

- TensorBoard scalars `LOGGED` and `NUM_IMAGES` images with true (green)
  and predicted (red) boxes in `model_dir/logs/validation`, at the step;
- one console line (when `verbose`);
- `model_dir/best/` when `trainer.best_metric` is higher than ever before
  in the run: `model.weights.h5`, `config.yaml` (so `load_trained` and
  `--checkpoint best` load it as they load the run) and `metrics.json`
  (the step, the metric and every value). It is replaced whole
  (`data.output_folder.replacing_folder`), and it is how a resumed run
  knows its best so far;
- with `trainer.early_stopping_patience` N, the end of training after N
  evaluations in a row without a better best.
"""

import json
import math
from pathlib import Path

import keras
import numpy as np

from keras_boxloss.evaluation.coco_metrics import COCO_METRICS

BEST = "best"
BEST_METRICS = (*COCO_METRICS, "mean_iou_every_prediction",
                "mean_iou_matched_detections")
# What TensorBoard and the console show of each evaluation.
LOGGED = ("AP", "AP50", "AP75", "AR100", "mean_iou_every_prediction",
          "mean_iou_matched_detections")
SHORT = {"mean_iou_every_prediction": "mIoU",
         "mean_iou_matched_detections": "mIoU_matched"}
NUM_IMAGES = 3
DRAWN_SCORE = 0.3  # the least score of a drawn prediction (evaluate's)
METRICS_FILE = "metrics.json"
VALIDATION_LOGS = Path("logs") / "validation"


def validation_data(config):
    """`(records glob, label map or None)` of the run's validation split:
    `data.validation`, the generated data's val split when training on the
    generated data, else None."""
    from keras_boxloss.data.label_map import find_label_map
    from keras_boxloss.training.train import resolve_data

    _, pattern = resolve_data(config)
    if not pattern:
        return None
    label_map, _ = find_label_map(pattern, config.data.label_map)
    return pattern, label_map


def evaluate_model(model, config, pattern, ground_truth, label_map):
    """The model's detections on `pattern` (the config's postprocess NMS)
    and their metrics against `ground_truth`.

    Returns:
        `(metrics, predictions)`: `evaluate_detections`' flat dict and the
        predictions (`evaluation.predictions`' per-image dicts).
    """
    from keras_boxloss.evaluation.evaluate import evaluate_detections
    from keras_boxloss.training.config import nms_kwargs
    from keras_boxloss.training.predict import predict_records

    predictions = predict_records(model, config, pattern,
                                  **nms_kwargs(config))
    return evaluate_detections(ground_truth, predictions,
                               label_map), predictions


def read_best(model_dir):
    """`best/metrics.json` of the run in `model_dir` (`step`,
    `best_metric`, `value`, `metrics`); None when there is no `best/`.
    A `best/` that a killed writer left as `best.old-*` is restored."""
    path = Path(model_dir) / BEST / METRICS_FILE
    if not path.exists():  # a writer killed between its two renames?
        _restore_best(Path(model_dir))
    if not path.exists():
        return None
    return json.loads(path.read_text())


def _restore_best(model_dir):
    """Under `best/`'s lock, restores a `best/` that a writer killed between
    its two renames left only as `best.old-*` (and removes the other
    leftovers), as the next `write_best` would; True when it did."""
    from keras_boxloss.data import output_folder

    if (model_dir / BEST).exists() or not any(
            model_dir.glob(BEST + ".old-*")):
        return False
    output_folder.recover(str(model_dir / BEST))
    return (model_dir / BEST).exists()


def write_best(model, model_dir, step, metric, metrics):
    """Replaces `model_dir/best/` whole: the model's weights, the run's
    config.yaml and `metrics.json`."""
    import shutil

    from keras_boxloss.data.output_folder import replacing_folder
    from keras_boxloss.training.run_state import CONFIG, WEIGHTS

    model_dir = Path(model_dir)
    with replacing_folder(model_dir / BEST, overwrite=True) as folder:
        folder = Path(folder)
        model.save_weights(folder / WEIGHTS)
        shutil.copyfile(model_dir / CONFIG, folder / CONFIG)
        (folder / METRICS_FILE).write_text(json.dumps(
            {"step": step, "best_metric": metric, "value": metrics[metric],
             "metrics": metrics}, indent=1, sort_keys=True) + "\n")


def _is_better(value, best):
    return math.isfinite(value) and (best is None or value > best)


def _shown(value):
    return "none yet" if value is None else f"{value:.4f}"


class Validation(keras.callbacks.Callback):
    """Evaluates on the validation split while `train` trains (see the
    module's docstring).

    Args:
        config: the run's `DetectorConfig`.
        model_dir: the run's folder.
        pattern: the validation records' glob.
        label_map: their label map (`{id: name}`) or None.
        start_step: the steps done before this `fit` (a resumed run's), to
            count the evaluations since the stored best.
        verbose: print a line per evaluation.
    """

    def __init__(self, config, model_dir, pattern, label_map,
                 start_step=0, verbose=1):
        super().__init__()
        from keras_boxloss.data.records import (check_record_labels,
                                                image_keys, read_records)

        trainer = config.trainer
        self.config, self.model_dir = config, Path(model_dir)
        self.pattern, self.label_map = pattern, label_map
        self.verbose = verbose
        self.every = trainer.eval_every_steps or trainer.steps_per_epoch
        self.metric = trainer.best_metric
        self.patience = trainer.early_stopping_patience
        # Read and checked once, before training: a bad validation split
        # fails now rather than after the first epoch.
        self.ground_truth = list(read_records(pattern))
        image_keys(self.ground_truth)
        check_record_labels(self.ground_truth, label_map)
        self.start_step = start_step
        self.best, self.best_step, self.wait = None, 0, 0
        self.replay_until = 0
        self.stopped_at = None
        self.epoch, self.writer = 0, None

    def on_train_begin(self, logs=None):
        import tensorflow as tf

        from keras_boxloss.training.run_state import finished_steps

        # Read now, not at construction: `--overwrite` removes the old
        # run's best/ between the two.
        best = read_best(self.model_dir)
        if best is not None and best.get("best_metric") == self.metric:
            # another metric's best is no yardstick: it is replaced
            self.best, self.best_step = best["value"], best["step"]
            # The evaluations a resumed run made after its best (those
            # after its last backup are made again: not counted twice),
            # with a continued run's final one off the `every` grid.
            self.wait = sum(1 for step in range(self.best_step + 1,
                                                self.start_step + 1)
                            if step % self.every == 0)
            if self.start_step > self.best_step and \
                    self.start_step % self.every and \
                    finished_steps(self.model_dir) == self.start_step:
                self.wait += 1
            # best/ is written at its evaluation, the backup at the end of
            # an epoch: a best from after the backup is met again, and the
            # evaluations replayed up to it do not count as waits.
            if self.best_step > self.start_step:
                self.replay_until = self.best_step
        self.writer = tf.summary.create_file_writer(
            str(self.model_dir / VALIDATION_LOGS))

    def on_train_end(self, logs=None):
        if self.writer is not None:
            self.writer.close()

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        step = self.epoch * self.config.trainer.steps_per_epoch + batch + 1
        if step % self.every == 0 or step == self.config.trainer.steps:
            self.evaluate(step)

    def evaluate(self, step):
        """One evaluation at `step`: logs, `best/`, early stopping."""
        # the module's function, looked up now: tests script the metrics
        metrics, predictions = evaluate_model(
            self.model, self.config, self.pattern, self.ground_truth,
            self.label_map)
        value = float(metrics[self.metric])
        if _is_better(value, self.best):
            self.best, self.best_step, self.wait = value, step, 0
            write_best(self.model, self.model_dir, step, self.metric,
                       metrics)
            verdict = f"new best {self.metric}, saved to " \
                      f"{self.model_dir / BEST}"
        elif step <= self.replay_until:  # made before the kill: no wait
            verdict = (f"best {self.metric} {_shown(self.best)} at step "
                       f"{self.best_step} (replayed after resuming)")
        else:  # also a non-finite value, which never becomes the best
            self.wait += 1
            verdict = (f"best {self.metric} {_shown(self.best)} at step "
                       f"{self.best_step}, {self.wait} evaluation(s) "
                       f"without improvement")
        self._log(step, metrics, predictions)
        self._print(f"Validation at step {step}: " + ", ".join(
            f"{SHORT.get(name, name)} {_shown(metrics[name])}"
            for name in LOGGED) + f"; {verdict}")
        # at the last step training ends anyway: not an early stop
        if self.patience and self.wait >= self.patience and \
                step < self.config.trainer.steps:
            self.model.stop_training = True
            self.stopped_at = step
            self._print(
                f"Early stopping at step {step}: {self.metric} has not "
                f"improved on {_shown(self.best)} (step {self.best_step}) in "
                f"{self.wait} evaluations (trainer.early_stopping_patience="
                f"{self.patience}); the best weights are in "
                f"{self.model_dir / BEST}")

    def _print(self, line):
        if self.verbose:
            print(line, flush=True)

    def _log(self, step, metrics, predictions):
        import tensorflow as tf

        from keras_boxloss.evaluation.visualize import drawn_images

        with self.writer.as_default(step=step):
            for name in LOGGED:
                tf.summary.scalar(name, metrics[name])
            for index, (key, _, image) in enumerate(drawn_images(
                    self.ground_truth, predictions, NUM_IMAGES,
                    self.label_map, DRAWN_SCORE)):
                tf.summary.image(
                    f"detections_{index}", np.asarray(image)[None],
                    description=f"{key}: true boxes green, predicted red "
                                f"(score >= {DRAWN_SCORE:g})")
        self.writer.flush()
