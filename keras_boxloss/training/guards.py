"""Callbacks that keep a `train` run exact and its checkpoints good."""

import math

import keras
import numpy as np


class StopAtStep(keras.callbacks.Callback):
    """Ends training after exactly `steps` steps in all, so that a
    `trainer.steps` that is not a multiple of `steps_per_epoch` ends with a
    shorter last epoch instead of training the whole of it."""

    def __init__(self, steps, steps_per_epoch):
        super().__init__()
        self.steps, self.steps_per_epoch = steps, steps_per_epoch
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.epoch * self.steps_per_epoch + batch + 1 >= self.steps:
            self.model.stop_training = True


class StopOnNaN(keras.callbacks.Callback):
    """Raises `ValueError` naming the step when the loss is not finite, and
    at an epoch's end when a weight is not, before the checkpoint callbacks
    after it in the list save that epoch: the last checkpoint on disk stays
    the last good one (Keras' `TerminateOnNaN` only stops, after which the
    epoch-end checkpoints would save the NaN weights)."""

    def __init__(self, steps_per_epoch, model_dir):
        super().__init__()
        self.steps_per_epoch, self.model_dir = steps_per_epoch, model_dir
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def _fail(self, what, when):
        good = self.epoch * self.steps_per_epoch
        kept = (f"the checkpoint of step {good} is kept in {self.model_dir}"
                if good else "no checkpoint was written")
        raise ValueError(
            f"Expected a finite loss and weights. Received: {what} at "
            f"{when}; training stopped, {kept}. "
            f"Lower optimizer.learning_rate, or check the data's boxes, and "
            f"start again with --overwrite.")

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            step = self.epoch * self.steps_per_epoch + batch + 1
            self._fail(f"loss={float(loss)}",
                       f"step {step} (epoch {self.epoch + 1})")

    def on_epoch_end(self, epoch, logs=None):
        for weight in self.model.weights:
            if not np.all(np.isfinite(keras.ops.convert_to_numpy(weight))):
                self._fail(f"a non-finite value in weight {weight.path}",
                           f"the end of epoch {epoch + 1}")
