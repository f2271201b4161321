"""COCO metrics on hand-built cases; the expected values are worked out in
the comments."""

import pytest

from keras_boxloss.evaluation.coco_metrics import coco_metrics
from tests.evaluation.conftest import prediction, record

# A 40 x 40 box (area 1600: COCO "medium", 32^2 < 1600 < 96^2).
BOX = [20, 20, 60, 60]


def test_perfect_detector_scores_one():
    truth = [record(1, [BOX], [1]), record(2, [[0, 0, 10, 10], BOX], [1, 2])]
    predictions = [prediction(1, [BOX], [0.9], [1]),
                   prediction(2, [[0, 0, 10, 10], BOX], [0.8, 0.7], [1, 2])]
    metrics = coco_metrics(truth, predictions, {1: "a", 2: "b"})
    for name in ("AP", "AP50", "AP75", "AP_small", "AP_medium", "AR100",
                 "AR10", "AR_small", "AR_medium"):
        assert metrics[name] == pytest.approx(1.0), name
    # AR1 per class per image: each (image, class) has one box -> 1.0.
    assert metrics["AR1"] == pytest.approx(1.0)
    # No large boxes: pycocotools reports -1.
    assert metrics["AP_large"] == -1 and metrics["AR_large"] == -1


def test_shifted_detector():
    # The prediction is the ground truth moved 8 px right: intersection
    # 32 x 40, union 2 * 1600 - 1280 = 1920, IoU = 1280 / 1920 = 2/3.
    # Of the ten thresholds 0.50, 0.55, ..., 0.95 it passes 0.50 - 0.65
    # (4 of 10) with precision 1 and recall 1, else recall 0:
    # AP = 0.4, AP50 = 1, AP75 = 0, AR = 0.4.
    truth = [record(1, [BOX], [1])]
    predictions = [prediction(1, [[20, 28, 60, 68]], [0.9], [1])]
    metrics = coco_metrics(truth, predictions)
    assert metrics["AP"] == pytest.approx(0.4)
    assert metrics["AP50"] == pytest.approx(1.0)
    assert metrics["AP75"] == pytest.approx(0.0)
    assert metrics["AP_medium"] == pytest.approx(0.4)
    assert metrics["AR1"] == pytest.approx(0.4)
    assert metrics["AR100"] == pytest.approx(0.4)


def test_false_positive_ranked_first():
    # Two ground-truth boxes, three detections: a false positive with the
    # top score, then the two exact boxes. Precision/recall after each:
    # (0, 0), (1/2, 1/2), (2/3, 1). COCO's interpolated precision is the
    # best precision at any recall >= r: 2/3 for every r in [0, 1], so
    # AP = AP50 = AP75 = 2/3; all boxes are found: AR100 = 1. AR1 keeps
    # only the top (false) detection per image: 0.
    truth = [record(1, [BOX, [70, 70, 95, 95]], [1, 1])]
    predictions = [prediction(1, [[0, 0, 15, 15], BOX, [70, 70, 95, 95]],
                              [0.9, 0.8, 0.7], [1, 1, 1])]
    metrics = coco_metrics(truth, predictions)
    assert metrics["AP"] == pytest.approx(2 / 3)
    assert metrics["AP75"] == pytest.approx(2 / 3)
    assert metrics["AR100"] == pytest.approx(1.0)
    assert metrics["AR1"] == pytest.approx(0.0)


def test_wrong_class_and_missing_images_find_nothing():
    truth = [record(1, [BOX], [1]), record(2, [BOX], [1])]
    # Image 2 has no predictions; image 1's box has the wrong class.
    metrics = coco_metrics(truth, [prediction(1, [BOX], [0.9], [2])],
                           {1: "a", 2: "b"})
    assert metrics["AP"] == pytest.approx(0.0)
    assert metrics["AR100"] == pytest.approx(0.0)
    # Half the boxes found, precision 1: COCO averages the interpolated
    # precision at the 101 recalls 0, 0.01, ..., 1; it is 1 at the 51 of
    # them up to 0.5 and 0 above: AP = 51 / 101.
    metrics = coco_metrics(truth, [prediction(1, [BOX], [0.9], [1])])
    assert metrics["AP"] == pytest.approx(51 / 101)
    assert metrics["AR100"] == pytest.approx(0.5)


def test_errors():
    truth = [record(1, [BOX], [1])]
    with pytest.raises(ValueError, match="source_id='7', not in the data"):
        coco_metrics(truth, [prediction(7, [BOX], [0.9], [1])])
    with pytest.raises(ValueError, match=r"Received: classes \[5\] in the "
                                         r"ground truth"):
        coco_metrics([record(1, [BOX], [5])], [], {1: "a"})
    with pytest.raises(ValueError, match="at least one ground-truth box"):
        coco_metrics([record(1, [], [])], [])


def test_predicted_class_outside_the_label_map_scores_for_no_class():
    from keras_boxloss.evaluation.evaluate import evaluate_detections

    # The exact box twice: class 1 at score 0.5, class 5 (a slot of the
    # model the label map does not name) at 0.9. Class 1's AP is 1: the
    # higher-scored class-5 box is no false positive of class 1. The paper's
    # mean IoU counts every box: (1 + 0) / 2.
    truth = [record(1, [BOX], [1])]
    results = evaluate_detections(
        truth, [prediction(1, [BOX, BOX], [0.5, 0.9], [1, 5])], {1: "1"})
    assert results["AP"] == pytest.approx(1.0)
    assert results["num_predictions_outside_label_map"] == 1
    assert results["mean_iou_every_prediction"] == pytest.approx(0.5)


def test_image_ids_are_made_from_keys_in_ground_truth_order():
    from keras_boxloss.evaluation.coco_metrics import to_coco

    truth = [record("b.jpg", [BOX], [1]), record("a.jpg", [BOX], [1])]
    gt, dt = to_coco(truth, [prediction("a.jpg", [BOX], [0.9], [1])])
    assert [(i["id"], i["file_name"]) for i in gt["images"]] == [
        (1, "b.jpg"), (2, "a.jpg")]
    assert [a["image_id"] for a in dt["annotations"]] == [2]


def test_per_class_rows_use_display_names():
    from keras_boxloss.data.label_map import LabelMap

    truth = [record(1, [BOX], [1]), record(2, [BOX], [3])]
    metrics = coco_metrics(truth, [prediction(1, [BOX], [0.9], [1])],
                           LabelMap({1: "1", 2: "2", 3: "3"},
                                    {1: "Apple", 2: "Banana"}),
                           per_class=True)
    assert metrics["per_class"] == [
        {"id": 1, "name": "Apple", "AP": pytest.approx(1.0),
         "AP50": pytest.approx(1.0), "AP75": pytest.approx(1.0),
         "AR100": pytest.approx(1.0), "num_ground_truth": 1},
        {"id": 2, "name": "Banana", "AP": -1.0, "AP50": -1.0, "AP75": -1.0,
         "AR100": -1.0, "num_ground_truth": 0},
        {"id": 3, "name": "3", "AP": 0.0, "AP50": 0.0, "AP75": 0.0,
         "AR100": 0.0, "num_ground_truth": 1}]
