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
        predictions: per-image prediction dicts; every `source_id` must be
            an image of `ground_truth` (images without an entry have no
            detections).
        label_map: `{id: name}`; `None` takes the classes seen.

    Returns:
        `(gt_dataset, dt_dataset)` dicts in COCO's JSON layout.
    """
    images = {}
    for record in ground_truth:
        if int(record.source_id) in images:
            raise ValueError(f"Expected unique source ids in the ground truth."
                             f" Received: {record.source_id} twice")
        images[int(record.source_id)] = record
    gt_annotations, dt_annotations = [], []
    for record in ground_truth:
        for box, label, crowd, area in zip(
                _pixel_xywh(record.boxes, record.height, record.width),
                record.classes, record.is_crowd, record.area):
            gt_annotations.append({
                "id": len(gt_annotations) + 1,
                "image_id": int(record.source_id),
                "category_id": int(label), "bbox": box.tolist(),
                "area": float(area), "iscrowd": int(crowd)})
    for prediction in predictions:
        image_id = int(prediction["source_id"])
        if image_id not in images:
            raise ValueError(f"Expected predictions for images of the ground "
                             f"truth. Received: source_id="
                             f"{prediction['source_id']!r}, not in the data")
        record = images[image_id]
        for box, score, label in zip(
                _pixel_xywh(prediction["boxes"], record.height, record.width),
                prediction["scores"], prediction["classes"]):
            dt_annotations.append({
                "id": len(dt_annotations) + 1, "image_id": image_id,
                "category_id": int(label), "bbox": box.tolist(),
                "area": float(max(box[2], 0) * max(box[3], 0)),
                "score": float(score), "iscrowd": 0})
    if label_map is None:
        ids = {a["category_id"] for a in gt_annotations + dt_annotations}
        label_map = {i: str(i) for i in sorted(ids)}
    unknown = sorted({a["category_id"] for a in gt_annotations
                      + dt_annotations} - set(label_map))
    if unknown:
        raise ValueError(f"Expected classes of the label map "
                         f"{sorted(label_map)}. Received: classes {unknown} "
                         f"in the ground truth or predictions")
    categories = [{"id": int(i), "name": str(n)} for i, n in
                  sorted(label_map.items())]
    image_list = [{"id": i, "height": r.height, "width": r.width,
                   "file_name": r.filename} for i, r in images.items()]
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


def coco_metrics(ground_truth, predictions, label_map=None):
    """COCO box AP/AR: `AP` (IoU 0.5:0.95), `AP50`, `AP75`, `AP_small`,
    `AP_medium`, `AP_large`, `AR1`, `AR10`, `AR100`, `AR_small`,
    `AR_medium`, `AR_large`.

    Values are pycocotools' own: -1 where no ground truth falls in an area
    range. At most 100 detections per image count (COCO's maxDets).
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
    return {name: float(value)
            for name, value in zip(COCO_METRICS, evaluator.stats)}
