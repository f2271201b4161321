"""Checks that predictions are what `evaluate` reads: normalised
`[ymin, xmin, ymax, xmax]` boxes of the original image.

A wrong box convention does not crash COCO evaluation, it scores 0, so the
common mistakes are refused with an error naming the first offending image
(its key: source_id or file name) and box:

- non-finite values;
- values outside [0, 1] beyond `TOLERANCE` (hint when they look like pixels:
  anything above `PIXEL_HINT`);
- inverted boxes, ymin > ymax or xmin > xmax (hint: `[x, y, w, h]` boxes
  read as yxyx are inverted whenever the width is smaller than x);
- boxes in `[xmin, ymin, xmax, ymax]` order. Read as yxyx these are valid
  boxes (the transpose of the right ones), so no single box gives them
  away; the data does: against the ground truth they overlap far better
  with x and y swapped. `check_box_order` compares the two readings on the
  top-scoring boxes of every image.
"""

from __future__ import annotations

import numpy as np

TOLERANCE = 1e-3   # float32 rounding and decoders that overshoot slightly
PIXEL_HINT = 1.5   # a normalised box never gets near this
# `check_box_order`: the share of top boxes matching the ground truth at IoU
# >= 0.5 with x and y swapped, and at most this fraction of that count as
# given (a box near the image's diagonal overlaps its own transpose, so
# some boxes match both ways: 2 of 16 in a small dataset of wide boxes).
SWAPPED_MATCHES = 0.5
GIVEN_MATCHES = 0.25

_EXPECTED = "normalised [ymin, xmin, ymax, xmax] boxes in [0, 1]"


def check_box_values(predictions, where: str = "predictions") -> None:
    """Raises `ValueError` at the first non-finite, out-of-range or inverted
    box, naming the image and the box index."""
    most = max((float(np.max(np.asarray(p["boxes"], np.float64)))
                for p in predictions if np.size(p["boxes"])
                and np.isfinite(p["boxes"]).all()), default=0.0)
    pixel_hint = (f" The boxes look like pixels (values up to {most:g}): "
                  f"divide y by the image height and x by its width."
                  if most > PIXEL_HINT else "")
    for prediction in predictions:
        boxes = np.asarray(prediction["boxes"], np.float64).reshape(-1, 4)
        image = f"image {prediction['source_id']!r}"
        for index, box in enumerate(boxes):
            shown = [round(float(v), 4) for v in box]
            if not np.isfinite(box).all():
                raise ValueError(
                    f"Expected finite {_EXPECTED} in {where}. Received: "
                    f"{shown} at {image} box {index}")
            if box.min() < -TOLERANCE or box.max() > 1 + TOLERANCE:
                raise ValueError(
                    f"Expected {_EXPECTED} (tolerance {TOLERANCE:g}) in "
                    f"{where}. Received: {shown} at {image} box {index}."
                    + pixel_hint)
            if box[0] > box[2] or box[1] > box[3]:
                hint = (" It looks like [x, y, width, height]: convert to "
                        "[ymin, xmin, ymax, xmax]."
                        if box[0] + box[2] <= 1 + TOLERANCE
                        and box[1] + box[3] <= 1 + TOLERANCE else "")
                raise ValueError(
                    f"Expected {_EXPECTED} with ymin <= ymax and xmin <= "
                    f"xmax in {where}. Received: {shown} (inverted) at "
                    f"{image} box {index}.{hint}")


def _best_iou(boxes: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Each box's best IoU with `truth` (yxyx, any common scale)."""
    if not len(truth):
        return np.zeros(len(boxes))
    top = np.maximum(boxes[:, None, :2], truth[None, :, :2])
    bottom = np.minimum(boxes[:, None, 2:], truth[None, :, 2:])
    inter = np.prod(np.clip(bottom - top, 0, None), axis=-1)
    area = lambda b: np.prod(b[..., 2:] - b[..., :2], axis=-1)  # noqa: E731
    union = area(boxes)[:, None] + area(truth)[None, :] - inter
    return (inter / np.maximum(union, 1e-12)).max(axis=1)


def check_box_order(predictions, truth_by_key: dict,
                    where: str = "predictions") -> None:
    """Raises `ValueError` when the boxes look like `[xmin, ymin, xmax,
    ymax]`: of each image's top-scoring boxes (as many as it has ground
    truth), at least `SWAPPED_MATCHES` overlap a ground-truth box at IoU >=
    0.5 with x and y swapped, and at most `GIVEN_MATCHES` times as many as
    given.

    `truth_by_key`: `{image key: DetectionRecord}`.
    """
    given = swapped = total = 0
    first = None
    for prediction in predictions:
        record = truth_by_key.get(prediction["source_id"])
        if record is None or not len(record.boxes):
            continue
        scale = np.array([record.height, record.width] * 2, np.float64)
        order = np.argsort(-np.asarray(prediction["scores"]), kind="stable")
        boxes = np.asarray(prediction["boxes"], np.float64).reshape(-1, 4)
        boxes = boxes[order[:len(record.boxes)]]
        if not len(boxes):
            continue
        truth = record.boxes.astype(np.float64) * scale
        as_given = _best_iou(boxes * scale, truth) >= 0.5
        as_swapped = _best_iou(boxes[:, [1, 0, 3, 2]] * scale, truth) >= 0.5
        given += int(as_given.sum())
        swapped += int(as_swapped.sum())
        total += len(boxes)
        if first is None and (as_swapped & ~as_given).any():
            first = (prediction["source_id"],
                     int(order[np.argmax(as_swapped & ~as_given)]))
    if total and swapped >= SWAPPED_MATCHES * total and (
            given <= GIVEN_MATCHES * swapped):
        raise ValueError(
            f"Expected {_EXPECTED} in {where}. Received: boxes that match "
            f"the ground truth only with x and y swapped ({swapped} of the "
            f"{total} top boxes at IoU >= 0.5 swapped, {given} as given), "
            f"first at image {first[0]!r} box {first[1]}. They look like "
            f"[xmin, ymin, xmax, ymax]: reorder to [ymin, xmin, ymax, xmax].")
