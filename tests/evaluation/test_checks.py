"""`evaluate` refuses predictions in the wrong convention, naming the image
and box (one test per defect), and accepts right ones."""

import numpy as np
import pytest

from keras_boxloss.data.records import DetectionRecord
from keras_boxloss.evaluation.evaluate import evaluate_detections
from keras_boxloss.evaluation.predictions import (load_predictions,
                                                  save_predictions)

HEIGHT, WIDTH = 100, 200
# Pixel yxyx: one wide-flat box, one tall-narrow one, so that reading a box
# with x and y swapped moves it well away from its ground truth.
TRUTH_PX = np.array([[10, 20, 30, 180], [50, 100, 95, 120]], np.float64)
SCALE = np.array([HEIGHT, WIDTH, HEIGHT, WIDTH], np.float64)


def _truth():
    return [DetectionRecord(
        encoded=b"", image_format="jpg", height=HEIGHT, width=WIDTH,
        filename=name, source_id=name, boxes=TRUTH_PX / SCALE,
        classes=[1, 2], class_names=["a", "b"])
        for name in ("a.jpg", "b.jpg")]


def _predictions(boxes_a, boxes_b=None):
    boxes_b = TRUTH_PX / SCALE if boxes_b is None else boxes_b
    return [{"source_id": key, "boxes": np.asarray(boxes, np.float64),
             "scores": np.array([0.9, 0.8]), "classes": np.array([1, 2])}
            for key, boxes in (("a.jpg", boxes_a), ("b.jpg", boxes_b))]


def test_right_boxes_and_tolerance_pass():
    boxes = TRUTH_PX / SCALE
    boxes[1, 2] = 1.0005  # within the 1e-3 tolerance
    results = evaluate_detections(_truth(), _predictions(boxes))
    assert results["num_predictions"] == 4


def test_pixels_are_an_error_naming_image_and_box_with_a_hint():
    with pytest.raises(ValueError, match=r"Received: \[10\.0, 20\.0, 30\.0, "
                       r"180\.0\] at image 'a.jpg' box 0\. The boxes look "
                       r"like pixels \(values up to 180\)"):
        evaluate_detections(_truth(), _predictions(TRUTH_PX))


def test_outside_zero_one_is_an_error_without_pixel_hint():
    boxes = TRUTH_PX / SCALE
    boxes[1] = [0.5, 0.5, 1.2, 0.6]
    with pytest.raises(ValueError, match=r"image 'a.jpg' box 1\.$"):
        evaluate_detections(_truth(), _predictions(boxes))
    boxes[1] = [-0.01, 0.5, 0.9, 0.6]
    with pytest.raises(ValueError, match=r"tolerance 0.001.*image 'a.jpg' "
                                         r"box 1"):
        evaluate_detections(_truth(), _predictions(boxes))


def test_inverted_box_is_an_error_with_an_xywh_hint():
    boxes = TRUTH_PX / SCALE
    # An [x, y, w, h] box read as yxyx is inverted when w < x or h < y.
    boxes_b = TRUTH_PX / SCALE
    boxes_b[1] = [0.5, 0.5, 0.45, 0.1]  # x .5, y .5, w .45, h .1
    with pytest.raises(ValueError, match=r"\(inverted\) at image 'b.jpg' "
                                         r"box 1\. It looks like \[x, y, "
                                         r"width, height\]"):
        evaluate_detections(_truth(), _predictions(boxes, boxes_b))
    boxes_b[1] = [0.9, 0.5, 0.6, 0.7]  # inverted, not xywh (0.9+0.6 > 1)
    with pytest.raises(ValueError, match=r"\(inverted\) at image 'b.jpg' "
                                         r"box 1\.$"):
        evaluate_detections(_truth(), _predictions(boxes, boxes_b))


def test_non_finite_box_is_an_error_naming_image_and_box(tmp_path):
    boxes = TRUTH_PX / SCALE
    boxes[1, 3] = np.nan
    with pytest.raises(ValueError, match=r"Expected finite .* at image "
                                         r"'a.jpg' box 1"):
        evaluate_detections(_truth(), _predictions(boxes))
    path = save_predictions(_predictions(boxes), tmp_path / "p.json")
    with pytest.raises(ValueError, match=r"p.json image 0, image source_id "
                                         r"a.jpg.* box 1"):
        load_predictions(path)


def test_xyxy_order_is_an_error_naming_the_first_box():
    # Normalised [xmin, ymin, xmax, ymax] of the ground truth: valid boxes
    # when read as yxyx, but their IoU with the truth is 800/5600 = 0.14
    # and 200/1600 = 0.125 (worked out in pixels), 1 once swapped back.
    truth = TRUTH_PX / SCALE
    xyxy = truth[:, [1, 0, 3, 2]]
    with pytest.raises(ValueError, match=r"only with x and y swapped \(4 of "
                       r"the 4 top boxes .* 0 as given\), first at image "
                       r"'a.jpg' box 0\. They look like \[xmin, ymin, xmax, "
                       r"ymax\]"):
        evaluate_detections(_truth(), _predictions(xyxy, xyxy))
    # One image right, one swapped: half the boxes match as given -- a
    # poor model, not a convention; evaluated (AP from the right half).
    results = evaluate_detections(_truth(), _predictions(truth, xyxy))
    assert results["num_matched"] == 2


def test_xyxy_order_is_found_when_some_boxes_match_both_ways():
    # Seven wide, flat boxes and one square one on the diagonal, whose
    # transpose is itself: in xyxy order 1 of 8 matches as given (more
    # than a tenth), all 8 swapped.
    side = 100
    boxes = [np.array([[5 + 10 * i, 10, 12 + 10 * i, 90]]) / side
             for i in range(7)] + [np.array([[30, 30, 70, 70]]) / side]
    truth = [DetectionRecord(
        encoded=b"", image_format="jpg", height=side, width=side,
        filename=f"{i}.jpg", source_id=f"{i}.jpg", boxes=box, classes=[1],
        class_names=["a"]) for i, box in enumerate(boxes)]
    predictions = [{"source_id": f"{i}.jpg", "boxes": box[:, [1, 0, 3, 2]],
                    "scores": np.array([0.9]), "classes": np.array([1])}
                   for i, box in enumerate(boxes)]
    with pytest.raises(ValueError, match=r"only with x and y swapped \(8 of "
                                         r"the 8 top boxes .* 1 as given\), "
                                         r"first at image '0.jpg' box 0"):
        evaluate_detections(truth, predictions)
