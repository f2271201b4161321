"""`train` -> `evaluate --model-dir` -> `export` on records written as the
OD API tutorial's generate_tfrecord.py writes them, with the user's label
map (display names, comments, non-contiguous ids) named in the YAML config.
"""

import json

import numpy as np

from keras_boxloss.cli.main import main
from tests.data.tutorial_records import (LABEL_MAP_TEXT,
                                         write_tutorial_records)

CONFIG = """detector: ssd
model: {{num_classes: 9, image_size: 64, backbone: tiny, num_layers: 3}}
data:
  train: {train}
  validation: {val}
  label_map: {label_map}
  batch_size: 4
  max_boxes: 8
trainer: {{steps: 2, steps_per_epoch: 2, jit_compile: false}}
"""


def test_train_evaluate_export_on_tutorial_records(tmp_path, capsys):
    data = tmp_path / "annotations"
    data.mkdir()
    write_tutorial_records(data / "train.record", 8, seed=1)
    val = write_tutorial_records(data / "test.record", 3, seed=2, start=100)
    # The label map lives elsewhere, as in the tutorial's workspace layout.
    (tmp_path / "label_map.pbtxt").write_text(LABEL_MAP_TEXT)
    config = tmp_path / "ssd.yaml"
    config.write_text(CONFIG.format(train=data / "train.record",
                                    val=data / "test.record",
                                    label_map=tmp_path / "label_map.pbtxt"))
    run = tmp_path / "run"
    assert main(["train", "--config", str(config), "--model-dir", str(run),
                 "--no-progress"]) == 0
    capsys.readouterr()

    # No --data: the run's own validation records and label map.
    assert main(["evaluate", "--model-dir", str(run), "--no-progress",
                 "--visualize", "1", "--score-threshold", "0"]) == 0
    printed = capsys.readouterr().out
    assert f"3 images of {data / 'test.record'}" in printed
    # the per-class table shows display names, with the user's ids
    assert "Rectangle (box)     2" in printed
    assert "Triangle            9" in printed
    assert "ellipse             5" in printed
    predictions = json.loads((run / "predictions.json").read_text())
    assert [p["source_id"] for p in predictions["images"]] == [
        name for name, _, _ in val]
    metrics = json.loads((run / "predictions.metrics.json").read_text())
    assert {row["name"]: row["num_ground_truth"]
            for row in metrics["per_class"]} == {
        shown: sum(names.count(name) for _, _, names in val)
        for shown, name in (("Rectangle (box)", "rectangle"),
                            ("ellipse", "ellipse"),
                            ("Triangle", "triangle"))}
    assert [p.name for p in (run / "predictions_visualize").iterdir()] == [
        "img_100.png"]

    out = tmp_path / "saved" / "1"
    assert main(["export", "--model-dir", str(run),
                 "--output-dir", str(out)]) == 0
    import tensorflow as tf

    served = tf.saved_model.load(str(out)).signatures["serving_default"]
    result = served(tf.zeros((1, 50, 70, 3), tf.uint8))
    classes = result["detection_classes"].numpy()
    valid = classes[:, :int(result["num_detections"].numpy()[0])]
    assert np.all(np.isin(valid, np.arange(1, 10)))
