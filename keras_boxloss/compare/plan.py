"""The runs of a comparison: one per (loss, seed), each in its own folder;
with a sweep, one per (loss, swept value, seed).

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
    # A sweep's value, set on each of `keys` (config overrides applied
    # after the user's); None without a sweep.
    value: str | None = None
    keys: tuple[str, ...] = ()

    @property
    def variant(self) -> str:
        """The row of the run's tables: the loss, with the swept value
        (`giou-w5`)."""
        return self.loss if self.value is None else \
            f"{self.loss}-w{self.value}"

    @property
    def name(self) -> str:
        return f"{self.variant}-seed{self.seed}"

    @property
    def overrides(self) -> list[str]:
        return [f"{key}={self.value}" for key in self.keys]

    def folder(self, out_dir):
        return os.path.join(out_dir, "runs", self.name)

    def is_done(self, out_dir):
        return os.path.exists(os.path.join(self.folder(out_dir), METRICS))


def parse_losses(text):
    """`"huber,smooth_iou"` -> `["huber", "smooth_iou"]`, checked; `"all"`
    -> every registered box loss, in the registry's order."""
    if str(text).strip() == "all":
        return list(BOX_LOSSES)
    names = [name.strip() for name in str(text).split(",") if name.strip()]
    unknown = [name for name in names if name not in BOX_LOSSES]
    if not names or unknown:
        raise ValueError(f"Expected `losses` as \"all\" or comma-separated "
                         f"names from {list(BOX_LOSSES)}. Received: "
                         f"losses={text!r}")
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


@dataclasses.dataclass(frozen=True)
class Sweep:
    """One value per run set on every key in `keys` (e.g. both Faster
    R-CNN stages' box-loss weights)."""
    keys: tuple[str, ...]
    values: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"keys": list(self.keys), "values": list(self.values)}


def parse_sweep(text: str) -> Sweep:
    """`"KEY=V1,V2"` or `"KEY1+KEY2=V1,V2"` (each value set on every
    key) -> `Sweep`, checked."""
    keys, _, values = str(text).partition("=")
    keys = tuple(k.strip() for k in keys.split("+") if k.strip())
    values = tuple(v.strip() for v in values.split(",") if v.strip())
    if not keys or len(values) < 2 or len(set(values)) != len(values) \
            or any("/" in v or " " in v for v in values):
        raise ValueError(f"Expected `sweep` as KEY=V1,V2,... or "
                         f"KEY1+KEY2=V1,V2,... with two or more distinct "
                         f"values (no '/' or spaces: they name folders). "
                         f"Received: sweep={text!r}")
    return Sweep(keys, values)


def plan_runs(losses, seeds, sweep: Sweep | None = None) -> list[Run]:
    """Seed-major, so an interrupted comparison has whole seeds done."""
    if sweep is None:
        return [Run(loss, seed) for seed in seeds for loss in losses]
    return [Run(loss, seed, value, sweep.keys) for seed in seeds
            for value in sweep.values for loss in losses]


def variants(losses, sweep: Sweep | None = None) -> list[str]:
    """The tables' rows, in order: the losses, or each loss per value."""
    if sweep is None:
        return list(losses)
    return [Run(loss, 0, value).variant for loss in losses
            for value in sweep.values]
