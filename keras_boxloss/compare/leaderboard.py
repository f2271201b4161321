"""The box-loss leaderboard: finished comparisons as one markdown table.

A column is a setting (dataset, detector, training steps); a row a loss in
it, with mAP@.5 and the paper's Table 2 mean IoU as mean +- std over seeds,
the paired t-test against Huber in the same column (`summary.paired_test`,
no verdict below `summary.MIN_SEEDS` common seeds) and the box-loss weight
the loss was trained with (`compare.json`'s overrides, else the config's).

Each comparison folder holds `summary.json` and `compare.json` (what
`compare` writes). Sweeps and comparisons evaluated on the validation split
choose settings (one seed, on validation), and a comparison still running
has no `summary.json` yet: they are skipped, and the output says so. One
comparison per (column, loss): the caller passes the folders it means
(e.g. each loss at its chosen weight). A column joined from
several folders (one per loss and weight, as issue 19's chosen-weight runs
are) also gets the paper's Tables 2 and 3 in full, with the paired tests,
as one comparison's `results.md` shows them.
"""

import glob
import os
import re

from keras_boxloss.compare.files import read_json
from keras_boxloss.compare.runner import detector_of, read_config
from keras_boxloss.compare import summary as summary_lib
from keras_boxloss.compare.summary import MIN_SEEDS, _p_value, paired_test

DETECTORS = {"faster_rcnn": "Faster R-CNN", "ssd": "SSD",
             "yolo_v1": "YOLOv1"}
# The box-loss weight of each detector family: (config key, label).
WEIGHT_KEYS = {
    "faster_rcnn": (("task.losses.rpn_box_weight", "rpn"),
                    ("task.losses.frcnn_box_weight", "frcnn")),
    "ssd": (("loss.alpha", None),),          # L_cls + alpha L_loc
    "yolo_v1": (("loss.lambda_coord", None),),
}
# Model Garden's default of both weights (`official.vision.configs.
# maskrcnn.Losses`), written here so the leaderboard needs no Model Garden
# (tests/compare/test_leaderboard.py checks it when Model Garden is there).
GARDEN_DEFAULT_WEIGHT = 1.0
METRICS = (("AP50", "mAP@.5"), ("mean_iou_every_prediction", "mean IoU"))
BASELINE = "huber"
GENERATED = "the generated shapes dataset"  # `data.prepare_data`'s words


def _override_values(overrides):
    """`KEY=VALUE` overrides -> {key: value} (the last wins); one string may
    hold several, comma-separated (Model Garden's `--params_override`)."""
    values = {}
    for override in overrides:
        for part in re.split(r",(?=\s*[\w.]+=)", override):
            key, _, value = part.partition("=")
            values[key.strip()] = value.strip()
    return values


def _config_value(values, key, detector):
    node = values
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            if detector == "faster_rcnn":
                return GARDEN_DEFAULT_WEIGHT
            from keras_boxloss.training.config import LossConfig

            return getattr(LossConfig(), key.split(".")[-1])
        node = node[part]
    return node


def _number(value):
    try:
        return f"{float(value):g}"
    except (TypeError, ValueError):
        return str(value)


def weight_text(detector: str, overrides, values: dict) -> str:
    """The box-loss weight(s) a comparison trained with: `"5"`,
    `"rpn 5, frcnn 5"`, or `"config default (1)"` without an override."""
    given = _override_values(overrides)
    keys = WEIGHT_KEYS[detector]

    def label(name, text):
        return text if name is None else f"{name} {text}"

    if not any(key in given for key, _ in keys):
        return "config default (" + ", ".join(
            label(name, _number(_config_value(values, key, detector)))
            for key, name in keys) + ")"
    return ", ".join(
        label(name, _number(given[key])) if key in given else
        label(name, f"{_number(_config_value(values, key, detector))} "
                    f"(config default)") for key, name in keys)


def dataset_name(data: dict) -> str:
    """A comparison's dataset: "generated shapes", the records' folder
    name, or for annotations converted into the comparison's folder the
    annotations' name (the first path in `data`'s description)."""
    description = data.get("description", "")
    if description == GENERATED:
        return "generated shapes"
    if " annotations " in description and " converted to " in description:
        source = description.split(" annotations ", 1)[1]
        source = source.split(" converted to ", 1)[0].split(",")[0]
        return os.path.splitext(os.path.basename(os.path.normpath(source)))[0]
    return os.path.basename(os.path.dirname(data["train"]))


