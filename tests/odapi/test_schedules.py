"""The TF OD API's learning-rate schedules and the optimizer settings a
pipeline.config maps to (values worked out by hand from the OD API's
formulas in object_detection/utils/learning_schedules.py)."""

import math

import pytest

from keras_boxloss.training.config import load_config
from keras_boxloss.training.schedules import (CosineWithWarmup,
                                              ExponentialWithBurnin,
                                              ManualStep)
from keras_boxloss.training.train import build_learning_rate, build_optimizer


def values(schedule, steps):
    return [float(schedule(step)) for step in steps]


def test_manual_step_with_and_without_warmup():
    plain = ManualStep(0.1, [10, 20], [0.01, 0.001])
    assert values(plain, [0, 9, 10, 19, 20, 500]) == pytest.approx(
        [0.1, 0.1, 0.01, 0.01, 0.001, 0.001])
    warm = ManualStep(0.1, [10, 20], [0.01, 0.001], warmup=True)
    # linear from 0.1 at step 0 towards 0.01 at step 10
    assert values(warm, [0, 5, 9, 10, 20]) == pytest.approx(
        [0.1, 0.055, 0.019, 0.01, 0.001])
    with pytest.raises(ValueError, match="increasing boundaries"):
        ManualStep(0.1, [20, 10], [0.01, 0.001])


def test_cosine_with_warmup_and_hold():
    cosine = CosineWithWarmup(0.08, 100, warmup_rate=0.02, warmup_steps=10)
    assert values(cosine, [0, 5, 10, 55, 100, 101]) == pytest.approx(
        [0.02, 0.05, 0.08, 0.04, 0.0, 0.0], abs=1e-7)
    held = CosineWithWarmup(0.08, 100, warmup_rate=0.02, warmup_steps=10,
                            hold_steps=20)
    # held at the base until step 30, then cosine over the last 70 steps
    expected_65 = 0.5 * 0.08 * (1 + math.cos(math.pi * 35 / 70))
    assert values(held, [25, 30, 65]) == pytest.approx(
        [0.08, 0.08, expected_65])


def test_exponential_with_burnin_and_floor():
    staircase = ExponentialWithBurnin(1.0, 10, 0.5, staircase=True,
                                      burnin_rate=0.3, burnin_steps=5,
                                      min_rate=0.2)
    assert values(staircase, [0, 4, 5, 14, 15, 35]) == pytest.approx(
        [0.3, 0.3, 1.0, 1.0, 0.5, 0.2])
    smooth = ExponentialWithBurnin(1.0, 10, 0.5, staircase=False)
    assert values(smooth, [5]) == pytest.approx([0.5 ** 0.5])


def test_optimizer_from_config_fields():
    config = load_config(None, [
        "optimizer.type=sgd", "optimizer.schedule=cosine",
        "optimizer.learning_rate=0.08", "optimizer.total_steps=100",
        "optimizer.warmup_steps=10", "optimizer.warmup_learning_rate=0.02",
        "optimizer.global_clipnorm=2.5", "optimizer.momentum=0.8"])
    optimizer = build_optimizer(config)
    assert optimizer.global_clipnorm == 2.5
    assert float(optimizer.momentum) == pytest.approx(0.8)
    assert float(optimizer.learning_rate) == pytest.approx(0.02)  # step 0
    config = load_config(None, ["optimizer.schedule=manual_step",
                                "optimizer.boundaries=[3]",
                                "optimizer.rates=[0.5]"])
    schedule = build_learning_rate(config.optimizer)
    assert isinstance(schedule, ManualStep)
    assert values(schedule, [2, 3]) == pytest.approx([0.001, 0.5])
    with pytest.raises(ValueError, match="optimizer.schedule"):
        load_config(None, ["optimizer.schedule=step"])
