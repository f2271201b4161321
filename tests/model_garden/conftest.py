"""Shared fixtures: the small CPU config on a few generated TFRecords.

Model Garden (tf-models-official) is TensorFlow only; tests/conftest.py
deselects these tests under other backends.
"""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CONFIG_DIR = REPO / "model_garden_configs" / "faster_rcnn"
SMALL_CONFIG = CONFIG_DIR / "generated_cpu.yaml"


@pytest.fixture(scope="session")
def generated_records(tmp_path_factory):
    """8 train and 4 val generated images (128 px) as TF OD API records."""
    from keras_boxloss.data.generated import write_generated_dataset

    return write_generated_dataset(
        str(tmp_path_factory.mktemp("garden_data")),
        {"train": 8, "val": 4}, seed=0, image_size=128)


def small_params(records, **task_overrides):
    """The small CPU experiment config on `records`, with task overrides
    (`frcnn_box_loss={"type": "ciou"}`)."""
    from official.core import exp_factory
    from official.modeling import hyperparams

    from keras_boxloss.model_garden import configs

    params = exp_factory.get_exp_config(configs.EXPERIMENT)
    params = hyperparams.override_params_dict(params, str(SMALL_CONFIG),
                                              is_strict=True)
    params.override({"task": {
        "train_data": {"input_path": records["train"]},
        "validation_data": {"input_path": records["val"]},
        **task_overrides}})
    return params