def _steps(invocation, summary):
    steps = {run["steps"] for run in summary.get("runs", [])
             if run.get("steps") is not None}
    if len(steps) == 1:
        return steps.pop()
    return invocation.get("steps") or "config default"


def _read_folder(folder):
    """`(summary, invocation)`; summary None while the comparison runs
    (`compare` writes summary.json after its last run)."""
    invocation = os.path.join(folder, "compare.json")
    if not os.path.isfile(invocation):
        raise FileNotFoundError(
            f"Expected a comparison folder with compare.json (`keras-boxloss "
            f"compare` output). Received: {folder} without compare.json")
    summary = os.path.join(folder, "summary.json")
    return (read_json(summary) if os.path.isfile(summary) else None,
            read_json(invocation))


def _skip_reason(folder, invocation, summary):
    if summary is None:
        finished = len(glob.glob(os.path.join(folder, "runs", "*",
                                              "metrics.json")))
        return f"unfinished: {finished} run(s) done, no summary.json yet"
    if invocation.get("sweep") or summary.get("sweep"):
        keys = "+".join(invocation["sweep"]["keys"]) if invocation.get(
            "sweep") else "a config value"
        return f"a sweep of {keys}"
    if (invocation.get("evaluate_on") or summary.get("evaluate_on")) \
            == "validation":
        return "evaluated on the validation split"
    return None


def _config_values(folder, config):
    if not os.path.isfile(config):
        raise FileNotFoundError(
            f"Expected the config named in "
            f"{os.path.join(folder, 'compare.json')} (a path "
            f"relative to the directory `compare` ran in: run the "
            f"leaderboard from there). Received: config={config!r}, not a "
            f"file from {os.getcwd()}")
    return read_config(config)


def _cell(row):
    if row is None:
        return "-"
    return f"{row['mean']:.3f} ± {row['std']:.3f}"


def _versus_baseline(row, baseline):
    if baseline is None:
        return f"no {BASELINE} here"
    test = paired_test(row["by_seed"], baseline["by_seed"])
    if test["n"] < MIN_SEEDS:
        return f"undecided ({test['n']} common seeds)"
    return _p_value(test["p"])


