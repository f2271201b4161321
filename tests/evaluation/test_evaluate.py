import json

import pytest

from keras_boxloss.evaluation.coco_metrics import COCO_METRICS
from keras_boxloss.evaluation.evaluate import (evaluate_detections,
                                               format_metrics_table,
                                               write_metrics_json)
from tests.evaluation.conftest import prediction, record


def test_all_metrics_in_one_dict_table_and_json(tmp_path):
    truth = [record(1, [[20, 20, 60, 60]], [1])]
    results = evaluate_detections(
        truth, [prediction(1, [[20, 28, 60, 68]], [0.9], [1])],
        iou_threshold=0.6)
    assert set(COCO_METRICS) <= set(results)
    assert results["AP"] == pytest.approx(0.4)
    assert results["mean_iou_every_prediction"] == pytest.approx(2 / 3)
    assert results["num_images"] == 1 and results["iou_threshold"] == 0.6
    table = format_metrics_table(results)
    lines = {line.split()[0]: line for line in table.splitlines()}
    assert lines["AP"].split()[1] == "0.4000"
    assert lines["mean_iou_every_prediction"].split()[1] == "0.6667"
    assert "(IoU >= 0.6)" in lines["mean_iou_matched_detections"]
    assert lines["num_matched"].split()[1] == "1"
    path = write_metrics_json(results, tmp_path / "m.json")
    assert json.loads(path.read_text())["AP50"] == pytest.approx(1.0)
