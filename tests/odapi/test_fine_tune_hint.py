"""A fine_tune_checkpoint that is not here (a model-zoo path from another
machine, as sample configs and downloaded pipeline.configs carry) is an
error that says how to train from scratch instead."""

import pytest

from keras_boxloss.odapi.convert import load_detector_config
from tests.odapi.test_ssd_import import write_config

HINT = ("; remove the field (or --set train_config.fine_tune_checkpoint=) to "
        "train from scratch")


@pytest.mark.parametrize("name", ["model.ckpt", "start.weights.h5"])
def test_a_missing_checkpoint_says_how_to_train_from_scratch(tmp_path, name):
    missing = str(tmp_path / "zoo" / name)
    with pytest.raises(ValueError) as error:
        load_detector_config(write_config(tmp_path / "a", fine_tune=missing))
    assert str(error.value).endswith(HINT)
    assert missing in str(error.value)
