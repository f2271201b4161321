"""The comparison loop: plan, train and evaluate each run (skipping finished
ones), then tables, JSON and plots.

`out_dir` holds `compare.json` (what was compared: config, data, steps,
overrides, sweep, evaluation split), `runs/<loss>-seed<k>/` (with a sweep
`runs/<loss>-w<value>-seed<k>/`: checkpoints, `curves.json`,
`predictions.json`, `metrics.json`), and the outputs: `summary.json`,
`results.md`, `metrics.png`, `curves.png`. Re-running the same command
resumes; adding losses or seeds extends the comparison; changing the config,
data, steps, overrides, sweep or evaluation split is refused (use another
`out_dir`).
"""

import os

from keras_boxloss import atomic_files
from keras_boxloss.compare import plots, summary as summary_lib
from keras_boxloss.compare.data import prepare_data
from keras_boxloss.compare.files import load_curves, read_json, write_json
from keras_boxloss.compare.plan import CURVES, METRICS, plan_runs, variants
from keras_boxloss.compare.runner import runner_for
from keras_boxloss.compare.settling import settling, settling_markdown
from keras_boxloss.compare.summary import choose_values, sweep_markdown

INVOCATION = "compare.json"
EVALUATE_ON = ("test", "validation")


def _check_invocation(out_dir, invocation):
    path = os.path.join(out_dir, INVOCATION)
    if os.path.exists(path):
        previous = read_json(path)
        changed = sorted(k for k in invocation
                         if not _same(k, previous.get(k), invocation[k]))
        if changed:
            raise ValueError(
                f"Expected the same {', '.join(changed)} as the comparison "
                f"already in {out_dir} (to resume or extend it), or another "
                f"`out_dir`. Received: " + ", ".join(
                    f"{k}={invocation[k]!r} (was {previous.get(k)!r})"
                    for k in changed))
    write_json(invocation, path)


def _same(key, previous, current):
    """Whether a recorded invocation value equals the current one. The
    config compares as the file it names: comparisons recorded before
    `_portable_path` hold its absolute path, and still resume."""
    if key == "config" and isinstance(previous, str) and previous:
        return os.path.realpath(previous) == os.path.realpath(current)
    return previous == current


def _portable_path(path):
    """`path` relative to the working directory when it lies inside it (as
    the data paths are), so a comparison copied to another checkout still
    resumes there; absolute otherwise."""
    relative = os.path.relpath(os.path.abspath(path))
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return os.path.abspath(path)
    return relative


def _progress_bar(total, enabled):
    from tqdm import tqdm

    return tqdm(total=total, unit="step", disable=not enabled,
                dynamic_ncols=True)


