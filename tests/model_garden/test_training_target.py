"""Slow: the small CPU config reaches its stated COCO AP on the generated
dataset with Huber and with Smooth IoU (about 5 minutes each on 2 cores)."""

import pytest

pytest.importorskip("official.vision")

from tests.model_garden.conftest import small_params  # noqa: E402

TARGET_AP = 0.5  # generated_cpu.yaml's "Expected:" line


@pytest.mark.slow
@pytest.mark.parametrize("loss_type", ["huber", "smooth_iou"])
def test_small_config_reaches_its_target_ap(loss_type, tmp_path):
    import tensorflow as tf
    from official.core import task_factory, train_lib

    from keras_boxloss.data.generated import default_dataset
    from keras_boxloss.model_garden import registry_imports  # noqa: F401

    records = default_dataset(str(tmp_path / "data"))
    params = small_params(records, rpn_box_loss={"type": loss_type},
                          frcnn_box_loss={"type": loss_type})
    params.override({"trainer": {"validation_interval": 400}})
    strategy = tf.distribute.get_strategy()
    with strategy.scope():
        task = task_factory.get_task(params.task,
                                     logging_dir=str(tmp_path / "model"))
    _, logs = train_lib.run_experiment(
        distribution_strategy=strategy, task=task, mode="train_and_eval",
        params=params, model_dir=str(tmp_path / "model"))
    assert logs["AP"] >= TARGET_AP, logs
