import pytest

from keras_boxloss.cli.main import main


@pytest.mark.parametrize("args,message", [
    (["--losses", "huber,smoth_iou"], "losses='huber,smoth_iou'"),
    (["--seeds", "0"], "seeds='0'"),
    (["--steps", "0"], "--steps must be positive"),
    (["--config", "nope.yaml"], "no such config file nope.yaml"),
])
def test_bad_arguments_exit_2_naming_them(args, message, capsys, tmp_path):
    assert main(["compare", "--output-dir", str(tmp_path), *args]) == 2
    assert message in capsys.readouterr().err


def test_default_config_is_packaged_and_valid():
    from keras_boxloss.cli.compare import default_config
    from keras_boxloss.training.config import load_config

    config = load_config(default_config())
    assert config.detector == "ssd" and not config.data.train


def test_default_config_is_the_documented_ssd_tiny_generated():
    # The README says the bundled default is this shipped config.
    import pathlib

    from keras_boxloss.cli.compare import default_config
    from keras_boxloss.training.config import config_to_dict, load_config

    shipped = (pathlib.Path(__file__).parents[2] / "model_garden_configs"
               / "ssd" / "ssd_tiny_generated.yaml")
    assert (config_to_dict(load_config(default_config()))
            == config_to_dict(load_config(str(shipped))))


def test_sweep_and_evaluate_on_reach_compare(monkeypatch, tmp_path):
    import keras_boxloss.compare.compare as compare_module
    from keras_boxloss.cli.main import main
    from keras_boxloss.compare.plan import parse_sweep

    seen = {}
    monkeypatch.setattr(compare_module, "compare",
                        lambda *args, **kwargs: seen.update(kwargs))
    assert main(["compare", "--output-dir", str(tmp_path / "c"),
                 "--losses", "huber", "--sweep",
                 "task.losses.rpn_box_weight=1,5",
                 "--evaluate-on", "validation", "--no-progress"]) == 0
    assert seen["evaluate_on"] == "validation"
    assert seen["sweep"] == parse_sweep("task.losses.rpn_box_weight=1,5")


def test_bad_sweep_is_an_error_naming_it(capsys, tmp_path):
    from keras_boxloss.cli.main import main

    assert main(["compare", "--output-dir", str(tmp_path / "c"),
                 "--sweep", "no-equals-sign"]) == 2
    assert "sweep" in capsys.readouterr().err


def test_losses_all_with_yolo_v1_is_the_iou_family(monkeypatch, tmp_path):
    import keras_boxloss.compare.compare as compare_module
    from keras_boxloss.cli.main import main

    seen = {}
    monkeypatch.setattr(compare_module, "compare",
                        lambda config, losses, *args, **kwargs:
                        seen.update(losses=losses))
    assert main(["compare", "--config",
                 "model_garden_configs/yolo/yolo_v1_tiny_generated.yaml",
                 "--losses", "all", "--output-dir", str(tmp_path / "c"),
                 "--no-progress"]) == 0
    assert "huber" not in seen["losses"]
    assert "balanced_l1" not in seen["losses"]
    assert {"iou", "giou", "ciou", "smooth_iou", "eiou"} <= set(
        seen["losses"])