def compare(config, losses, seeds, out_dir, data=None, eval_data=None,
            overrides=(), steps=None, curve_every=None, progress=True,
            cache_dir=None, title=None, images_dir=None, sweep=None,
            evaluate_on="test"):
    """Trains and evaluates `config`'s detector once per loss and seed.

    Args:
        config: a detector YAML: `keras_boxloss.training` (SSD, YOLOv1) or
            a Model Garden experiment (Faster R-CNN).
        losses, seeds: lists (see `plan.parse_losses`, `plan.parse_seeds`).
        out_dir: the comparison's folder (see the module docstring).
        data, eval_data, images_dir: see `keras_boxloss.compare.data`.
        overrides: config overrides, `KEY=VALUE` (Model Garden: its dotted
            `--params_override` keys).
        steps: training steps per run (default: the config's).
        curve_every: Faster R-CNN: steps between validation points (default
            a quarter of the run); SSD/YOLOv1 evaluate every epoch.
        progress: show a progress bar over all runs' steps.
        sweep: a `plan.Sweep` (see `plan.parse_sweep`): every loss and
            seed once per value, run `<loss>-w<value>-seed<k>`; the summary
            picks each loss's value by validation mAP@.5 (`choose_values`).
        evaluate_on: "test" (the held-out split: test when there is one,
            else val) or "validation" (the val split, which the curves
            watch: for choosing settings without looking at test).

    Returns:
        The summary dict written to `summary.json`.
    """
    if evaluate_on not in EVALUATE_ON:
        raise ValueError(f"Expected `evaluate_on` one of {EVALUATE_ON}. "
                         f"Received: evaluate_on={evaluate_on!r}")
    os.makedirs(out_dir, exist_ok=True)
    splits = prepare_data(data, out_dir, eval_data, cache_dir=cache_dir,
                          images_dir=images_dir)
    if evaluate_on == "validation":
        splits = validation_splits(splits)
    overrides = list(overrides)
    # Keys a comparison made before them lacks compare equal at their
    # defaults (None), so its runs/ folder still resumes.
    _check_invocation(out_dir, {
        "config": _portable_path(config), "data": splits.to_dict(),
        "steps": steps, "overrides": overrides,
        "sweep": sweep.to_dict() if sweep else None,
        "evaluate_on": None if evaluate_on == "test" else evaluate_on})
    runs = plan_runs(losses, seeds, sweep)
    runner = runner_for(config, splits, overrides, steps, curve_every)
    steps = runner.prepare(runs)
    print(f"Comparing {', '.join(losses)} over seeds {seeds} on "
          f"{splits.description}: {len(runs)} runs of {steps} steps "
          f"({sum(r.is_done(out_dir) for r in runs)} already done) "
          f"-> {out_dir}", flush=True)
    results = []
    bar = _progress_bar(len(runs) * steps, progress)
    try:
        for run in runs:
            folder = run.folder(out_dir)
            if run.is_done(out_dir):
                results.append(read_json(os.path.join(folder, METRICS)))
                bar.update(steps)
                continue
            bar.set_description(run.name)
            results.append(runner.train_and_evaluate(run, folder,
                                                     bar.update))
    finally:
        bar.close()
    # the tables' rows: a loss, or a loss at a swept value
    results = [dict(r, loss=run.variant) for run, r in zip(runs, results)]
    return write_outputs(out_dir, results, variants(losses, sweep), seeds,
                         splits,
                         title or os.path.basename(os.path.normpath(out_dir)),
                         sweep=sweep, evaluate_on=evaluate_on,
                         swept_losses=losses)


def validation_splits(splits):
    """`splits` evaluated on the validation split (the curves' split).
    Refused when the only held-out split is named test: choosing settings
    on it would leave no untouched split to report."""
    import dataclasses

    if splits.curve == splits.evaluation and os.path.basename(
            splits.curve).startswith("test"):
        raise ValueError(
            f"Expected a validation split to evaluate on (val-* records, "
            f"or --eval-data), not the test split. Received: the held-out "
            f"split {splits.curve} only")
    return dataclasses.replace(splits, evaluation=splits.curve)


def write_outputs(out_dir, results, losses, seeds, splits, title,
                  sweep=None, evaluate_on="test", swept_losses=()):
    """`losses`: the tables' rows (`plan.variants`), as `results`'
    `loss`; with a `sweep`, `swept_losses` are the losses it crossed with
    its values."""
    curves = {row: {seed: load_curves(os.path.join(
        out_dir, "runs", f"{row}-seed{seed}", CURVES)) for seed in seeds}
        for row in losses}
    from keras_boxloss.training.determinism import environment

    summary = summary_lib.summarize(results, losses)
    # what the numbers depend on beyond config and seed (of this process;
    # runs resumed from elsewhere may differ): CPU, threads, versions
    summary.update(losses=losses, seeds=seeds, data=splits.to_dict(),
                   settling=settling(curves, losses),
                   environment=environment(),
                   runs=[{k: r[k] for k in ("loss", "seed", "steps",
                                            "train_seconds") if k in r}
                         for r in results])
    if evaluate_on != "test":
        summary["evaluate_on"] = evaluate_on
    if sweep is not None:
        summary["sweep"] = {**sweep.to_dict(), "choices": choose_values(
            summary, swept_losses, sweep.values)}
    write_json(summary, os.path.join(out_dir, "summary.json"))
    markdown = summary_lib.format_markdown(summary, losses, title)
    markdown += settling_markdown(summary["settling"])
    if sweep is not None:
        markdown += sweep_markdown(summary["sweep"], evaluate_on)
    atomic_files.write_text(os.path.join(out_dir, "results.md"), markdown)
    paths = plots.write_plots(summary, curves, losses, out_dir, title)
    print("\n" + markdown)
    print("Wrote " + ", ".join([os.path.join(out_dir, "summary.json"),
                                os.path.join(out_dir, "results.md"),
                                *paths]))
    return summary
