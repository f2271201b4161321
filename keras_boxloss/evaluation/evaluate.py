"""The evaluation API: COCO metrics and the paper's localisation metric,
as a dict, a printed table and a JSON file."""

import json

import numpy as np

from keras_boxloss.evaluation.coco_metrics import COCO_METRICS, coco_metrics
from keras_boxloss.evaluation.localization import localization_metrics

DESCRIPTIONS = {
    "AP": "COCO AP, IoU 0.50:0.95",
    "AP50": "COCO AP, IoU 0.50",
    "AP75": "COCO AP, IoU 0.75",
    "AP_small": "COCO AP, area < 32^2 px",
    "AP_medium": "COCO AP, 32^2 - 96^2 px",
    "AP_large": "COCO AP, area > 96^2 px",
    "AR1": "COCO AR, 1 detection per image",
    "AR10": "COCO AR, 10 detections per image",
    "AR100": "COCO AR, 100 detections per image",
    "AR_small": "COCO AR@100, small",
    "AR_medium": "COCO AR@100, medium",
    "AR_large": "COCO AR@100, large",
    "mean_iou_every_prediction": "mean IoU, every predicted box (paper, "
                                 "Table 2)",
    "mean_iou_matched_detections": "mean IoU, matched top detections",
    "num_predictions": "predicted boxes",
    "num_matched": "matched detections",
    "num_ground_truth": "ground-truth boxes (not crowd)",
}


def check_inputs(ground_truth, predictions, label_map=None,
                 where="predictions"):
    """The checks `evaluate_detections` makes before computing anything:
    one image per key, class labels and texts against the label map
    (`records.check_record_labels`), prediction boxes normalised yxyx
    (`keras_boxloss.evaluation.checks`). Raises `ValueError`."""
    from keras_boxloss.data.records import check_record_labels, image_keys
    from keras_boxloss.evaluation.checks import (check_box_order,
                                                 check_box_values)

    keys = image_keys(ground_truth)
    check_record_labels(ground_truth, label_map)
    check_box_values(predictions, where)
    check_box_order(predictions, dict(zip(keys, ground_truth)), where)


def predictions_outside(predictions, label_map):
    """How many predicted boxes have a class the label map lacks (0 without
    a label map): they count as false detections of no class."""
    if label_map is None:
        return 0
    known = np.array(sorted(label_map))
    return int(sum((~np.isin(np.asarray(p["classes"]), known)).sum()
                   for p in predictions))


def evaluate_detections(ground_truth, predictions, label_map=None,
                        iou_threshold=0.5, per_class=False):
    """All metrics of `ground_truth` records against `predictions` (see
    `keras_boxloss.evaluation.predictions`), after `check_inputs`.

    Returns:
        A flat dict: the `COCO_METRICS` names, the localisation metrics,
        `num_images`, `num_predictions_outside_label_map` (predicted
        classes the label map lacks: no COCO category scores them, the
        mean IoU counts them as misses) and `iou_threshold` (of the
        matched mean IoU); with
        `per_class`, also `per_class` (see `coco_metrics`).
    """
    ground_truth = list(ground_truth)
    predictions = list(predictions)
    check_inputs(ground_truth, predictions, label_map)
    results = coco_metrics(ground_truth, predictions, label_map, per_class)
    results.update(localization_metrics(ground_truth, predictions,
                                        iou_threshold))
    results["num_images"] = len(ground_truth)
    results["num_predictions_outside_label_map"] = predictions_outside(
        predictions, label_map)
    results["iou_threshold"] = iou_threshold
    return results


def format_metrics_table(results):
    """The results as an aligned text table (metric, value, meaning)."""
    names = [n for n in (*COCO_METRICS, "mean_iou_every_prediction",
                         "mean_iou_matched_detections", "num_predictions",
                         "num_matched", "num_ground_truth") if n in results]
    width = max(len(n) for n in names)
    lines = [f"{'metric':<{width}}  {'value':>8}  meaning"]
    for name in names:
        value = results[name]
        shown = f"{value:>8d}" if isinstance(value, int) else f"{value:>8.4f}"
        meaning = DESCRIPTIONS[name]
        if name == "mean_iou_matched_detections":
            meaning += f" (IoU >= {results.get('iou_threshold', 0.5):g})"
        lines.append(f"{name:<{width}}  {shown}  {meaning}")
    return "\n".join(lines)


def format_per_class_table(results):
    """`results["per_class"]` as a text table: class (display name), id,
    ground-truth boxes, AP, AP50 (`-` where the class has no ground
    truth)."""
    rows = results["per_class"]
    width = max([len("class")] + [len(r["name"]) for r in rows])
    lines = [f"{'class':<{width}}  {'id':>4}  {'boxes':>6}  {'AP':>7}  "
             f"{'AP50':>7}"]
    for row in rows:
        values = [f"{row[k]:>7.4f}" if row[k] >= 0 else f"{'-':>7}"
                  for k in ("AP", "AP50")]
        lines.append(f"{row['name']:<{width}}  {row['id']:>4}  "
                     f"{row['num_ground_truth']:>6}  {values[0]}  "
                     f"{values[1]}")
    return "\n".join(lines)


def write_metrics_json(results, path):
    with open(path, "w") as file:
        json.dump(results, file, indent=1, sort_keys=True)
    return path
