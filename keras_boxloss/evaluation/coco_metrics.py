"""COCO box metrics via pycocotools, from records' ground truth and the
predictions format of `keras_boxloss.evaluation.predictions`."""

import contextlib
import io

import numpy as np

# Name -> index into COCOeval.stats.
COCO_METRICS = ("AP", "AP50", "AP75", "AP_small", "AP_medium", "AP_large",
                "AR1", "AR10", "AR100", "AR_small", "AR_medium", "AR_large")


def _pixel_xywh(boxes, height, width):
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4) * [
        height, width, height, width]
    return np.stack([boxes[:, 1], boxes[:, 0], boxes[:, 3] - boxes[:, 1],
                     boxes[:, 2] - boxes[:, 0]], -1)


def to_coco(ground_truth, predictions, label_map=None):
    """The ground-truth and detection datasets as COCO dicts.

    Args:
        ground_truth: `DetectionRecord`s (from `read_records`).
        predictions: per-image prediction dicts whose `source_id` is an
            image's key (`keras_boxloss.data.records.image_keys`: its
            source_id, else file name); images without an entry have no
            detections.
        label_map: `{id: name}`; `None` takes the classes seen. Category
            names are the display names where the label map has them.

    Returns:
        `(gt_dataset, dt_dataset)` dicts in COCO's JSON layout. COCO wants
        integer image ids: images are numbered 1, 2, ... in ground-truth
        order (stable for the same data), and each image's `file_name` is
        its key, so results name the user's images.
    """
    from keras_boxloss.data.label_map import display_names
    from keras_boxloss.data.records import image_keys

    keys = image_keys(ground_truth)  # an error naming both on a duplicate
    image_ids = {key: i + 1 for i, key in enumerate(keys)}
    gt_annotations, dt_annotations = [], []
    for key, record in zip(keys, ground_truth):
        for box, label, crowd, area in zip(
                _pixel_xywh(record.boxes, record.height, record.width),
                record.classes, record.is_crowd, record.area):
            gt_annotations.append({
                "id": len(gt_annotations) + 1, "image_id": image_ids[key],
                "category_id": int(label), "bbox": box.tolist(),
                "area": float(area), "iscrowd": int(crowd)})
    for prediction in predictions:
        key = str(prediction["source_id"])
        if key not in image_ids:
            raise ValueError(f"Expected predictions for images of the ground "
                             f"truth. Received: source_id="
                             f"{prediction['source_id']!r}, not in the data")
        record = ground_truth[image_ids[key] - 1]
        for box, score, label in zip(
                _pixel_xywh(prediction["boxes"], record.height, record.width),
                prediction["scores"], prediction["classes"]):
            dt_annotations.append({
                "id": len(dt_annotations) + 1, "image_id": image_ids[key],
                "category_id": int(label), "bbox": box.tolist(),
                "area": float(max(box[2], 0) * max(box[3], 0)),
                "score": float(score), "iscrowd": 0})
    if label_map is None:
        ids = {a["category_id"] for a in gt_annotations + dt_annotations}
        label_map = {i: str(i) for i in sorted(ids)}
    unknown = sorted({a["category_id"] for a in gt_annotations}
                     - set(label_map))
    if unknown:
        raise ValueError(f"Expected classes of the label map "
                         f"{sorted(label_map)}. Received: classes {unknown} "
                         f"in the ground truth")
    # A model with more class slots than the label map has ids (gaps in
    # the ids, or num_classes larger) can predict a class that does not
    # exist: COCOeval scores only the label map's categories, so those
    # detections count for no class (`evaluate` reports how many).
    shown = display_names(label_map)
    categories = [{"id": int(i), "name": str(shown[i])}
                  for i in sorted(label_map)]
    image_list = [{"id": image_ids[k], "height": r.height, "width": r.width,
                   "file_name": k} for k, r in zip(keys, ground_truth)]
    return ({"images": image_list, "annotations": gt_annotations,
             "categories": categories},
            {"images": image_list, "annotations": dt_annotations,
             "categories": categories})


def _coco(dataset):
    from pycocotools.coco import COCO

    coco = COCO()
    coco.dataset = dataset
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def coco_metrics(ground_truth, predictions, label_map=None,
                 per_class=False):
    """COCO box AP/AR: `AP` (IoU 0.5:0.95), `AP50`, `AP75`, `AP_small`,
    `AP_medium`, `AP_large`, `AR1`, `AR10`, `AR100`, `AR_small`,
    `AR_medium`, `AR_large`; with `per_class`, also `per_class` (rows of
    `{"id", "name" (display name), "AP", "AP50", "AP75", "AR100",
    "num_ground_truth"}`) and `pr_curves` (precision-recall per class at
    IoU 0.5 and 0.75), read from the same COCOeval pass
    (`keras_boxloss.evaluation.per_class`).

    Values are pycocotools' own: -1 where no ground truth falls in an area
    range (per class: where the class has no ground truth). At most 100
    detections per image count (COCO's maxDets).
    """
    from pycocotools.cocoeval import COCOeval

    ground_truth = list(ground_truth)
    gt_dataset, dt_dataset = to_coco(ground_truth, predictions, label_map)
    if not gt_dataset["annotations"]:
        raise ValueError("Expected at least one ground-truth box. Received: "
                         "none in the data")
    evaluator = COCOeval(_coco(gt_dataset), _coco(dt_dataset), "bbox")
    with contextlib.redirect_stdout(io.StringIO()):
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    results = {name: float(value)
               for name, value in zip(COCO_METRICS, evaluator.stats)}
    if per_class:
        from keras_boxloss.evaluation.per_class import (per_class_rows,
                                                        pr_curves)

        results["per_class"] = per_class_rows(evaluator, gt_dataset)
        results["pr_curves"] = pr_curves(evaluator, gt_dataset)
    return results

