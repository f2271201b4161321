"""`evaluate` and `export` `--checkpoint best|last`: which weights of a
`train` run they load."""

import numpy as np
import pytest

from keras_boxloss.cli.main import main
from keras_boxloss.data.generated import write_generated_dataset
from keras_boxloss.training import run_state
from keras_boxloss.training.config import load_config
from keras_boxloss.training.train import build_model
from keras_boxloss.training.validation import BEST_METRICS, write_best


def _fill(model, value):
    model.set_weights([np.full_like(w, value) for w in model.get_weights()])


def _value(model):
    """The one value every weight of `model` holds."""
    (value,) = {float(v) for w in model.get_weights() for v in np.unique(w)}
    return value


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A run folder by hand: last weights all 1, best/ weights all 2."""
    folder = tmp_path_factory.mktemp("checkpoints")
    data = write_generated_dataset(str(folder / "data"),
                                   splits={"val": 2}, image_size=64)
    config = load_config(None, [f"data.validation={data['val']}",
                                "model.image_size=64", "model.num_layers=3"])
    model_dir = folder / "run"
    run_state.apply_plan(run_state.plan_run(config, model_dir), config)
    model = build_model(config)
    _fill(model, 2.0)
    write_best(model, model_dir, 4, "AP50", dict.fromkeys(BEST_METRICS, 0.5))
    _fill(model, 1.0)
    model.save_weights(model_dir / run_state.WEIGHTS)
    return model_dir


@pytest.fixture
def exported(monkeypatch):
    """The models `export` exports (nothing is written)."""
    from keras_boxloss.training import export

    models = []

    def export_saved_model(model, config, output, **kwargs):
        models.append(model)
        return str(output)

    monkeypatch.setattr(export, "export_saved_model", export_saved_model)
    return models


@pytest.mark.parametrize("flags, value", [([], 1.0),
                                          (["--checkpoint", "last"], 1.0),
                                          (["--checkpoint", "best"], 2.0)])
def test_export_loads_the_checkpoint(run, exported, tmp_path, flags, value):
    assert main(["export", "--model-dir", str(run), "--output-dir",
                 str(tmp_path / "sm"), *flags]) == 0
    assert _value(exported[0]) == value


def test_evaluate_best_runs_and_writes_in_best(run, monkeypatch):
    from keras_boxloss.training import predict

    models = []

    def predict_records(model, config, pattern, **nms):
        models.append(model)
        return []  # no detections: every metric 0

    monkeypatch.setattr(predict, "predict_records", predict_records)
    assert main(["evaluate", "--model-dir", str(run), "--checkpoint",
                 "best"]) == 0
    assert _value(models[0]) == 2.0
    assert (run / "best" / "predictions.json").exists()
    assert (run / "best" / "predictions.metrics.json").exists()
    assert not (run / "predictions.json").exists()


def test_best_without_best_folder_is_a_clear_error(tmp_path, exported,
                                                   capsys):
    config = load_config(None, ["model.image_size=64", "model.num_layers=3"])
    run_state.apply_plan(run_state.plan_run(config, tmp_path), config)
    build_model(config).save_weights(tmp_path / run_state.WEIGHTS)
    for command in (["export", "--output-dir", str(tmp_path / "sm")],
                    ["evaluate"]):
        assert main([*command, "--model-dir", str(tmp_path), "--checkpoint",
                     "best"]) != 0
        assert "Expected a best checkpoint" in capsys.readouterr().err
    assert not exported


def test_checkpoint_needs_a_model_dir(tmp_path, capsys):
    assert main(["evaluate", "--predictions", str(tmp_path / "p.json"),
                 "--checkpoint", "best"]) != 0
    assert "Expected --model-dir with --checkpoint" in capsys.readouterr().err
