"""The Smooth IoU paper's localisation metric: mean IoU of predicted boxes
with their ground truth (Table 2).

Two numbers, named for what they average:

- `mean_iou_every_prediction` -- the paper's: every proposed box counts,
  whatever its score and without discounting, with the IoU of the
  ground-truth box of its class in its image that it overlaps most (0 when
  it overlaps none). A detector that proposes many loose boxes scores low
  even when its top box is exact.
- `mean_iou_matched_detections` -- the same over the matched top
  detections only: detections in descending score order, each matched
  one-to-one to the unmatched ground-truth box of its class with the
  highest IoU, when that IoU is at least `iou_threshold` (COCO-style greedy
  matching); the mean IoU of the matched pairs.

Crowd ground truth (`is_crowd`) takes part in neither. With
`class_aware=False`, classes are ignored when pairing.
"""

import numpy as np


def _iou_matrix(predicted, truth, height, width):
    """IoU of normalised yxyx boxes, computed in pixels (IoU does not
    change under per-axis scaling; pixels keep `eps` negligible)."""
    from keras import ops

    from keras_boxloss.boxes import pairwise_iou, to_xyxy

    if not len(predicted) or not len(truth):
        return np.zeros((len(predicted), len(truth)))
    scale = np.array([height, width, height, width], np.float64)
    return ops.convert_to_numpy(pairwise_iou(
        to_xyxy(np.asarray(predicted, np.float64) * scale, "yxyx", "float64"),
        to_xyxy(np.asarray(truth, np.float64) * scale, "yxyx", "float64"),
        eps=1e-12))


def localization_metrics(ground_truth, predictions, iou_threshold=0.5,
                         class_aware=True, per_class=False):
    """Returns `mean_iou_every_prediction`, `mean_iou_matched_detections`,
    `num_predictions`, `num_matched`, `num_ground_truth`; with `per_class`,
    also `per_class`: `{class id: the first four of those}` over the
    predictions of that (predicted) class, -1.0 for a mean over nothing.

    Args:
        ground_truth: `DetectionRecord`s.
        predictions: per-image prediction dicts (see `predictions.py`),
            `source_id` the image's key (`records.image_keys`).
        iou_threshold: the least IoU of a matched pair.
        class_aware: pair only boxes of the same class.

    A mean over nothing (no predictions, no matches) is 0.0.
    """
    if not 0 <= iou_threshold <= 1:
        raise ValueError(f"Expected 0 <= iou_threshold <= 1. Received: "
                         f"iou_threshold={iou_threshold}")
    from keras_boxloss.data.records import image_keys

    ground_truth = list(ground_truth)
    truth = dict(zip(image_keys(ground_truth), ground_truth))
    every, matched = [], []
    every_class, matched_class = [], []  # the predicted class of each
    num_truth = sum(int((r.is_crowd == 0).sum()) for r in truth.values())
    for prediction in predictions:
        record = truth.get(str(prediction["source_id"]))
        if record is None:
            raise ValueError(f"Expected predictions for images of the ground "
                             f"truth. Received: source_id="
                             f"{prediction['source_id']!r}, not in the data")
        keep = record.is_crowd == 0
        gt_boxes, gt_classes = record.boxes[keep], record.classes[keep]
        boxes = np.asarray(prediction["boxes"]).reshape(-1, 4)
        classes = np.asarray(prediction["classes"]).reshape(-1)
        ious = _iou_matrix(boxes, gt_boxes, record.height, record.width)
        if class_aware:
            ious = ious * (classes[:, None] == gt_classes[None, :])
        every.extend(ious.max(axis=1) if ious.shape[1] else
                     np.zeros(len(boxes)))
        every_class.extend(classes.tolist())
        taken = np.zeros(len(gt_boxes), bool)
        for i in np.argsort(-np.asarray(prediction["scores"]),
                            kind="stable"):
            candidates = np.where(taken, -1.0, ious[i])
            if not len(candidates):
                break
            best = int(np.argmax(candidates))
            if candidates[best] >= iou_threshold and candidates[best] > 0:
                taken[best] = True
                matched.append(candidates[best])
                matched_class.append(int(classes[i]))
    results = {
        "mean_iou_every_prediction": float(np.mean(every)) if every else 0.0,
        "mean_iou_matched_detections": (float(np.mean(matched)) if matched
                                        else 0.0),
        "num_predictions": len(every),
        "num_matched": len(matched),
        "num_ground_truth": num_truth,
    }
    if per_class:
        results["per_class"] = _by_class(every, every_class, matched,
                                         matched_class)
    return results


def _by_class(every, every_class, matched, matched_class):
    """The means split by predicted class. With class-aware pairing each
    class's matching is independent of the others', so the split equals a
    run on that class alone. -1.0 (not the overall 0.0) marks a mean over
    nothing, so a table can tell "no predictions" from "IoU 0"."""
    every, matched = np.asarray(every), np.asarray(matched)
    every_class = np.asarray(every_class, np.int64)
    matched_class = np.asarray(matched_class, np.int64)
    rows = {}
    for label in sorted(set(every_class.tolist())):
        ious = every[every_class == label]
        hits = matched[matched_class == label]
        rows[label] = {
            "mean_iou_every_prediction": float(ious.mean()),
            "mean_iou_matched_detections": (float(hits.mean()) if hits.size
                                            else -1.0),
            "num_predictions": int(ious.size),
            "num_matched": int(hits.size)}
    return rows
