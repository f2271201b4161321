"""Draw ground truth and predictions on images, saved as PNG."""

import io
import os
import re

import numpy as np

from keras_boxloss import atomic_files

GROUND_TRUTH_COLOUR = (0, 200, 0)
PREDICTION_COLOUR = (230, 30, 30)


def _rectangles(draw, boxes, width, height, colour, labels, label_above):
    """Outlines with a label above the box (predictions) or inside its top
    (ground truth), so the two do not overprint."""
    for box, label in zip(np.asarray(boxes).reshape(-1, 4), labels):
        y1, x1, y2, x2 = box * [height, width, height, width]
        draw.rectangle([x1, y1, x2, y2], outline=colour, width=2)
        if label:
            y = max(y1 - 11, 0) if label_above else y1 + 2
            draw.text((x1 + 3, y), label, fill=colour)


def draw_detections(image, gt_boxes, gt_classes, pred_boxes=(),
                    pred_scores=(), pred_classes=(), label_map=None,
                    score_threshold=0.3):
    """A copy of `image` with ground truth (green) and predictions with a
    score of at least `score_threshold` (red, labelled `name score`).

    Args:
        image: uint8 `[H, W, 3]` array or PIL image.
        gt_boxes, pred_boxes: normalised yxyx boxes.
        gt_classes, pred_scores, pred_classes: per box.
        label_map: `{id: name}` (a `LabelMap`'s display names) for the
            labels (ids when `None`).

    Returns:
        A PIL image.
    """
    from PIL import Image, ImageDraw

    image = (image.copy() if isinstance(image, Image.Image)
             else Image.fromarray(np.asarray(image, np.uint8))).convert("RGB")
    from keras_boxloss.data.label_map import display_names

    names = display_names(label_map)
    draw = ImageDraw.Draw(image)
    width, height = image.size
    _rectangles(draw, gt_boxes, width, height, GROUND_TRUTH_COLOUR,
                [str(names.get(int(c), int(c))) for c in gt_classes], False)
    shown = np.asarray(pred_scores, np.float64) >= score_threshold
    _rectangles(draw, np.asarray(pred_boxes).reshape(-1, 4)[shown],
                width, height, PREDICTION_COLOUR,
                [f"{names.get(int(c), int(c))} {s:.2f}" for c, s in zip(
                    np.asarray(pred_classes)[shown],
                    np.asarray(pred_scores)[shown])], True)
    return image


def _safe(text):
    """A file-name stem: folders and odd characters of keys go."""
    stem = os.path.splitext(os.path.basename(str(text)))[0] or str(text)
    return re.sub(r"[^\w.-]+", "_", stem).strip("_")


def _png_name(key, filename):
    """`{key}_{file stem}.png`, or `{key}.png` when the key is the file."""
    key_stem, file_stem = _safe(key) or "image", _safe(filename)
    if file_stem and file_stem != key_stem:
        return f"{key_stem}_{file_stem}.png"
    return f"{key_stem}.png"


def drawn_images(ground_truth, predictions, count, label_map=None,
                 score_threshold=0.3):
    """The first `count` images of `ground_truth` with their boxes and
    predictions drawn (`draw_detections`).

    Returns:
        A list of `(key, record, PIL image)`, key the image's key
        (`records.image_keys`: source_id, else file name).
    """
    from PIL import Image

    from keras_boxloss.data.records import image_keys

    by_id = {str(p["source_id"]): p for p in predictions}
    ground_truth = list(ground_truth)
    drawn = []
    for key, record in list(zip(image_keys(ground_truth),
                                ground_truth))[:count]:
        image = Image.open(io.BytesIO(record.encoded)).convert("RGB")
        found = by_id.get(key, {})
        drawn.append((key, record, draw_detections(
            image, record.boxes, record.classes, found.get("boxes", ()),
            found.get("scores", ()), found.get("classes", ()), label_map,
            score_threshold)))
    return drawn


def save_visualizations(ground_truth, predictions, output_dir, count,
                        label_map=None, score_threshold=0.3):
    """Writes `count` PNGs (the first images of `ground_truth`) to
    `output_dir`, named after their key (source_id, else file name);
    returns the paths."""
    os.makedirs(output_dir, exist_ok=True)
    paths = []
    for key, record, drawn in drawn_images(ground_truth, predictions, count,
                                           label_map, score_threshold):
        path = os.path.join(output_dir, _png_name(key, record.filename))
        if path in paths:  # two keys that differ only in odd characters
            path = path[:-4] + f"_{len(paths)}.png"
        atomic_files.write_drawn(
            path, lambda file, image=drawn: image.save(file, format="PNG"))
        paths.append(path)
    return paths
