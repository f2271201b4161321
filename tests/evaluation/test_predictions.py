import json

import numpy as np
import pytest

from keras_boxloss.evaluation.predictions import (load_predictions,
                                                  predictions_from_batch,
                                                  save_predictions)


def _predictions():
    return predictions_from_batch(
        [b"3", b"4"],
        boxes=[[[0.1, 0.2, 0.3, 0.4], [0.5, 0.5, 0.9, 0.9], [-1] * 4],
               [[0.0, 0.0, 1.0, 1.0], [-1] * 4, [-1] * 4]],
        scores=[[0.9, 0.4, -1], [0.7, -1, -1]],
        classes=[[1, 2, -1], [3, -1, -1]])


def test_batch_padding_is_dropped():
    first, second = _predictions()
    assert first["source_id"] == "3" and len(first["boxes"]) == 2
    assert list(second["classes"]) == [3]
    limited = predictions_from_batch(["3"], [[[0, 0, 1, 1]] * 2],
                                     [[0.9, 0.8]], [[1, 1]],
                                     num_detections=[1])
    assert len(limited[0]["scores"]) == 1


@pytest.mark.parametrize("extension", [".json", ".npz"])
def test_file_round_trip(tmp_path, extension):
    predictions = _predictions()
    path = save_predictions(predictions, tmp_path / f"p{extension}")
    loaded = load_predictions(path)
    assert [p["source_id"] for p in loaded] == ["3", "4"]
    for got, want in zip(loaded, predictions):
        np.testing.assert_array_equal(got["boxes"], want["boxes"])
        np.testing.assert_array_equal(got["scores"], want["scores"])
        np.testing.assert_array_equal(got["classes"], want["classes"])


def test_bad_files_name_the_file_and_image(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"images": [
        {"source_id": "1", "boxes": [[0, 0, 1, 1]], "scores": [0.5],
         "classes": [1]},
        {"source_id": "2", "boxes": [[0, 0, 1, float("nan")]],
         "scores": [0.5], "classes": [1]}]}))
    with pytest.raises(ValueError, match=r"finite .*p\.json image 1, image "
                                         r"source_id 2"):
        load_predictions(path)
    path.write_text(json.dumps({"images": [{"source_id": "1", "boxes": [],
                                            "scores": [0.5], "classes": []}]}))
    with pytest.raises(ValueError, match="as many boxes, scores and classes"):
        load_predictions(path)
    path.write_text(json.dumps({"images": [{"source_id": "1"}]}))
    with pytest.raises(ValueError, match=r"p\.json image 0"):
        load_predictions(path)
    with pytest.raises(ValueError, match=r"\.json or \.npz"):
        save_predictions([], tmp_path / "p.txt")
    with pytest.raises(FileNotFoundError):
        load_predictions(tmp_path / "none.json")
