"""A comparison's PNG plots: metric bars with seed error bars, and the
training curves (box loss, validation mean IoU) per loss."""

import os

from keras_boxloss import atomic_files
from keras_boxloss.compare.summary import METRICS


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, no display needed
    import matplotlib.pyplot as plt

    return plt


def plot_metrics(summary, losses, path, title=""):
    """One panel per metric: a bar per loss at its mean, error bar +- std,
    the seeds as dots."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(METRICS), figsize=(2.6 * len(METRICS),
                                                         3.2))
    for ax, (key, name) in zip(axes, METRICS):
        rows = summary["metrics"][key]
        shown = [loss for loss in losses if loss in rows]
        means = [rows[loss]["mean"] for loss in shown]
        stds = [rows[loss]["std"] for loss in shown]
        ax.bar(range(len(shown)), means, yerr=stds, capsize=4,
               color=[f"C{losses.index(loss)}" for loss in shown])
        for i, loss in enumerate(shown):
            values = list(rows[loss]["by_seed"].values())
            ax.plot([i] * len(values), values, "k.", markersize=4)
        ax.set_xticks(range(len(shown)), shown, rotation=45, ha="right")
        ax.set_title(name)
        low = min((m - s for m, s in zip(means, stds)), default=0.0)
        ax.set_ylim(max(0.0, low - 0.05), None)
    fig.suptitle(title)
    fig.tight_layout()
    atomic_files.write_figure(path, fig, dpi=80)
    return path


def plot_curves(curves, losses, path, title=""):
    """`curves`: `{loss: {seed: [points]}}` (`curves.json` of each run).
    Box loss and validation mean IoU against steps, a line per run."""
    plt = _pyplot()
    panels = (("box_loss", "training box loss"),
              ("val_mean_iou", "validation mean IoU"),
              ("val_AP50", "validation mAP@.5"))
    fig, axes = plt.subplots(1, len(panels), figsize=(13, 3.4))
    for ax, (key, name) in zip(axes, panels):
        for index, loss in enumerate(losses):
            for seed_index, points in enumerate(curves.get(loss, {})
                                                .values()):
                points = [p for p in points if p.get(key) is not None]
                ax.plot([p["step"] for p in points],
                        [p[key] for p in points], color=f"C{index}",
                        alpha=0.8, label=loss if seed_index == 0 else None)
        ax.set_title(name)
        ax.set_xlabel("step")
        if key == "box_loss":
            ax.set_yscale("log")  # losses of different scales on one axis
    axes[0].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    atomic_files.write_figure(path, fig, dpi=80)
    return path


def write_plots(summary, curves, losses, out_dir, title=""):
    return [plot_metrics(summary, losses,
                         os.path.join(out_dir, "metrics.png"), title),
            plot_curves(curves, losses, os.path.join(out_dir, "curves.png"),
                        title)]
