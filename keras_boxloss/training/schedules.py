"""Learning-rate schedules of the TF Object Detection API
(`object_detection/utils/learning_schedules.py`), as Keras schedules.

- `ManualStep`: `rates[i]` from `boundaries[i]` on (`initial` before the
  first boundary); with `warmup`, the rate rises linearly from `initial` to
  `rates[0]` over the steps before the first boundary.
- `CosineWithWarmup`: `0.5 base (1 + cos(pi (t - w - h) / (T - w - h)))`,
  held at `base` for `h` steps after the warmup, linear from `warmup_rate`
  to `base` over the first `w` steps, 0 after `T`.
- `ExponentialWithBurnin`: `initial * factor ** (t / decay_steps)` (floored
  exponent when `staircase`), counted from the end of the burn-in:
  `burnin_rate` for the first `burnin_steps` steps; never below `min_rate`.
"""

import math

import keras
from keras import ops


def _step(step):
    return ops.cast(step, "float32")


@keras.saving.register_keras_serializable(package="keras_boxloss")
class ManualStep(keras.optimizers.schedules.LearningRateSchedule):
    def __init__(self, initial, boundaries, rates, warmup=False):
        boundaries, rates = list(boundaries), list(rates)
        if len(boundaries) != len(rates) or not boundaries:
            raise ValueError(
                "Expected as many boundaries as rates, at least one. "
                f"Received: boundaries={boundaries}, rates={rates}")
        if any(b <= a for a, b in zip(boundaries, boundaries[1:])) or (
                boundaries[0] < 0):
            raise ValueError("Expected increasing boundaries >= 0. "
                             f"Received: boundaries={boundaries}")
        self.initial, self.boundaries = float(initial), boundaries
        self.rates, self.warmup = [float(r) for r in rates], bool(warmup)

    def __call__(self, step):
        t = _step(step)
        rate = ops.convert_to_tensor(self.initial, "float32")
        for boundary, value in zip(self.boundaries, self.rates):
            rate = ops.where(t >= boundary, value, rate)
        if self.warmup and self.boundaries[0] > 0:
            slope = (self.rates[0] - self.initial) / self.boundaries[0]
            rate = ops.where(t < self.boundaries[0],
                             self.initial + slope * t, rate)
        return rate

    def get_config(self):
        return {"initial": self.initial, "boundaries": self.boundaries,
                "rates": self.rates, "warmup": self.warmup}


@keras.saving.register_keras_serializable(package="keras_boxloss")
class CosineWithWarmup(keras.optimizers.schedules.LearningRateSchedule):
    def __init__(self, base, total_steps, warmup_rate=0.0, warmup_steps=0,
                 hold_steps=0):
        if total_steps < warmup_steps + hold_steps or total_steps < 1:
            raise ValueError(
                "Expected total_steps >= warmup_steps + hold_steps and >= 1. "
                f"Received: total_steps={total_steps}, "
                f"warmup_steps={warmup_steps}, hold_steps={hold_steps}")
        if warmup_steps and base < warmup_rate:
            raise ValueError("Expected the base rate >= the warmup rate. "
                             f"Received: base={base}, "
                             f"warmup_rate={warmup_rate}")
        self.base, self.total_steps = float(base), int(total_steps)
        self.warmup_rate, self.warmup_steps = float(warmup_rate), int(
            warmup_steps)
        self.hold_steps = int(hold_steps)

    def __call__(self, step):
        t = _step(step)
        start = self.warmup_steps + self.hold_steps
        span = max(self.total_steps - start, 1)
        rate = 0.5 * self.base * (1.0 + ops.cos(
            math.pi * (t - start) / span))
        if self.hold_steps > 0:
            rate = ops.where(t > start, rate, self.base)
        if self.warmup_steps > 0:
            slope = (self.base - self.warmup_rate) / self.warmup_steps
            rate = ops.where(t < self.warmup_steps,
                             self.warmup_rate + slope * t, rate)
        return ops.where(t > self.total_steps, 0.0, rate)

    def get_config(self):
        return {"base": self.base, "total_steps": self.total_steps,
                "warmup_rate": self.warmup_rate,
                "warmup_steps": self.warmup_steps,
                "hold_steps": self.hold_steps}


@keras.saving.register_keras_serializable(package="keras_boxloss")
class ExponentialWithBurnin(keras.optimizers.schedules.LearningRateSchedule):
    def __init__(self, initial, decay_steps, factor, staircase=True,
                 burnin_rate=0.0, burnin_steps=0, min_rate=0.0):
        if decay_steps < 1:
            raise ValueError("Expected decay_steps >= 1. "
                             f"Received: decay_steps={decay_steps}")
        self.initial, self.decay_steps = float(initial), int(decay_steps)
        self.factor, self.staircase = float(factor), bool(staircase)
        self.burnin_rate = float(burnin_rate)
        self.burnin_steps, self.min_rate = int(burnin_steps), float(min_rate)

    def __call__(self, step):
        t = _step(step)
        exponent = (t - self.burnin_steps) / self.decay_steps
        if self.staircase:
            exponent = ops.floor(exponent)
        rate = self.initial * ops.power(self.factor, ops.maximum(exponent,
                                                                 0.0))
        if self.burnin_steps > 0:
            rate = ops.where(t < self.burnin_steps, self.burnin_rate, rate)
        return ops.maximum(rate, self.min_rate)

    def get_config(self):
        return {"initial": self.initial, "decay_steps": self.decay_steps,
                "factor": self.factor, "staircase": self.staircase,
                "burnin_rate": self.burnin_rate,
                "burnin_steps": self.burnin_steps, "min_rate": self.min_rate}
