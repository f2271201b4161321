"""What a `train` model directory holds, and what a new call may do to it.

Everything here runs before `train` writes a file: `plan_run` decides
between a new run, a resumed one, a continued one (a finished run with a
larger `trainer.steps`), a complete one (nothing to do) and a refusal (a
different config, fewer steps than done); `check_training_data` reads the
train split's labels once to name a corrupt record, check them against the
label map and check `model.num_classes`.
A finished run is marked by `training_done.json` (`{"steps": N}`), written
through a temporary file after the final weights.
"""

import dataclasses
import json
import shutil
import warnings
from pathlib import Path

from keras_boxloss.atomic_files import write_text

# A pipeline.config user knows the SSD's field by the OD API's name.
_PIPELINE_NAME = " (model.ssd.num_classes in a pipeline.config)"

WEIGHTS = "model.weights.h5"
KERAS_MODEL = "model.keras"  # the whole detector (training/keras_model.py)
CONFIG = "config.yaml"
DONE = "training_done.json"
BACKUP = "backup"
# What `train` writes; a model dir holding any of these but no config.yaml
# is not a run this call can resume.
RUN_FILES = (CONFIG, WEIGHTS, DONE, BACKUP, "logs", "partial." + WEIGHTS,
             KERAS_MODEL, "partial." + KERAS_MODEL, "best")
# Config keys a resumed or continued run may change: they do not change
# the weights it trains (`trainer.eval_every_steps`: when it evaluates).
RESUMABLE_CHANGES = ("trainer.steps", "trainer.eval_every_steps")
# What other commands derive from a run's weights (evaluate, compare);
# `--overwrite` removes them too, so no output of the old run survives
# beside the new weights.
DERIVED_FILES = ("predictions.json", "predictions.metrics.json",
                 "predictions.per_class.csv", "predictions.pr_curves.json",
                 "predictions.pr_curves.png", "predictions.confusion.json",
                 "predictions.confusion.png", "predictions_visualize",
                 "curves.json", "metrics.json")


@dataclasses.dataclass
class RunPlan:
    """What `train` will do in `model_dir`.

    Attributes:
        start_step: steps already trained (0: a new run).
        steps: `trainer.steps`, the run's total.
        complete: the run has trained `steps` already: nothing to do.
        from_final: continue from the finished run's final weights (they
            hold the optimizer state) rather than from `backup/`.
        remove: paths `--overwrite` removes before the new run starts.
        stale: paths of an older state to remove before training (a
            backup older than the final weights).
    """

    model_dir: Path
    start_step: int
    steps: int
    complete: bool = False
    from_final: bool = False
    remove: list = dataclasses.field(default_factory=list)
    stale: list = dataclasses.field(default_factory=list)


def finished_steps(model_dir):
    """The steps of the finished run in `model_dir`; None when unfinished."""
    path = Path(model_dir) / DONE
    if not path.exists():
        return None
    try:
        steps = json.loads(path.read_text())["steps"]
    except (ValueError, KeyError, TypeError):
        steps = None
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ValueError(f"Expected {path} to hold {{\"steps\": N}}, N > 0. "
                         f"Received: {path.read_text()[:200]!r}")
    return steps


def stopped_early_at(model_dir):
    """The step at which early stopping ended the finished run in
    `model_dir`; None when it did not (or the run is unfinished)."""
    path = Path(model_dir) / DONE
    if not path.exists():
        return None
    return json.loads(path.read_text()).get("stopped_early_at")


def backup_epochs(model_dir):
    """Epochs completed by the run's `BackupAndRestore` state (0: none)."""
    path = Path(model_dir) / BACKUP / "training_metadata.json"
    if not path.exists():
        return 0
    return int(json.loads(path.read_text())["epoch"])


def flatten(values, prefix=""):
    """`{"a": {"b": 1}}` -> `{"a.b": 1}`."""
    flat = {}
    for key, value in values.items():
        if isinstance(value, dict) and value and prefix + key != \
                "loss.box_loss_params":
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[prefix + key] = value
    return flat


