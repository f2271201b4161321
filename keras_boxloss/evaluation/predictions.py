"""The predictions format that `evaluate` reads.

In Python, predictions are a list of dicts, one per image:

    {"source_id": "17",              # the record's image/source_id
     "boxes": [[ymin, xmin, ymax, xmax], ...],   # normalised to the image
     "scores": [...], "classes": [...]}          # label-map ids (1..K)

Boxes are normalised to the *original* image (as the records' boxes are);
undo `"pad"` resizing first (`keras_boxloss.data.pipeline.to_original_boxes`).
`predictions_from_batch` turns a detector's batched, padded `predict` output
into this list.

On disk (`save_predictions` / `load_predictions`, chosen by extension):

- `.json`: `{"format": "keras-boxloss-predictions", "version": 1,
  "box_format": "rel_yxyx", "images": [<the dicts above>]}`, or a COCO
  results list as pycocotools' `loadRes` takes it (`[{"image_id",
  "category_id", "bbox": [x, y, w, h] in pixels, "score"}, ...]`;
  `image_id` is the record's source_id, `category_id` the label-map id).
- `.npz`: arrays `source_ids` `[M]` (strings), `boxes` `[M, K, 4]`,
  `scores` `[M, K]`, `classes` `[M, K]`, optional `num_detections` `[M]`;
  rows with a negative class (or beyond `num_detections`) are padding.
"""

import json
import os
from typing import Callable

import numpy as np

from keras_boxloss import atomic_files

FORMAT_NAME = "keras-boxloss-predictions"
FORMAT_VERSION = 1