def leaderboard(folders) -> str:
    """The leaderboard of comparison folders as markdown.

    Args:
        folders: `compare` output folders (with `summary.json` and
            `compare.json`), e.g. `docs/results/*/`.

    Returns:
        A markdown table (dataset | detector | steps | loss | weight |
        seeds | mAP@.5 | p vs Huber | mean IoU | p vs Huber), sorted by
        column, then by mAP@.5 (best first), and lines naming each
        column's folders and the folders skipped; then, for each column
        joined from several folders, its Tables 2 and 3 in full with the
        paired tests (`summary.format_markdown`) and each loss's weight.

    Raises:
        FileNotFoundError: a folder without `compare.json`, or whose
            config is not found (one without `summary.json` is unfinished:
            skipped and named).
        ValueError: two folders with the same loss in the same column.
    """
    entries, sources, settings, skipped = {}, {}, {}, []
    # `x` and `x/` are one folder
    for folder in dict.fromkeys(os.path.normpath(f) for f in folders):
        summary, invocation = _read_folder(folder)
        name = os.path.basename(os.path.normpath(folder))
        reason = _skip_reason(folder, invocation, summary)
        if reason:
            skipped.append(f"{name} ({reason})")
            continue
        values = _config_values(folder, invocation["config"])
        detector = detector_of(values)
        column = (dataset_name(invocation["data"]), DETECTORS[detector],
                  _steps(invocation, summary))
        weight = weight_text(detector, invocation.get("overrides") or [],
                             values)
        # the column's other settings (a schedule, epochs): one column
        # compares losses under one setting, so they must agree in it
        weight_keys = {key for key, _ in WEIGHT_KEYS[detector]}
        others = [f"{key}={value}" for key, value in _override_values(
            invocation.get("overrides") or []).items()
                  if key not in weight_keys]
        setting = (os.path.normpath(invocation["config"]), others)
        first = settings.setdefault(column, (folder, setting))
        if first[1] != setting:
            raise ValueError(
                f"Expected the comparisons of one column (dataset, detector, "
                f"steps) to share their config and non-weight overrides, "
                f"or their losses are not compared under one setting. "
                f"Received: {first[0]} with {first[1][0]} {first[1][1]} and "
                f"{folder} with {setting[0]} {setting[1]}")
        sources.setdefault(column, []).append((name, others))
        for loss in summary["losses"]:
            if (column, loss) in entries:
                raise ValueError(
                    f"Expected one comparison per loss and column "
                    f"(dataset, detector, steps): pass the folders you "
                    f"mean. Received: {loss} on "
                    f"{', '.join(map(str, column))} in both "
                    f"{entries[column, loss]['folder']} and {folder}")
            entries[column, loss] = {
                "folder": folder, "weight": weight,
                **{key: summary["metrics"].get(key, {}).get(loss)
                   for key, _ in summary_lib.METRICS}}
    lines = ["| dataset | detector | steps | loss | weight | seeds | "
             "mAP@.5 | p vs Huber | mean IoU | p vs Huber |",
             "|---|---|---|---|---|---|---|---|---|---|"]

    def column_order(column):  # dataset, detector, steps as numbers
        return column[0], column[1], str(column[2]).zfill(12)

    def order(item):  # then by mAP@.5, best first
        (column, _), entry = item
        ap = entry["AP50"]["mean"] if entry["AP50"] else float("-inf")
        return (*column_order(column), -ap)

    rows = sorted(entries.items(), key=order)
    columns = sorted(sources, key=column_order)
    for (column, loss), entry in rows:
        baseline = entries.get((column, BASELINE))
        cells = [*map(str, column), loss, entry["weight"],
                 str(max((entry[key]["n"] for key, _ in METRICS
                          if entry[key]), default=0))]
        for key, _ in METRICS:
            cells.append(_cell(entry[key]))
            cells.append("-" if loss == BASELINE or entry[key] is None else
                         _versus_baseline(entry[key], baseline and
                                          baseline[key]))
        lines.append("| " + " | ".join(cells) + " |")
    weights = "; ".join(
        f"{DETECTORS[detector]} " + " and ".join(
            f"`{key}`" for key, _ in keys)
        for detector, keys in WEIGHT_KEYS.items())
    lines += ["", f"Mean ± std over seeds; p: the paired t-test against "
                  f"{BASELINE} in the same column on their common seeds "
                  f"(two-sided; no verdict below {MIN_SEEDS} seeds). "
                  f"Weight: the box-loss weight ({weights})."]
    lines += ["", "Sources (comparison folders, with their other "
                  "overrides):", ""]
    lines += [f"- {', '.join(map(str, column))}: " + ", ".join(
        name + "".join(f" (`{o}`)" for o in others)
        for name, others in sources[column]) for column in columns]
    lines += ["", "Skipped (not results: sweeps and validation-split "
                  "comparisons choose settings, unfinished ones have no "
                  "summary yet): " + ", ".join(skipped) + "." if skipped
              else "Skipped: none."]
    for column in columns:
        if len(sources[column]) > 1:  # (their overrides: in Sources above)
            lines += ["", _joined_tables(
                column, [name for name, _ in sources[column]],
                {loss: entry for (c, loss), entry in rows if c == column})]
    return "\n".join(lines) + "\n"


def _joined_tables(column, names, entries):
    """Tables 2 and 3 of a column joined from several folders, with the
    winner's paired test per metric (`summary.format_markdown`)."""
    table = {key: {loss: entry[key] for loss, entry in entries.items()
                   if entry.get(key)} for key, _ in summary_lib.METRICS}
    title = (f"{column[0]}, {column[1]}, {column[2]} steps: Tables 2 and 3 "
             f"(joined from {', '.join(names)})")
    text = summary_lib.format_markdown(
        {"metrics": table, "winners": summary_lib.rank(table)},
        list(entries), title)
    return text + "\nBox-loss weights: " + "; ".join(
        f"{loss} {entry['weight']}" for loss, entry in entries.items()) + "."