def _legacy_values(flat):
    """A run's saved config as today's defaults would write it. Runs made
    before the SSD's default aspect ratios had one home wrote 1/3 as
    0.3333; they resume (and compare runs extend) with 1/3, whose anchors
    differ by 1e-4 relative, rather than being refused as another config."""
    ratios = flat.get("model.aspect_ratios")
    if isinstance(ratios, list):
        flat["model.aspect_ratios"] = [
            1.0 / 3.0 if ratio == 0.3333 else ratio for ratio in ratios]
    return flat


def config_differences(old, new, allowed=RESUMABLE_CHANGES):
    """`["key: old -> new", ...]` of two config dicts, dotted keys, sorted,
    leaving out `allowed`."""
    old, new = _legacy_values(flatten(old)), flatten(new)
    keys = sorted((set(old) | set(new)) - set(allowed))
    missing = "<absent>"
    return [f"{key}: {old.get(key, missing)!r} -> {new.get(key, missing)!r}"
            for key in keys if old.get(key, missing) != new.get(key, missing)]


def plan_run(config, model_dir, overwrite=False):
    """What `train(config, model_dir)` will do; reads, never writes.

    Raises `ValueError` when the model dir holds a run this config cannot
    resume: another config (the differing keys, dotted, old -> new), fewer
    `trainer.steps` than it has trained, a finished run whose last epoch
    was shorter (it cannot continue on an epoch boundary), or more steps
    for a run that early stopping ended. `overwrite`
    plans to remove the old run's files instead.
    """
    from keras_boxloss.training.config import (check_config, config_to_dict,
                                               load_config)

    check_config(config)
    model_dir = Path(model_dir)
    steps = config.trainer.steps
    per_epoch = config.trainer.steps_per_epoch
    present = [name for name in RUN_FILES + DERIVED_FILES
               if (model_dir / name).exists()]
    if overwrite:
        return RunPlan(model_dir, 0, steps,
                       remove=[model_dir / name for name in present])
    hint = "pass --overwrite (overwrite=True) to start again"
    if not (model_dir / CONFIG).exists():
        leftovers = [name for name in present if name in RUN_FILES]
        if leftovers:
            raise ValueError(
                f"Expected a model dir with the run's {CONFIG}, or none of "
                f"{list(RUN_FILES)}; {hint}. Received: {model_dir} holds "
                f"{leftovers} but no {CONFIG}")
        return RunPlan(model_dir, 0, steps)
    try:
        old = load_config(model_dir / CONFIG)
    except ValueError as error:
        raise ValueError(f"Expected a readable {CONFIG} of the run in "
                         f"{model_dir}; {hint}. Received: {error}") from None
    differences = config_differences(config_to_dict(old),
                                     config_to_dict(config))
    if differences:
        raise ValueError(
            f"Expected the config of the run in {model_dir} "
            f"({model_dir / CONFIG}); only a larger trainer.steps continues "
            f"it; {hint}. Received: differing keys: "
            + "; ".join(differences))
    done = finished_steps(model_dir)
    # The backup's last epoch may be a shorter last one: cap at the steps
    # that run was asked for.
    backed_up = min(backup_epochs(model_dir) * per_epoch, old.trainer.steps)
    if done is None and not backed_up and (model_dir / WEIGHTS).exists():
        # Final weights without a marker or a backup: a run finished before
        # runs were marked (now weights come after the backup and before
        # the marker). That code trained whole epochs only.
        done = -(-old.trainer.steps // per_epoch) * per_epoch
    plan = RunPlan(model_dir, 0, steps)
    if backed_up > (done or 0):
        plan.start_step = backed_up
    elif done:
        plan.start_step, plan.from_final = done, True
        if (model_dir / BACKUP).exists():  # left by a kill after DONE
            plan.stale.append(model_dir / BACKUP)
    if plan.start_step > steps:
        raise ValueError(
            f"Expected trainer.steps >= {plan.start_step}, the steps the run "
            f"in {model_dir} has trained; {hint}. Received: "
            f"trainer.steps={steps}")
    if done is not None and plan.start_step == steps:
        plan.complete = True
    elif done is not None and plan.from_final and \
            stopped_early_at(model_dir) is not None:
        # its final weights are those of the early stop, not of `done`
        raise ValueError(
            f"Expected trainer.steps={done}, the steps of the run in "
            f"{model_dir} (complete: early stopping ended it); an "
            f"early-stopped run is not continued: pass --overwrite "
            f"(overwrite=True) to start again or choose a new --model-dir. "
            f"Received: trainer.steps={steps}, the run stopped early at "
            f"step {stopped_early_at(model_dir)}")
    elif plan.start_step % per_epoch:
        raise ValueError(
            f"Expected a run that ended on an epoch boundary to continue it "
            f"(it resumes at the start of an epoch); {hint}. Received: the "
            f"run in {model_dir} has trained {plan.start_step} steps, "
            f"trainer.steps_per_epoch={per_epoch}")
    return plan


def apply_plan(plan, config):
    """Removes what the plan replaces and writes the run's config.yaml;
    call only once every check has passed."""
    import yaml

    from keras_boxloss.training.config import config_to_dict

    for path in plan.remove + plan.stale:
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    plan.model_dir.mkdir(parents=True, exist_ok=True)
    write_text(plan.model_dir / CONFIG,
               yaml.safe_dump(config_to_dict(config)))


def finish_run(model_dir, steps, stopped_early_at=None):
    """Marks the run finished (after its final weights) and drops the
    backup, which the marker now supersedes. A run that early stopping
    ended is finished too (a rerun does nothing); the marker says at which
    step it stopped."""
    model_dir = Path(model_dir)
    done = {"steps": steps}
    if stopped_early_at is not None:
        done["stopped_early_at"] = stopped_early_at
    write_text(model_dir / DONE, json.dumps(done) + "\n")
    if (model_dir / BACKUP).exists():
        shutil.rmtree(model_dir / BACKUP)


def check_training_data(config):
    """Before training, one pass over the train records' labels (no image
    decoding, `records.scan_labels`): every record readable, every box's
    class/label in the run's label map (`data.label_map`, else
    `label_map.pbtxt` beside the records) and its class/text naming it
    there, and `model.num_classes` at least the largest class id of
    `data.label_map` and of the data. A `ValueError` naming the file and
    record (and object) otherwise; a warning when `num_classes` is larger.
    """
    from keras_boxloss.data.label_map import find_label_map
    from keras_boxloss.data.records import scan_labels

    label_map_path, pattern = config.data.label_map, config.data.train
    if not pattern:
        from keras_boxloss.data.generated import default_dataset

        paths = default_dataset()
        pattern, label_map_path = paths["train"], label_map_path or \
            paths["label_map"]
    num_classes = config.model.num_classes
    odapi_name = _PIPELINE_NAME if config.detector == "ssd" else ""
    # a given label map is read without listing the records (find_label_map)
    label_map, path = find_label_map(pattern, label_map_path)
    largest, source = 0, None
    if label_map_path:  # checked first: no need to read the data
        largest = max(label_map)
        source = f"the label map {label_map_path}"
        if largest > num_classes:
            raise ValueError(
                f"Expected model.num_classes >= {largest}, the largest class "
                f"id of {source}. Received: model.num_classes={num_classes}"
                f"{odapi_name}")
    scan = scan_labels(pattern, label_map, f"the label map {path}")
    if scan["max_label"] > num_classes:
        raise ValueError(
            f"Expected model.num_classes >= {scan['max_label']}, the largest "
            f"class id in the training data ({scan['max_where']}). Received: "
            f"model.num_classes={num_classes}{odapi_name}")
    if not label_map_path:
        largest = scan["max_label"]
        source = f"the training data ({scan['max_where']})"
    if largest and num_classes > largest:
        warnings.warn(
            f"model.num_classes={num_classes} is larger than {largest}, the "
            f"largest class id of {source}: the model has "
            f"{num_classes - largest} class(es) no box will train.",
            stacklevel=2)
