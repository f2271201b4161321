"""Runs written before the SSD's aspect ratios had one home (0.3333 for 1/3)
still resume: their saved config is not "another config"."""

from keras_boxloss.training.run_state import config_differences


def test_a_run_saved_with_0_3333_is_the_same_config_as_one_third():
    old = {"model": {"aspect_ratios": [1.0, 2.0, 0.5, 3.0, 0.3333]}}
    new = {"model": {"aspect_ratios": [1.0, 2.0, 0.5, 3.0, 1.0 / 3.0]}}
    assert config_differences(old, new) == []


def test_other_aspect_ratio_changes_are_still_refused():
    old = {"model": {"aspect_ratios": [1.0, 2.0, 0.5]}}
    new = {"model": {"aspect_ratios": [1.0, 2.0, 0.25]}}
    assert config_differences(old, new) == [
        "model.aspect_ratios: [1.0, 2.0, 0.5] -> [1.0, 2.0, 0.25]"]
