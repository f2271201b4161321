"""`evaluate --model-dir DIR --data OTHER.record` names the classes with the
run's own label map (what the model's ids mean) when `--label-map` is not
given and no label_map.pbtxt lies beside the records."""

from argparse import Namespace

from keras_boxloss.cli.evaluate import run_data
from keras_boxloss.training.config import load_config
from tests.data.tutorial_records import (LABEL_MAP, LABEL_MAP_TEXT,
                                         write_tutorial_records)


def test_data_without_label_map_takes_the_runs(tmp_path):
    (tmp_path / "records").mkdir()
    records = tmp_path / "records" / "other.record"
    write_tutorial_records(records, 2)
    label_map = tmp_path / "my_label_map.pbtxt"
    label_map.write_text(LABEL_MAP_TEXT)
    run_config = tmp_path / "config.yaml"
    run_config.write_text(f"detector: ssd\ndata:\n  label_map: {label_map}\n")
    config = load_config(run_config)

    args = Namespace(data=str(records), label_map=None, cache_dir=None)
    pattern, names = run_data(args, config)
    assert pattern == str(records)
    assert dict(names) == LABEL_MAP  # not None: the records' classes named

    # --label-map still wins
    other = tmp_path / "other.pbtxt"
    other.write_text("item { id: 2 name: 'box' }\n")
    args = Namespace(data=str(records), label_map=str(other), cache_dir=None)
    assert dict(run_data(args, config)[1]) == {2: "box"}