def image_predictions(source_id, boxes, scores, classes, where="predictions"):
    """One image's predictions, checked: finite `[N, 4]` boxes and `[N]`
    scores and classes."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    scores = np.asarray(scores, np.float64).reshape(-1)
    classes = np.asarray(classes, np.float64).reshape(-1)
    where = f"{where}, image source_id {source_id}"
    if not len(boxes) == len(scores) == len(classes):
        raise ValueError(f"Expected as many boxes, scores and classes in "
                         f"{where}. Received: {len(boxes)}, {len(scores)}, "
                         f"{len(classes)}")
    bad = ~(np.isfinite(boxes).all(axis=1) & np.isfinite(scores))
    if bad.any():
        index = int(np.argmax(bad))
        raise ValueError(f"Expected finite boxes and scores in {where}. "
                         f"Received: box {boxes[index].tolist()}, score "
                         f"{scores[index]} at box {index}")
    if np.any(classes != np.round(classes)):
        raise ValueError(f"Expected integer classes in {where}. Received: "
                         f"{classes[classes != np.round(classes)][:3]}")
    return {"source_id": str(source_id), "boxes": boxes, "scores": scores,
            "classes": classes.astype(np.int64)}


def predictions_from_batch(source_ids, boxes, scores, classes,
                           num_detections=None, where="predictions"):
    """Batched, padded detector output -> the list of per-image dicts.

    Args:
        source_ids: `[B]` strings or bytes (the batch's `source_id`).
        boxes: `[B, K, 4]` normalised yxyx, to the original image.
        scores, classes: `[B, K]`; negative classes are padding.
        num_detections: optional `[B]`, valid rows per image.
        where: names the source in errors.
    """
    boxes, scores, classes = (np.asarray(a) for a in (boxes, scores, classes))
    result = []
    for i, source_id in enumerate(np.asarray(source_ids).reshape(-1)):
        if isinstance(source_id, bytes):
            source_id = source_id.decode()
        valid = classes[i] >= 0
        if num_detections is not None:
            valid &= np.arange(len(valid)) < int(np.asarray(
                num_detections)[i])
        result.append(image_predictions(
            source_id, boxes[i][valid], scores[i][valid], classes[i][valid],
            where))
    return result


def save_predictions(predictions, path):
    """Writes predictions as `.json` or `.npz` (by extension)."""
    extension = os.path.splitext(str(path))[1].lower()
    if extension == ".json":
        data = {"format": FORMAT_NAME, "version": FORMAT_VERSION,
                "box_format": "rel_yxyx",
                "images": [{"source_id": p["source_id"],
                            "boxes": np.asarray(p["boxes"]).tolist(),
                            "scores": np.asarray(p["scores"]).tolist(),
                            "classes": np.asarray(p["classes"]).tolist()}
                           for p in predictions]}
        atomic_files.write_json(path, data)
    elif extension == ".npz":
        most = max([len(p["scores"]) for p in predictions] + [1])
        count = len(predictions)
        boxes = np.full((count, most, 4), -1.0)
        scores = np.full((count, most), -1.0)
        classes = np.full((count, most), -1, np.int64)
        for i, p in enumerate(predictions):
            n = len(p["scores"])
            boxes[i, :n], scores[i, :n], classes[i, :n] = (
                p["boxes"], p["scores"], p["classes"])
        atomic_files.write_drawn(path, lambda file: np.savez(
            file, source_ids=np.array([p["source_id"] for p in predictions]),
            boxes=boxes, scores=scores, classes=classes,
            num_detections=np.array([len(p["scores"])
                                     for p in predictions])))
    else:
        raise ValueError(f"Expected a .json or .npz predictions path. "
                         f"Received: path={str(path)!r}")
    return path


def _from_coco_results(results, path, image_sizes):
    """A COCO results list (what pycocotools' `loadRes` takes: per box
    `image_id`, `category_id`, `bbox` `[x, y, w, h]` in pixels, `score`)
    as per-image predictions; `image_sizes()` `{key: (height, width)}` of
    the ground truth normalises the boxes, and `image_id` is matched to its
    keys (source ids). An image without detections has no entry, as in
    COCO results."""
    if image_sizes is None:
        raise ValueError(f"Expected the ground truth's image sizes to read "
                         f"the COCO results list {path} (its boxes are in "
                         f"pixels). Received: none")
    image_sizes = image_sizes()  # the records are read only now
    grouped = {}
    for index, result in enumerate(results):
        where = f"{path} result {index}"
        try:
            key = str(result["image_id"])
            x, y, w, h = (float(v) for v in result["bbox"])
            entry = (y, x, y + h, x + w, float(result["score"]),
                     result["category_id"])
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(
                f"Expected image_id, category_id, bbox [x, y, w, h] and "
                f"score in {where}. Received: {result!r} "
                f"({type(error).__name__}: {error})") from None
        if key not in image_sizes:
            known = sorted(image_sizes)[:3]
            raise ValueError(
                f"Expected image_id to be an image's source_id in the "
                f"evaluated records (e.g. {known}) in {where}. Received: "
                f"image_id={result['image_id']!r}")
        grouped.setdefault(key, []).append(entry)
    predictions = []
    for key, entries in grouped.items():
        height, width = image_sizes[key]
        rows = np.array([e[:4] for e in entries], np.float64)
        boxes = rows / [height, width, height, width]
        predictions.append(image_predictions(
            key, boxes, [e[4] for e in entries], [e[5] for e in entries],
            where=str(path)))
    return predictions


def load_predictions(path, image_sizes: Callable[[], dict] | None = None
                     ) -> list:
    """Reads a `.json` or `.npz` predictions file; ValueError naming the file
    and the image on bad content. A `.json` may also be a COCO results list
    (pixel `[x, y, w, h]` boxes), read with `image_sizes()`, `{source_id:
    (height, width)}` of the evaluated images: a function, called only for
    such a list, after the file has parsed (so a bad file fails before the
    records are read)."""
    extension = os.path.splitext(str(path))[1].lower()
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No predictions file {path}")
    if extension == ".npz":
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in ("source_ids", "boxes", "scores", "classes")
                       if k not in data]
            if missing:
                raise ValueError(f"Expected arrays source_ids, boxes, scores,"
                                 f" classes in {path}. Received: missing "
                                 f"{missing}")
            arrays = {k: data[k] for k in data.files}
        predictions = predictions_from_batch(
            arrays["source_ids"], arrays["boxes"], arrays["scores"],
            arrays["classes"], arrays.get("num_detections"), where=str(path))
    elif extension == ".json":
        try:
            with open(path) as file:
                data = json.load(file)
        except json.JSONDecodeError as error:
            raise ValueError(f"Bad JSON in {path}: {error}") from None
        if isinstance(data, list):
            return _from_coco_results(data, path, image_sizes)
        if not isinstance(data, dict) or not isinstance(data.get("images"),
                                                        list):
            raise ValueError(
                f"Expected a JSON object with an 'images' list, or a COCO "
                f"results list ([{{image_id, category_id, bbox, score}}, "
                f"...]), in {path}. Received: {type(data).__name__}"
                + (f" with keys {sorted(data)[:5]}" if isinstance(data, dict)
                   else ""))
        if data.get("box_format", "rel_yxyx") != "rel_yxyx":
            raise ValueError(f"Expected box_format 'rel_yxyx' in {path}. "
                             f"Received: {data.get('box_format')!r}")
        predictions = []
        for index, image in enumerate(data["images"]):
            try:
                predictions.append(image_predictions(
                    image["source_id"], image["boxes"], image["scores"],
                    image["classes"], where=f"{path} image {index}"))
            except (KeyError, TypeError) as error:
                raise ValueError(f"Expected source_id, boxes, scores, classes"
                                 f" in {path} image {index}. Received: "
                                 f"{error!r}") from None
    else:
        raise ValueError(f"Expected a .json or .npz predictions path. "
                         f"Received: path={str(path)!r}")
    ids = [p["source_id"] for p in predictions]
    if len(set(ids)) != len(ids):
        raise ValueError(f"Expected one entry per image in {path}. Received: "
                         f"source ids repeated")
    return predictions
