"""What the comparison loop asks of a detector family: one `Runner` per
family (`keras_runner.KerasRunner`: SSD, YOLOv1; `garden_runner.
GardenRunner`: Model Garden Faster R-CNN), chosen here in `runner_for`.

The loop owns the folders, resume by `metrics.json`, the progress bar and
the outputs; a runner builds and checks every run's config before any run
trains (`prepare`, so a bad loss/config pair fails in seconds, not after
hours of other runs), and trains or resumes, then evaluates, one run
(`train_and_evaluate`). Both write the same files in a run's folder
(`files`): `curves.json` as they go, `metrics.json` last.
"""

import abc
from typing import Callable, Sequence

from keras_boxloss.compare.data import DataSplits
from keras_boxloss.compare.plan import Run


class Runner(abc.ABC):
    """The runs of one comparison with one detector config.

    Args:
        config: the detector YAML.
        splits: the comparison's data.
        overrides: `KEY=VALUE` config overrides for every run.
        steps: training steps per run (None: the config's).
        curve_every: steps between validation points, where the family
            chooses them (None: its default).
    """

    def __init__(self, config: str, splits: DataSplits,
                 overrides: Sequence[str] = (), steps: int | None = None,
                 curve_every: int | None = None):
        self.config, self.splits = config, splits
        self.overrides = list(overrides)
        self.steps, self.curve_every = steps, curve_every

    @abc.abstractmethod
    def prepare(self, runs: Sequence[Run]) -> int:
        """Builds and checks the config of every run in `runs` (raises
        before any run trains); returns the training steps of each run."""

    @abc.abstractmethod
    def train_and_evaluate(self, run: Run, run_dir: str,
                           on_steps: Callable[[int], object] | None = None
                           ) -> dict:
        """Trains `run` into `run_dir`, resuming from its checkpoints,
        records its curve points, evaluates it on the held-out split and
        writes `metrics.json` (last); returns the metrics. `on_steps(n)`
        is called as training steps complete (once with the steps a resumed
        run had done)."""


def read_config(path: str) -> dict:
    """A detector config's YAML values ({} for an empty file)."""
    import yaml

    with open(path) as file:
        values = yaml.safe_load(file) or {}
    return values if isinstance(values, dict) else {}


def detector_of(values: dict) -> str:
    """`read_config`'s values -> "faster_rcnn" (a Model Garden experiment:
    `task:`), or the `keras_boxloss.training` config's `detector` ("ssd"
    when unset)."""
    return "faster_rcnn" if "task" in values else values.get("detector",
                                                               "ssd")


def runner_for(config: str, splits: DataSplits, overrides: Sequence[str] = (),
               steps: int | None = None, curve_every: int | None = None
               ) -> Runner:
    """The runner of `config`'s detector family: a Model Garden experiment
    (`task:`) or a `keras_boxloss.training` config (`detector:`)."""
    from keras_boxloss.compare import garden_runner, keras_runner

    kind = (garden_runner.GardenRunner
            if detector_of(read_config(config)) == "faster_rcnn"
            else keras_runner.KerasRunner)
    return kind(config, splits, overrides, steps, curve_every)
