"""Per-class metrics, precision-recall curves and the confusion matrix on
hand-made predictions; every expected value is worked out in the comments.

Three 100 x 100 images, classes 1 "cat", 2 "dog", 3 "bird" (display
names), boxes A, B, C that do not overlap one another:

    image 1: truth A cat, B dog    predicted A cat 0.9, B bird 0.8
    image 2: truth A cat, B dog    predicted A cat 0.7, C dog 0.6
    image 3: truth A bird          predicted A bird 0.5, C cat 0.1
"""

import csv
import json

import numpy as np
import pytest
from PIL import Image

from keras_boxloss.data.label_map import LabelMap
from keras_boxloss.evaluation.confusion import confusion_matrix
from keras_boxloss.evaluation.evaluate import (evaluate_detections,
                                               format_per_class_table,
                                               write_metrics_json,
                                               write_per_class_outputs)
from tests.evaluation.conftest import prediction, record

A, B, C = [20, 20, 60, 60], [70, 70, 95, 95], [0, 0, 15, 15]
LABELS = LabelMap({1: "1", 2: "2", 3: "3"},
                  {1: "cat", 2: "dog", 3: "bird"})
TRUTH = [record(1, [A, B], [1, 2]), record(2, [A, B], [1, 2]),
         record(3, [A], [3])]
PREDICTIONS = [prediction(1, [A, B], [0.9, 0.8], [1, 3]),
               prediction(2, [A, C], [0.7, 0.6], [1, 2]),
               prediction(3, [A, C], [0.5, 0.1], [3, 1])]


@pytest.fixture(scope="module")
def results():
    return evaluate_detections(TRUTH, PREDICTIONS, LABELS, per_class=True)


def test_per_class_ap_ar(results):
    rows = {row["name"]: row for row in results["per_class"]}
    assert [r["id"] for r in results["per_class"]] == [1, 2, 3]
    # cat: both boxes found exactly and ranked above its one false
    # positive (C, 0.1): precision 1 up to recall 1 at every IoU.
    for name in ("AP", "AP50", "AP75", "AR100"):
        assert rows["cat"][name] == pytest.approx(1.0), name
    # dog: its one detection (C) overlaps nothing: AP 0, AR 0.
    for name in ("AP", "AP50", "AP75", "AR100"):
        assert rows["dog"][name] == pytest.approx(0.0), name
    # bird: B (0.8, on a dog) is a false positive ranked above the exact
    # A (0.5): precision/recall (0, 0) then (1/2, 1); interpolated
    # precision 1/2 at every recall point: AP = 0.5, AR = 1.
    for name in ("AP", "AP50", "AP75"):
        assert rows["bird"][name] == pytest.approx(0.5), name
    assert rows["bird"]["AR100"] == pytest.approx(1.0)
    assert [rows[n]["num_ground_truth"] for n in ("cat", "dog", "bird")] \
        == [2, 2, 1]
    # The overall AP is the mean of the classes': (1 + 0 + 0.5) / 3.
    assert results["AP"] == pytest.approx(0.5)


def test_per_class_mean_iou(results):
    rows = {row["name"]: row for row in results["per_class"]}
    # Every prediction of the class with its best same-class truth:
    # cat A, A, C -> 1, 1, 0; dog C -> 0; bird B (no bird in image 1), A
    # -> 0, 1. Matched (IoU >= 0.5): cat A, A; dog none; bird A.
    assert rows["cat"]["mean_iou_every_prediction"] == pytest.approx(2 / 3)
    assert rows["cat"]["mean_iou_matched_detections"] == pytest.approx(1.0)
    assert rows["dog"]["mean_iou_every_prediction"] == pytest.approx(0.0)
    assert rows["dog"]["mean_iou_matched_detections"] == -1.0
    assert rows["bird"]["mean_iou_every_prediction"] == pytest.approx(0.5)
    assert [rows[n]["num_predictions"] for n in ("cat", "dog", "bird")] \
        == [3, 1, 2]
    # Overall: 3 of the 6 boxes exact, 3 overlap nothing.
    assert results["mean_iou_every_prediction"] == pytest.approx(0.5)


def test_pr_curves_at_05_and_075(results):
    curves = results["pr_curves"]
    assert curves["iou_thresholds"] == [0.5, 0.75]
    assert len(curves["recall"]) == 101
    by_name = {c["name"]: np.asarray(c["precision"])
               for c in curves["classes"]}
    assert by_name["cat"].shape == (2, 101)
    np.testing.assert_allclose(by_name["cat"], 1.0)
    np.testing.assert_allclose(by_name["dog"], 0.0)
    np.testing.assert_allclose(by_name["bird"], 0.5)


