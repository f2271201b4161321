"""The paper's mean IoU on hand-built cases (IoUs worked out in comments)."""

import pytest

from keras_boxloss.evaluation.localization import localization_metrics
from tests.evaluation.conftest import prediction, record

BOX = [20, 20, 60, 60]
SHIFTED = [20, 28, 60, 68]  # IoU with BOX: 1280 / 1920 = 2/3
FAR = [80, 80, 90, 90]      # IoU with BOX: 0


def _metrics(predictions, truth=None, **kwargs):
    truth = truth or [record(1, [BOX], [1])]
    return localization_metrics(truth, predictions, **kwargs)


def test_perfect_and_shifted():
    assert _metrics([prediction(1, [BOX], [0.9], [1])])[
        "mean_iou_every_prediction"] == pytest.approx(1.0)
    metrics = _metrics([prediction(1, [SHIFTED], [0.9], [1])])
    assert metrics["mean_iou_every_prediction"] == pytest.approx(2 / 3)
    assert metrics["mean_iou_matched_detections"] == pytest.approx(2 / 3)


def test_every_prediction_counts_without_discounting():
    # An exact box and a far one: every prediction averages (1 + 0) / 2;
    # the matched top detection is the exact one: 1.
    metrics = _metrics([prediction(1, [FAR, BOX], [0.99, 0.1], [1, 1])])
    assert metrics["mean_iou_every_prediction"] == pytest.approx(0.5)
    assert metrics["mean_iou_matched_detections"] == pytest.approx(1.0)
    assert (metrics["num_predictions"], metrics["num_matched"],
            metrics["num_ground_truth"]) == (2, 1, 1)


def test_matching_is_greedy_by_score_and_one_to_one():
    # Score 0.9 at IoU 2/3 takes the only box; the exact one (0.8) finds it
    # taken. every = (2/3 + 1) / 2 = 5/6, matched = 2/3.
    metrics = _metrics([prediction(1, [SHIFTED, BOX], [0.9, 0.8], [1, 1])])
    assert metrics["mean_iou_every_prediction"] == pytest.approx(5 / 6)
    assert metrics["mean_iou_matched_detections"] == pytest.approx(2 / 3)
    assert metrics["num_matched"] == 1


def test_threshold_classes_and_crowd():
    # Shifted 24 px: intersection 16 x 40 = 640, union 2560: IoU 1/4.
    loose = prediction(1, [[20, 44, 60, 84]], [0.9], [1])
    metrics = _metrics([loose])
    assert metrics["mean_iou_every_prediction"] == pytest.approx(0.25)
    assert metrics["num_matched"] == 0
    assert metrics["mean_iou_matched_detections"] == 0.0
    assert _metrics([loose], iou_threshold=0.2)["num_matched"] == 1
    wrong_class = [prediction(1, [BOX], [0.9], [2])]
    assert _metrics(wrong_class)["mean_iou_every_prediction"] == 0.0
    assert _metrics(wrong_class, class_aware=False)[
        "mean_iou_every_prediction"] == pytest.approx(1.0)
    crowd = [record(1, [BOX], [1], is_crowd=[1])]
    metrics = _metrics([prediction(1, [BOX], [0.9], [1])], truth=crowd)
    assert metrics["mean_iou_every_prediction"] == 0.0
    assert metrics["num_ground_truth"] == 0


def test_non_square_images_use_pixel_iou():
    # 50 x 200 image; normalised IoU equals pixel IoU (per-axis scaling).
    truth = [record(1, [[0, 0, 50, 100]], [1], size=(50, 200))]
    pred = prediction(1, [[0, 50, 50, 150]], [0.9], [1], size=(50, 200))
    assert localization_metrics(truth, [pred])[
        "mean_iou_every_prediction"] == pytest.approx(1 / 3)


def test_errors():
    with pytest.raises(ValueError, match="not in the data"):
        _metrics([prediction(9, [BOX], [0.9], [1])])
    with pytest.raises(ValueError, match="iou_threshold"):
        _metrics([], iou_threshold=2)
