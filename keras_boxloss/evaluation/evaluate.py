"""The evaluation API: COCO metrics and the paper's localisation metric,
as a dict, a printed table and a JSON file."""

import numpy as np

from keras_boxloss import atomic_files
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
        `per_class`, also `per_class` (see `coco_metrics`, with each
        class's `mean_iou_every_prediction`, `mean_iou_matched_detections`
        and `num_predictions` added) and `pr_curves`.
    """
    ground_truth = list(ground_truth)
    predictions = list(predictions)
    check_inputs(ground_truth, predictions, label_map)
    results = coco_metrics(ground_truth, predictions, label_map, per_class)
    localization = localization_metrics(ground_truth, predictions,
                                        iou_threshold, per_class=per_class)
    if per_class:
        from keras_boxloss.evaluation.per_class import add_mean_iou

        add_mean_iou(results["per_class"], localization.pop("per_class"))
    results.update(localization)
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
    ground-truth boxes, AP, AP50, AP75, AR100 and, where present, the
    paper's two mean IoUs of the class's predictions (`-` where there is
    nothing to average: no ground truth, no predictions)."""
    rows = results["per_class"]
    columns = [c for c in ("AP", "AP50", "AP75", "AR100",
                           "mean_iou_every_prediction",
                           "mean_iou_matched_detections") if c in rows[0]]
    # Short headers keep the table within 80 columns.
    headers = {"mean_iou_every_prediction": "mIoU",
               "mean_iou_matched_detections": "mIoU_m"}
    width = max([len("class")] + [len(r["name"]) for r in rows])
    lines = [f"{'class':<{width}}  {'id':>4}  {'boxes':>6}  " + "  ".join(
        f"{headers.get(c, c):>7}" for c in columns)]
    for row in rows:
        values = [f"{row[c]:>7.4f}" if row[c] >= 0 else f"{'-':>7}"
                  for c in columns]
        lines.append(f"{row['name']:<{width}}  {row['id']:>4}  "
                     f"{row['num_ground_truth']:>6}  " + "  ".join(values))
    if "mean_iou_every_prediction" in columns:
        lines += [f"mIoU: {DESCRIPTIONS['mean_iou_every_prediction']}",
                  f"mIoU_m: mean IoU, matched detections (IoU >= "
                  f"{results.get('iou_threshold', 0.5):g}); both over the "
                  f"boxes predicted as the class"]
    return "\n".join(lines)


def write_per_class_outputs(results, confusion, stem):
    """The files `evaluate` writes beside its metrics JSON, from `results`
    of `evaluate_detections(..., per_class=True)` and a `confusion_matrix`:
    `<stem>.per_class.csv`, `<stem>.pr_curves.png` (and its numbers,
    `<stem>.pr_curves.json`), `<stem>.confusion.json` and
    `<stem>.confusion.png`. Returns their paths by kind."""
    from keras_boxloss.evaluation.confusion import (save_confusion_png,
                                                    write_confusion_json)
    from keras_boxloss.evaluation.per_class import (save_pr_curves,
                                                    write_per_class_csv)

    return {
        "per_class": write_per_class_csv(results["per_class"],
                                         f"{stem}.per_class.csv"),
        "pr_curves": save_pr_curves(results["pr_curves"],
                                    f"{stem}.pr_curves.png"),
        "pr_curves_json": write_metrics_json(results["pr_curves"],
                                             f"{stem}.pr_curves.json"),
        "confusion_json": write_confusion_json(confusion,
                                               f"{stem}.confusion.json"),
        "confusion_png": save_confusion_png(confusion,
                                            f"{stem}.confusion.png")}


def write_metrics_json(results, path):
    """`results` as JSON, less `pr_curves` (101 numbers per class and
    threshold: `write_per_class_outputs` gives them their own file)."""
    results = {k: v for k, v in results.items() if k != "pr_curves"}
    atomic_files.write_json(path, results, indent=1, sort_keys=True)
    return path
