"""A detection confusion matrix with a background row and column.

Rows are the true class, columns the predicted class; the last row and
column are "background". Per image, the predictions scored at least
`score_threshold` are paired one-to-one with the ground-truth boxes
whatever their classes, greedily by descending IoU, when the IoU is at
least `iou_threshold` (the way Ultralytics and MMDetection build theirs):

- a pair counts at `[true class, predicted class]` (the diagonal when the
  class is right, off it when the box is found but mislabelled);
- a ground-truth box left unpaired counts at `[true class, background]`
  (missed);
- a prediction left unpaired counts at `[background, predicted class]`
  (a detection of nothing).

Crowd ground truth takes no part. Predictions of classes the label map
lacks are left out and counted in `num_predictions_outside_label_map`.
"""

import numpy as np

from keras_boxloss import atomic_files

BACKGROUND = "background"


def _pairs(ious: np.ndarray, iou_threshold: float) -> list[tuple[int, int]]:
    """(prediction, truth) pairs, greedy by descending IoU, one-to-one."""
    candidates = np.argwhere(ious >= max(iou_threshold, 1e-12))
    # Stable sort on -IoU: equal IoUs keep (prediction, truth) order, so
    # the pairing does not depend on the sort algorithm.
    order = np.argsort(-ious[tuple(candidates.T)], kind="stable")
    used_p, used_t, pairs = set(), set(), []
    for p, t in candidates[order]:
        if p not in used_p and t not in used_t:
            used_p.add(p)
            used_t.add(t)
            pairs.append((int(p), int(t)))
    return pairs


def confusion_matrix(ground_truth, predictions, label_map=None,
                     score_threshold: float = 0.3,
                     iou_threshold: float = 0.5) -> dict:
    """The confusion matrix of `predictions` against `ground_truth` records.

    Returns:
        `{"classes": [{"id", "name"}], "labels": [names..., "background"],
        "matrix": [[int]] (K + 1 rows of true classes, K + 1 columns of
        predicted classes), "score_threshold", "iou_threshold",
        "num_predictions_outside_label_map"}`. Names are the label map's
        display names; without a label map the classes seen, by id.
    """
    from keras_boxloss.data.label_map import display_names
    from keras_boxloss.data.records import image_keys
    from keras_boxloss.evaluation.localization import _iou_matrix

    for name, value in (("score_threshold", score_threshold),
                        ("iou_threshold", iou_threshold)):
        if not 0 <= value <= 1:
            raise ValueError(f"Expected 0 <= {name} <= 1. Received: "
                             f"{name}={value}")
    ground_truth, predictions = list(ground_truth), list(predictions)
    if label_map is None:
        seen = {int(c) for r in ground_truth for c in r.classes}
        seen |= {int(c) for p in predictions for c in p["classes"]}
        label_map = {i: str(i) for i in sorted(seen)}
    ids = sorted(label_map)
    names = display_names(label_map)
    column = {label: i for i, label in enumerate(ids)}
    background = len(ids)
    unknown = sorted({int(c) for r in ground_truth for c in r.classes}
                     - set(ids))
    if unknown:
        raise ValueError(f"Expected classes of the label map {ids}. "
                         f"Received: classes {unknown} in the ground truth")
    matrix = np.zeros((len(ids) + 1, len(ids) + 1), np.int64)
    truth = dict(zip(image_keys(ground_truth), ground_truth))
    by_key = {str(p["source_id"]): p for p in predictions}
    outside = 0
    for key, record in truth.items():
        keep = record.is_crowd == 0
        gt_boxes = record.boxes[keep]
        gt_rows = [column[int(c)] for c in record.classes[keep]]
        found = by_key.get(key)
        boxes, pred_columns = np.zeros((0, 4)), []
        if found is not None:
            classes = np.asarray(found["classes"]).reshape(-1)
            known = np.isin(classes, ids)
            outside += int((~known).sum())
            chosen = known & (np.asarray(found["scores"]).reshape(-1)
                              >= score_threshold)
            boxes = np.asarray(found["boxes"]).reshape(-1, 4)[chosen]
            pred_columns = [column[int(c)] for c in classes[chosen]]
        pairs = _pairs(_iou_matrix(boxes, gt_boxes, record.height,
                                   record.width), iou_threshold)
        for p, t in pairs:
            matrix[gt_rows[t], pred_columns[p]] += 1
        for t in set(range(len(gt_rows))) - {t for _, t in pairs}:
            matrix[gt_rows[t], background] += 1
        for p in set(range(len(pred_columns))) - {p for p, _ in pairs}:
            matrix[background, pred_columns[p]] += 1
    missing = sorted(set(by_key) - set(truth))
    if missing:
        raise ValueError(f"Expected predictions for images of the ground "
                         f"truth. Received: source_id={missing[0]!r}, not "
                         f"in the data")
    return {"classes": [{"id": int(i), "name": str(names.get(i, i))}
                        for i in ids],
            "labels": [str(names.get(i, i)) for i in ids] + [BACKGROUND],
            "matrix": matrix.tolist(),
            "score_threshold": float(score_threshold),
            "iou_threshold": float(iou_threshold),
            "num_predictions_outside_label_map": outside}


def write_confusion_json(confusion: dict, path) -> str:
    return atomic_files.write_json(path, confusion, indent=1)


def save_confusion_png(confusion: dict, path) -> str:
    """The matrix as a heat map with its counts written in the cells."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on servers and in CI
    import matplotlib.pyplot as plt

    matrix = np.asarray(confusion["matrix"])
    labels = confusion["labels"]
    size = max(4.0, 0.6 * len(labels) + 2)
    figure, axis = plt.subplots(figsize=(size + 1, size))
    image = axis.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axis, fraction=0.046)
    ticks = np.arange(len(labels))
    axis.set_xticks(ticks, labels, rotation=45, ha="right")
    axis.set_yticks(ticks, labels)
    axis.set(xlabel="predicted class", ylabel="true class",
             title=f"IoU {confusion['iou_threshold']:g}, score >= "
                   f"{confusion['score_threshold']:g}")
    # Dark text on light cells, light on dark, so every count is legible.
    middle = matrix.max() / 2 if matrix.size else 0
    for (row, col), count in np.ndenumerate(matrix):
        axis.text(col, row, str(count), ha="center", va="center",
                  color="white" if count > middle else "black",
                  fontsize="small")
    figure.tight_layout()
    return atomic_files.write_figure(path, figure, dpi=100)