def test_pr_curve_drops_after_the_last_recall():
    # One of two boxes found, exactly: precision 1 at the 51 recall points
    # 0, ..., 0.5, 0 at the 50 above (COCO's AP 51/101).
    results = evaluate_detections(
        [record(1, [A, B], [1, 1])], [prediction(1, [A], [0.9], [1])],
        {1: "1"}, per_class=True)
    precision = np.asarray(results["pr_curves"]["classes"][0]["precision"])
    np.testing.assert_allclose(precision[:, :51], 1.0)
    np.testing.assert_allclose(precision[:, 51:], 0.0)
    assert results["per_class"][0]["AP"] == pytest.approx(51 / 101)
    assert results["per_class"][0]["AR100"] == pytest.approx(0.5)


def test_confusion_matrix():
    confusion = confusion_matrix(TRUTH, PREDICTIONS, LABELS,
                                 score_threshold=0.3)
    assert confusion["labels"] == ["cat", "dog", "bird", "background"]
    # Rows true, columns predicted. cat A twice on the diagonal; image 1's
    # dog B predicted bird (off the diagonal); image 2's dog B missed
    # (background column); image 2's dog C on nothing (background row);
    # bird A on the diagonal; image 3's cat C (0.1) is under the threshold.
    assert confusion["matrix"] == [[2, 0, 0, 0],
                                   [0, 0, 1, 1],
                                   [0, 0, 1, 0],
                                   [0, 1, 0, 0]]
    # Lowering the threshold lets cat C in: a cat on nothing.
    low = confusion_matrix(TRUTH, PREDICTIONS, LABELS, score_threshold=0.05)
    assert low["matrix"][3] == [1, 1, 0, 0]
    assert confusion["iou_threshold"] == 0.5
    assert confusion["num_predictions_outside_label_map"] == 0


def test_confusion_pairs_one_to_one_above_the_iou_threshold():
    # Two predictions on one box: the exact one (IoU 1) pairs; the other
    # (A moved 8 px: IoU 2/3) finds no free box: background row. A box
    # moved by 24 px (IoU 16 * 40 / (3200 - 640) = 0.25 < 0.5) pairs with
    # nothing: a miss and a detection of nothing. Class 5 is not in the
    # label map: left out and counted.
    truth = [record(1, [A], [1]), record(2, [A], [2])]
    predictions = [
        prediction(1, [[20, 28, 60, 68], A], [0.9, 0.8], [2, 1]),
        prediction(2, [[20, 44, 60, 84], A], [0.9, 0.9], [2, 5])]
    confusion = confusion_matrix(truth, predictions, {1: "a", 2: "b"})
    assert confusion["matrix"] == [[1, 0, 0],
                                   [0, 0, 1],
                                   [0, 2, 0]]
    assert confusion["num_predictions_outside_label_map"] == 1


def test_confusion_errors():
    with pytest.raises(ValueError, match="Received: score_threshold=1.5"):
        confusion_matrix(TRUTH, PREDICTIONS, LABELS, score_threshold=1.5)
    with pytest.raises(ValueError, match=r"Received: classes \[3\] in the "
                                         r"ground truth"):
        confusion_matrix(TRUTH, PREDICTIONS, {1: "a", 2: "b"})
    with pytest.raises(ValueError, match="source_id='9', not in the data"):
        confusion_matrix(TRUTH, [prediction(9, [A], [0.9], [1])], LABELS)


def test_table_and_files(results, tmp_path):
    table = format_per_class_table(results).splitlines()
    assert table[0].split() == ["class", "id", "boxes", "AP", "AP50",
                                "AP75", "AR100", "mIoU", "mIoU_m"]
    assert table[1].split() == ["cat", "1", "2", "1.0000", "1.0000",
                                "1.0000", "1.0000", "0.6667", "1.0000"]
    # dog: no matched detection -> "-".
    assert table[2].split()[-1] == "-"
    confusion = confusion_matrix(TRUTH, PREDICTIONS, LABELS)
    paths = write_per_class_outputs(results, confusion,
                                    str(tmp_path / "run"))
    for kind in ("pr_curves", "confusion_png"):
        with Image.open(paths[kind]) as image:
            assert image.format == "PNG" and min(image.size) > 100
    with open(paths["per_class"]) as file:
        rows = list(csv.DictReader(file))
    assert [r["name"] for r in rows] == ["cat", "dog", "bird"]
    assert float(rows[2]["AP50"]) == pytest.approx(0.5)
    written = json.loads(open(paths["confusion_json"]).read())
    assert written["matrix"] == confusion["matrix"]
    assert written["labels"][-1] == "background"
    curves = json.loads(open(paths["pr_curves_json"]).read())
    assert [c["name"] for c in curves["classes"]] == ["cat", "dog", "bird"]
    # The metrics JSON keeps the table, not the 101-point curves.
    metrics = json.loads(open(write_metrics_json(
        results, tmp_path / "m.json")).read())
    assert "pr_curves" not in metrics and len(metrics["per_class"]) == 3
