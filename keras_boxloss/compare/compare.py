"""The comparison loop: plan, train and evaluate each run (skipping finished
ones), then tables, JSON and plots.

`out_dir` holds `compare.json` (what was compared: config, data, steps,
overrides), `runs/<loss>-seed<k>/` (checkpoints, `curves.json`,
`predictions.json`, `metrics.json`), and the outputs: `summary.json`,
`results.md`, `metrics.png`, `curves.png`. Re-running the same command
resumes; adding losses or seeds extends the comparison; changing the config,
data, steps or overrides is refused (use another `out_dir`).
"""

import os

from keras_boxloss.compare import plots, summary as summary_lib
from keras_boxloss.compare.data import prepare_data
from keras_boxloss.compare.files import load_curves, read_json, write_json
from keras_boxloss.compare.plan import CURVES, METRICS, Run, plan_runs
from keras_boxloss.compare.runner import runner_for
from keras_boxloss.compare.settling import settling, settling_markdown

INVOCATION = "compare.json"


def _check_invocation(out_dir, invocation):
    path = os.path.join(out_dir, INVOCATION)
    if os.path.exists(path):
        previous = read_json(path)
        changed = sorted(k for k in invocation
                         if previous.get(k) != invocation[k])
        if changed:
            raise ValueError(
                f"Expected the same {', '.join(changed)} as the comparison "
                f"already in {out_dir} (to resume or extend it), or another "
                f"`out_dir`. Received: " + ", ".join(
                    f"{k}={invocation[k]!r} (was {previous.get(k)!r})"
                    for k in changed))
    write_json(invocation, path)


def _progress_bar(total, enabled):
    from tqdm import tqdm

    return tqdm(total=total, unit="step", disable=not enabled,
                dynamic_ncols=True)


def compare(config, losses, seeds, out_dir, data=None, eval_data=None,
            overrides=(), steps=None, curve_every=None, progress=True,
            cache_dir=None, title=None, images_dir=None):
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

    Returns:
        The summary dict written to `summary.json`.
    """
    os.makedirs(out_dir, exist_ok=True)
    splits = prepare_data(data, out_dir, eval_data, cache_dir=cache_dir,
                          images_dir=images_dir)
    overrides = list(overrides)
    _check_invocation(out_dir, {
        "config": os.path.abspath(config), "data": splits.to_dict(),
        "steps": steps, "overrides": overrides})
    runs = plan_runs(losses, seeds)
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
    return write_outputs(out_dir, results, losses, seeds, splits,
                         title or os.path.basename(os.path.normpath(out_dir)))


def write_outputs(out_dir, results, losses, seeds, splits, title):
    curves = {loss: {seed: load_curves(os.path.join(
        Run(loss, seed).folder(out_dir), CURVES)) for seed in seeds}
        for loss in losses}
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
    write_json(summary, os.path.join(out_dir, "summary.json"))
    markdown = summary_lib.format_markdown(summary, losses, title)
    markdown += settling_markdown(summary["settling"])
    with open(os.path.join(out_dir, "results.md"), "w") as file:
        file.write(markdown)
    paths = plots.write_plots(summary, curves, losses, out_dir, title)
    print("\n" + markdown)
    print("Wrote " + ", ".join([os.path.join(out_dir, "summary.json"),
                                os.path.join(out_dir, "results.md"),
                                *paths]))
    return summary
