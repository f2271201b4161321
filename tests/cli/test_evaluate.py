import json

import numpy as np
import pytest

from keras_boxloss.cli.main import main
from keras_boxloss.data.generated import write_generated_dataset
from keras_boxloss.data.records import read_records
from keras_boxloss.evaluation.predictions import save_predictions


@pytest.fixture
def data(tmp_path):
    paths = write_generated_dataset(str(tmp_path / "records"),
                                    splits={"val": 4})
    return paths["val"], list(read_records(paths["val"]))


def _perfect(records):
    return [{"source_id": r.source_id, "boxes": r.boxes,
             "scores": np.full(len(r.boxes), 0.9), "classes": r.classes}
            for r in records]


def test_perfect_predictions(data, tmp_path, capsys):
    pattern, records = data
    predictions = save_predictions(_perfect(records), tmp_path / "p.npz")
    code = main(["evaluate", "--data", pattern, "--predictions",
                 str(predictions), "--visualize", "2"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "mean_iou_every_prediction" in printed
    metrics = json.loads((tmp_path / "p.metrics.json").read_text())
    assert metrics["AP"] == pytest.approx(1.0)
    assert metrics["mean_iou_every_prediction"] == pytest.approx(1.0)
    assert metrics["num_images"] == 4
    assert len(list((tmp_path / "p_visualize").glob("*.png"))) == 2
    # Beside the JSON: the per-class table (also printed), PR curves and
    # the confusion matrix: perfect predictions fill only the diagonal.
    assert "AR100" in printed and "mIoU_m" in printed
    for suffix in ("per_class.csv", "pr_curves.png", "pr_curves.json",
                   "confusion.png"):
        assert (tmp_path / f"p.{suffix}").stat().st_size > 0, suffix
    matrix = np.array(json.loads(
        (tmp_path / "p.confusion.json").read_text())["matrix"])
    assert matrix.sum() == sum(len(r.boxes) for r in records)
    assert matrix.sum() == np.trace(matrix)


def test_shifted_predictions_to_named_output(data, tmp_path):
    pattern, records = data
    # Move every box sideways by half its width (right, or left where that
    # would leave the image): IoU (w/2) / (3w/2) = 1/3 for rectangles,
    # ellipses and triangles alike (the boxes are compared).
    predictions = _perfect(records)
    for p in predictions:
        width = p["boxes"][:, 3] - p["boxes"][:, 1]
        shift = np.where(p["boxes"][:, 3] + width / 2 <= 1, width / 2,
                         -width / 2)
        p["boxes"] = p["boxes"] + np.stack(
            [0 * width, shift, 0 * width, shift], -1)
    path = save_predictions(predictions, tmp_path / "p.json")
    assert main(["evaluate", "--data", pattern, "--predictions", str(path),
                 "--output", str(tmp_path / "m.json"),
                 "--iou-threshold", "0.3"]) == 0
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["mean_iou_every_prediction"] == pytest.approx(1 / 3,
                                                                 abs=1e-5)
    assert metrics["num_matched"] == metrics["num_predictions"]
    assert metrics["AP50"] == pytest.approx(0.0)


def test_output_in_a_folder_not_made_yet(data, tmp_path):
    pattern, records = data
    path = save_predictions(_perfect(records), tmp_path / "p.json")
    output = tmp_path / "new" / "eval" / "m.metrics.json"
    assert main(["evaluate", "--data", pattern, "--predictions", str(path),
                 "--output", str(output)]) == 0
    assert json.loads(output.read_text())["AP"] == pytest.approx(1.0)
    assert (output.parent / "m.per_class.csv").stat().st_size > 0


def test_default_data_is_the_generated_val_split(tmp_path, capsys):
    predictions = save_predictions([{"source_id": "257", "boxes": [],
                                     "scores": [], "classes": []}],
                                   tmp_path / "p.json")
    assert main(["evaluate", "--predictions", str(predictions),
                 "--cache-dir", str(tmp_path / "cache")]) == 0
    assert "64 images of" in capsys.readouterr().out


def test_unknown_image_is_a_one_line_error(data, tmp_path, capsys):
    pattern, _ = data
    predictions = save_predictions([{"source_id": "999", "boxes": [],
                                     "scores": [], "classes": []}],
                                   tmp_path / "p.json")
    assert main(["evaluate", "--data", pattern, "--predictions",
                 str(predictions), "--no-progress"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "source_id='999'" in error


def test_model_dir_without_validation_data_is_an_error(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text("data: {train: /data/train.record}\n")
    assert main(["evaluate", "--model-dir", str(run), "--no-progress"]) == 2
    error = capsys.readouterr().err
    assert "Expected data.validation in the run's config" in error
    assert "trained on /data/train.record" in error


def test_model_dir_names_a_missing_label_map(tmp_path, capsys):
    paths = write_generated_dataset(str(tmp_path / "records"),
                                    splits={"val": 1})
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text(
        f"data: {{validation: '{paths['val']}', label_map: "
        f"'{tmp_path / 'gone.pbtxt'}'}}\n")
    assert main(["evaluate", "--model-dir", str(run), "--no-progress"]) == 2
    assert "No label map file " in capsys.readouterr().err


def _coco_results(records):
    """pycocotools' results list: pixel [x, y, w, h] per box."""
    results = []
    for r in records:
        for (y1, x1, y2, x2), label in zip(r.boxes, r.classes):
            results.append({
                "image_id": (int(r.source_id) if r.source_id.isdigit()
                             else r.source_id), "category_id": int(label),
                "bbox": [float(v) for v in (
                    x1 * r.width, y1 * r.height, (x2 - x1) * r.width,
                    (y2 - y1) * r.height)], "score": 0.9})
    return results


def test_a_coco_results_list_is_read(data, tmp_path, capsys):
    pattern, records = data
    results = _coco_results(records)
    path = tmp_path / "results.json"
    path.write_text(json.dumps(results))
    assert main(["evaluate", "--data", pattern, "--predictions",
                 str(path)]) == 0
    metrics = json.loads((tmp_path / "results.metrics.json").read_text())
    assert metrics["AP"] == pytest.approx(1.0)
    assert metrics["mean_iou_every_prediction"] == pytest.approx(1.0)
    # a wrong class on every box of the first image: its boxes are missed
    first = {int(records[0].source_id)}
    for result in results:
        if result["image_id"] in first:
            result["category_id"] = 99
    path.write_text(json.dumps(results))
    assert main(["evaluate", "--data", pattern, "--predictions",
                 str(path)]) == 0
    metrics = json.loads((tmp_path / "results.metrics.json").read_text())
    assert metrics["num_predictions_outside_label_map"] == len(
        records[0].boxes)
    assert metrics["AR100"] < 1.0
    # an image_id that is no record's source_id is an error naming it
    path.write_text(json.dumps([dict(results[0], image_id=123456)]))
    assert main(["evaluate", "--data", pattern, "--predictions",
                 str(path)]) == 2
    err = capsys.readouterr().err
    assert "image_id=123456" in err and "result 0" in err


def test_coco_results_with_names_as_ids_and_images_without_boxes(
        tmp_path):
    """Tutorial records' source_id is the file name: image_id is then a
    string; an image with no detections has no entry at all."""
    from tests.data.tutorial_records import (LABEL_MAP_TEXT,
                                             write_tutorial_records)

    path = tmp_path / "t.record"
    write_tutorial_records(path, 3)
    records = list(read_records(str(path)))
    results = []
    for record in records[:2]:  # the third: no entry
        results += _coco_results([record])
    assert {r["image_id"] for r in results} == {
        records[0].source_id, records[1].source_id}
    (tmp_path / "r.json").write_text(json.dumps(results))
    label_map = tmp_path / "label_map.pbtxt"
    label_map.write_text(LABEL_MAP_TEXT)
    assert main(["evaluate", "--data", str(path), "--label-map",
                 str(label_map), "--predictions",
                 str(tmp_path / "r.json")]) == 0
    metrics = json.loads((tmp_path / "r.metrics.json").read_text())
    assert metrics["num_images"] == 3
    found = sum(len(r.boxes) for r in records[:2])
    assert metrics["num_matched"] == metrics["num_predictions"] == found
    assert metrics["num_ground_truth"] == sum(len(r.boxes) for r in records)
    assert metrics["mean_iou_every_prediction"] == pytest.approx(1.0)


def test_a_bad_predictions_file_fails_before_the_records_are_read(
        data, tmp_path, capsys, monkeypatch):
    from keras_boxloss.cli import evaluate

    pattern, _ = data
    monkeypatch.setattr(evaluate, "read_ground_truth", lambda *a: (
        pytest.fail("the records were read first")))
    path = tmp_path / "p.json"
    path.write_text('{"not": "predictions"}')
    assert main(["evaluate", "--data", pattern, "--predictions",
                 str(path)]) == 2
    assert "Expected a JSON object with an 'images' list" in (
        capsys.readouterr().err)
