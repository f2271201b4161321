"""`evaluate --model-dir` checks the ground truth (one image per key,
labels against the label map) before it builds the model and replaces the
run's predictions.json: a failure names the records and leaves the
previous predictions as they were."""

from keras_boxloss.cli.main import main
from tests.data.tutorial_records import LABEL_MAP_TEXT, write_tutorial_records


def run_on(tmp_path, validation):
    run = tmp_path / "run"
    run.mkdir()
    label_map = tmp_path / "label_map.pbtxt"
    label_map.write_text(LABEL_MAP_TEXT)
    (run / "config.yaml").write_text(
        f"detector: ssd\ndata: {{validation: '{validation}', "
        f"label_map: '{label_map}'}}\n")
    (run / "predictions.json").write_text("previous")
    return run


def test_a_repeated_key_fails_before_predicting(tmp_path, capsys):
    # the same images in two shards: img_000.jpg twice
    write_tutorial_records(tmp_path / "a.record", 2)
    write_tutorial_records(tmp_path / "b.record", 2)
    run = run_on(tmp_path, f"{tmp_path / 'a.record'},{tmp_path / 'b.record'}")
    assert main(["evaluate", "--model-dir", str(run), "--no-progress"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert (f"Received: 'img_000.jpg' for {tmp_path / 'a.record'} record 0 "
            f"and {tmp_path / 'b.record'} record 0") in error
    assert (run / "predictions.json").read_text() == "previous"


def test_labels_against_the_label_map_fail_before_predicting(tmp_path,
                                                             capsys):
    write_tutorial_records(tmp_path / "val.record", 2)
    run = run_on(tmp_path, tmp_path / "val.record")
    # the run's label map lacks the records' ids 5 and 9
    (tmp_path / "label_map.pbtxt").write_text("item { id: 2 name: 'rectangle' }")
    assert main(["evaluate", "--model-dir", str(run), "--no-progress"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "val.record record " in error
    assert (run / "predictions.json").read_text() == "previous"
