"""Copies finished comparisons into docs/results/ for the README: the
markdown tables, summary.json and the two plots as small palette PNGs.

    python experiments/publish_results.py runs/compare-ssd-raccoon ...

Each `runs/compare-<name>` lands in `docs/results/<name>/`. Only the small
outputs travel (tables, `summary.json`, `compare.json`, plots): checkpoints
and predictions stay in runs/ (gitignored). Publish from the directory
`compare` ran in (the repository root): `compare.json`'s config path is
relative to it.

    python experiments/publish_results.py --summary

prints the README's one-table summary (Huber against Smooth IoU in every
published comparison), computed from the published `summary.json` files.

    python experiments/publish_results.py --sweep-summary

prints the README's table of issue 19's box-loss weight sweep (validation
mAP@.5 per loss and weight), computed from `experiments/sweep-bccd/`.
"""

import os
import shutil
import sys

from PIL import Image

DOCS = os.path.normpath(os.path.join(os.path.dirname(__file__), "..",
                                    "docs", "results"))
SWEEPS = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                      "sweep-bccd")


# The README's summary rows: published folder -> what was compared.
SUMMARY_ROWS = (
    ("frcnn-raccoon", "Faster R-CNN, raccoon, 600 steps"),
    ("frcnn-raccoon-1500", "Faster R-CNN, raccoon, 1,500 steps"),
    ("frcnn-bccd", "Faster R-CNN, BCCD, 400 steps"),
    ("frcnn-bccd-1000", "Faster R-CNN, BCCD, 1,000 steps"),
    ("ssd-raccoon-600", "SSD, raccoon, 600 steps"),
    ("ssd-bccd-800", "SSD, BCCD, 800 steps"),
    ("default", "SSD, generated shapes, 300 steps"),
)
SUMMARY_METRICS = (("AP50", "mAP@.5"),
                   ("mean_iou_every_prediction", "mean IoU (T2)"))


def summary_table(docs=None, first="huber", second="smooth_iou"):
    """Markdown: per published comparison, `first` and `second`'s mean +-
    std over seeds and the paired t-test's p-value for each summary metric
    (the same test `compare` prints)."""
    import json

    from keras_boxloss.compare.summary import paired_test

    docs = docs or DOCS
    header = ["comparison", "seeds"]
    for _, label in SUMMARY_METRICS:
        header += [f"{label} {first}", f"{label} {second}", "p"]
    lines = ["| " + " | ".join(header) + " |",
             "|" + "---|" * len(header)]
    for name, label in SUMMARY_ROWS:
        with open(os.path.join(docs, name, "summary.json")) as file:
            summary = json.load(file)
        cells = [f"[{label}](docs/results/README.md#{name})",
                 str(len(summary["seeds"]))]
        for key, _ in SUMMARY_METRICS:
            values = summary["metrics"][key]
            for loss in (first, second):
                cells.append(f"{values[loss]['mean']:.3f} ± "
                             f"{values[loss]['std']:.3f}")
            test = paired_test(values[first]["by_seed"],
                               values[second]["by_seed"])
            cells.append("-" if test["p"] is None else f"{test['p']:.3f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def sweep_table(sweeps=None):
    """Markdown: a row per swept loss (`sweeps/<loss>/summary.json`, as
    `compare --sweep` writes it), its validation mAP@.5 at each weight (the
    chosen one in bold, "-" where the loss was not run at a weight), the
    weight mAP@.5 chose and the one mean IoU would have chosen."""
    import json

    sweeps = sweeps or SWEEPS
    choices = {}
    for loss in sorted(os.listdir(sweeps)):
        path = os.path.join(sweeps, loss, "summary.json")
        if not os.path.isfile(path):
            continue
        with open(path) as file:
            choices.update(json.load(file)["sweep"]["choices"])
    weights = sorted({w for choice in choices.values() for w in choice["AP50"]},
                     key=float)
    header = ["loss"] + [f"weight {w}" for w in weights] + [
        "chosen (mAP@.5)", "by mean IoU"]
    lines = ["| " + " | ".join(header) + " |",
             "|" + "---|" * len(header)]
    # Huber first: the baseline every other loss is read against
    for loss, choice in sorted(choices.items(),
                               key=lambda item: (item[0] != "huber", item[0])):
        cells = [loss]
        for weight in weights:
            value = choice["AP50"].get(weight)
            text = "-" if value is None else f"{value:.3f}"
            cells.append(f"**{text}**" if weight == choice["value"] else text)
        cells += [choice["value"], choice["by_mean_iou"]]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def publish(compare_dir):
    name = os.path.basename(os.path.normpath(compare_dir))
    name = name.removeprefix("compare-")
    target = os.path.join(DOCS, name)
    os.makedirs(target, exist_ok=True)
    for file in ("results.md", "summary.json"):
        shutil.copy(os.path.join(compare_dir, file), target)
    # what was compared (config, data, steps, overrides): the leaderboard
    # (`keras-boxloss compare --leaderboard docs/results/*/`) reads it
    invocation = os.path.join(compare_dir, "compare.json")
    if os.path.isfile(invocation):
        shutil.copy(invocation, target)
    else:
        print(f"{compare_dir} has no compare.json (made before compare "
              f"wrote one): write {target}/compare.json by hand for the "
              f"leaderboard", file=sys.stderr)
    for plot in ("metrics.png", "curves.png"):
        # 64 colours keep the plots legible at a quarter of the bytes.
        image = Image.open(os.path.join(compare_dir, plot)).convert("RGB")
        image.quantize(colors=64, method=Image.Quantize.MEDIANCUT).save(
            os.path.join(target, plot), optimize=True)
    return target


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    if sys.argv[1:] == ["--summary"]:
        sys.exit(print(summary_table()))
    if sys.argv[1:] == ["--sweep-summary"]:
        sys.exit(print(sweep_table()))
    for folder in sys.argv[1:]:
        if not os.path.isfile(os.path.join(folder, "summary.json")):
            sys.exit(f"Expected a finished comparison (with summary.json). "
                     f"Received: {folder}")
        print(publish(folder))
