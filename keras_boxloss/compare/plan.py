"""The runs of a comparison: one per (loss, seed), each in its own folder.

A run is finished when its folder holds `metrics.json` (written last); an
interrupted comparison skips finished runs and resumes the others from
their checkpoints.
"""

import dataclasses
import os

from keras_boxloss.losses.registry import BOX_LOSSES

METRICS = "metrics.json"
CURVES = "curves.json"


@dataclasses.dataclass(frozen=True)
class Run:
    loss: str
    seed: int

    @property
    def name(self):
        return f"{self.loss}-seed{self.seed}"

    def folder(self, out_dir):
        return os.path.join(out_dir, "runs", self.name)

    def is_done(self, out_dir):
        return os.path.exists(os.path.join(self.folder(out_dir), METRICS))


def parse_losses(text):
    """`"huber,smooth_iou"` -> `["huber", "smooth_iou"]`, checked."""
    names = [name.strip() for name in str(text).split(",") if name.strip()]
    unknown = [name for name in names if name not in BOX_LOSSES]
    if not names or unknown:
        raise ValueError(f"Expected `losses` as comma-separated names from "
                         f"{list(BOX_LOSSES)}. Received: losses={text!r}")
    if len(set(names)) != len(names):
        raise ValueError(f"Expected each loss once in `losses`. Received: "
                         f"losses={text!r}")
    return names


def parse_seeds(text):
    """`"3"` -> `[0, 1, 2]`; `"0,5,7"` -> `[0, 5, 7]`."""
    try:
        values = [int(part) for part in str(text).split(",")]
    except ValueError:
        values = []
    if len(values) == 1 and values[0] >= 1:
        return list(range(values[0]))
    if len(values) < 2 or min(values) < 0 or len(set(values)) != len(values):
        raise ValueError(f"Expected `seeds` as a count >= 1 or distinct "
                         f"comma-separated seeds >= 0. Received: "
                         f"seeds={text!r}")
    return values


def curve_point(step, metrics, **train_logs):
    """One point of a run's training curves: the training logs at `step`
    and the validation metrics that the plots and the settling verdict
    read (`metrics` as `evaluate_detections` returns them)."""
    return {"step": step, **train_logs,
            "val_mean_iou": metrics["mean_iou_every_prediction"],
            "val_AP": metrics["AP"], "val_AP50": metrics["AP50"]}


def with_point(points, point):
    """`points` ending with `point`; points at or after its step are
    dropped, since a resumed run evaluates them again."""
    return [p for p in points if p["step"] < point["step"]] + [point]


def train_seconds_at(points, step, elapsed):
    """Training seconds of a run up to `step`: those of its last curve point
    before `step` (0 without one; a resumed run keeps the time before the
    resume) plus the `elapsed` seconds trained since; None when that point
    does not record them."""
    earlier = [p for p in points if p["step"] < step]
    before = earlier[-1].get("train_seconds") if earlier else 0.0
    return None if before is None else before + elapsed


def plan_runs(losses, seeds):
    """Seed-major, so an interrupted comparison has whole seeds done."""
    return [Run(loss, seed) for seed in seeds for loss in losses]
