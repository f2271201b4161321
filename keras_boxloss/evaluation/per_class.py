"""Per-class results from the one COCOeval pass of `coco_metrics`: AP, AP50,
AP75 and AR@100 of each class and its precision-recall curves, read from
the accumulated `eval["precision"]` `[T, R, K, A, M]` (IoU thresholds,
recall points, classes, area ranges, max detections) and `eval["recall"]`
`[T, K, A, M]`; a CSV of the table and a PNG of the curves."""

import csv
import io

import numpy as np

from keras_boxloss import atomic_files

# The IoU thresholds of the drawn precision-recall curves.
CURVE_IOUS = (0.5, 0.75)
# Columns of the per-class CSV, in order.
CSV_COLUMNS = ("id", "name", "num_ground_truth", "AP", "AP50", "AP75",
               "AR100", "mean_iou_every_prediction",
               "mean_iou_matched_detections", "num_predictions")


def _iou_index(evaluator, iou: float) -> int:
    thresholds = evaluator.params.iouThrs
    index = int(np.argmin(np.abs(thresholds - iou)))
    if abs(thresholds[index] - iou) > 1e-6:
        raise ValueError(f"Expected an IoU threshold of COCOeval "
                         f"({thresholds.tolist()}). Received: iou={iou}")
    return index


def _mean(values: np.ndarray) -> float:
    # As COCOeval.summarize: -1 marks "no ground truth" and is left out.
    values = values[values > -1]
    return float(values.mean()) if values.size else -1.0


def per_class_rows(evaluator, gt_dataset: dict) -> list[dict]:
    """One row per category of `gt_dataset`: `id`, `name` (display name),
    `AP` (IoU 0.50:0.95), `AP50`, `AP75`, `AR100` (area "all", 100
    detections) and `num_ground_truth` (not crowd); -1.0 where the class
    has no ground truth."""
    # Area range "all" (index 0) and the largest maxDets (100).
    precision = evaluator.eval["precision"][:, :, :, 0, -1]
    recall = evaluator.eval["recall"][:, :, 0, -1]
    iou_50, iou_75 = _iou_index(evaluator, 0.5), _iou_index(evaluator, 0.75)
    counts: dict[int, int] = {}
    for annotation in gt_dataset["annotations"]:
        if not annotation["iscrowd"]:
            label = annotation["category_id"]
            counts[label] = counts.get(label, 0) + 1
    rows = []
    for index, category in enumerate(gt_dataset["categories"]):
        rows.append({"id": category["id"], "name": category["name"],
                     "AP": _mean(precision[:, :, index]),
                     "AP50": _mean(precision[iou_50, :, index]),
                     "AP75": _mean(precision[iou_75, :, index]),
                     "AR100": _mean(recall[:, index]),
                     "num_ground_truth": counts.get(category["id"], 0)})
    return rows


def pr_curves(evaluator, gt_dataset: dict) -> dict:
    """COCO's interpolated precision at its 101 recall points, per class,
    at IoU 0.5 and 0.75 (area "all", 100 detections): `{"recall": [R],
    "iou_thresholds": [0.5, 0.75], "classes": [{"id", "name",
    "precision": [[R], [R]]}]}`; a class without ground truth has
    precision -1 throughout (COCOeval's mark)."""
    precision = evaluator.eval["precision"][:, :, :, 0, -1]
    indices = [_iou_index(evaluator, iou) for iou in CURVE_IOUS]
    return {"recall": np.asarray(evaluator.params.recThrs).tolist(),
            "iou_thresholds": list(CURVE_IOUS),
            "classes": [{"id": category["id"], "name": category["name"],
                         "precision": [precision[t, :, k].tolist()
                                       for t in indices]}
                        for k, category in enumerate(
                            gt_dataset["categories"])]}


def add_mean_iou(rows: list[dict], by_class: dict) -> list[dict]:
    """Adds the paper's two mean IoUs per (predicted) class to `rows`
    (`localization_metrics(..., per_class=True)["per_class"]`); -1.0 and
    0 predictions for a class never predicted."""
    for row in rows:
        found = by_class.get(row["id"], {})
        row["mean_iou_every_prediction"] = found.get(
            "mean_iou_every_prediction", -1.0)
        row["mean_iou_matched_detections"] = found.get(
            "mean_iou_matched_detections", -1.0)
        row["num_predictions"] = found.get("num_predictions", 0)
    return rows


def write_per_class_csv(rows: list[dict], path) -> str:
    """The per-class table as CSV (`CSV_COLUMNS`; -1 = no data)."""
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return atomic_files.write_text(path, text.getvalue())


def save_pr_curves(curves: dict, path) -> str:
    """One PNG: a panel per IoU threshold, a precision-recall line per
    class with ground truth, its AP at that threshold in the legend."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on servers and in CI
    import matplotlib.pyplot as plt

    recall = np.asarray(curves["recall"])
    thresholds = curves["iou_thresholds"]
    figure, axes = plt.subplots(1, len(thresholds), squeeze=False,
                                figsize=(5.5 * len(thresholds), 4.5))
    for t, (axis, iou) in enumerate(zip(axes[0], thresholds)):
        for row in curves["classes"]:
            precision = np.asarray(row["precision"][t])
            if (precision < 0).all():
                continue  # no ground truth: no curve to draw
            # COCO's AP at this IoU is the mean of these 101 points.
            axis.plot(recall, precision, label=f"{row['name']} "
                      f"(AP {precision.mean():.3f})")
        axis.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="recall",
                 ylabel="precision", title=f"IoU {iou:g}")
        axis.grid(alpha=0.3)
        if axis.get_legend_handles_labels()[0]:
            axis.legend(fontsize="small", loc="lower left")
    figure.tight_layout()
    return atomic_files.write_figure(path, figure, dpi=100)
