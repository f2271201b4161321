import numpy as np

from keras_boxloss.data.records import DetectionRecord


def record(source_id, boxes_px, classes, size=(100, 100), is_crowd=None):
    """A ground-truth record of a `size` (height, width) image with pixel
    yxyx boxes."""
    height, width = size
    boxes = np.asarray(boxes_px, np.float64).reshape(-1, 4) / [
        height, width, height, width]
    return DetectionRecord(
        encoded=b"", image_format="png", height=height, width=width,
        filename=f"{source_id}.png", source_id=str(source_id), boxes=boxes,
        classes=classes, class_names=[str(c) for c in classes],
        is_crowd=is_crowd)


def prediction(source_id, boxes_px, scores, classes, size=(100, 100)):
    height, width = size
    return {"source_id": str(source_id),
            "boxes": np.asarray(boxes_px, np.float64).reshape(-1, 4)
            / [height, width, height, width],
            "scores": np.asarray(scores, np.float64),
            "classes": np.asarray(classes)}
