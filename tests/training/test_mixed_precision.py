"""`trainer.mixed_precision`: a short run in each mode is finite and learns,
the model computes in the requested dtype, and the policy does not leak into
models built after it. (About 50 s on 2 CPU cores; losses fall to about
0.6 and, for YOLOv1, 0.3 of the first epoch's, against the 0.9 asserted.)"""

from pathlib import Path

import keras
import numpy as np
import pytest

from keras_boxloss.training.config import load_config
from keras_boxloss.training.train import build_model, train

CONFIGS = Path(__file__).resolve().parents[2] / "model_garden_configs"
# 4 epochs of 4 steps: the first epoch's mean loss against the last's. A
# rate that learns fast on the generated shapes, small images for speed.
SHORT = ["model.image_size=64", "data.batch_size=4", "data.augment=false",
         "data.max_boxes=12", "optimizer.learning_rate=0.003",
         "trainer.steps=16", "trainer.steps_per_epoch=4",
         "trainer.jit_compile=false"]


class RecordDtypes(keras.callbacks.Callback):
    """The compute dtype of the model being trained and of its output."""

    def __init__(self, images):
        super().__init__()
        self.images, self.dtypes = images, None

    def on_train_end(self, logs=None):
        output = self.model(self.images, training=False)
        first = output[0] if isinstance(output, (list, tuple)) else output
        self.dtypes = (self.model.dtype_policy.compute_dtype,
                       keras.backend.standardize_dtype(first.dtype))


def _run(config_file, mode, generated, tmp_path, *extra):
    config = load_config(CONFIGS / config_file, [*extra,
        f"data.train={generated['train']}", *SHORT,
        # "" is the default (an empty override would read as YAML null)
        *([f"trainer.mixed_precision={mode}"] if mode else [])])
    size = config.model.image_size
    record = RecordDtypes(np.zeros((1, size, size, 3), "float32"))
    model, history = train(config, tmp_path / (mode or "float32"),
                           verbose=0, callbacks=[record])
    return model, history.history["loss"], record.dtypes


@pytest.mark.parametrize("mode, dtype", [
    # float32 training is what every other training test runs
    pytest.param("", "float32", marks=pytest.mark.slow),
    ("mixed_float16", "float16"),
    ("mixed_bfloat16", "bfloat16")])
def test_ssd_trains_in_each_mode(mode, dtype, generated, tmp_path):
    model, losses, dtypes = _run("ssd/ssd_tiny_generated.yaml", mode,
                                 generated, tmp_path, "model.num_layers=3")
    assert dtypes == (dtype, dtype)
    assert np.all(np.isfinite(losses)), losses
    assert losses[-1] < 0.9 * losses[0], losses
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer
                      ) == (mode == "mixed_float16")
    # Restored: a model built afterwards in this process is float32.
    assert keras.config.dtype_policy().name == "float32"
    assert build_model(load_config(None, [])).dtype_policy.name == "float32"


def test_yolo_v1_trains_in_mixed_bfloat16(generated, tmp_path):
    _, losses, dtypes = _run("yolo/yolo_v1_tiny_generated.yaml",
                             "mixed_bfloat16", generated, tmp_path,
                             "model.grid_size=4")  # 64 px = 16 * 4
    assert dtypes == ("bfloat16", "bfloat16")
    assert np.all(np.isfinite(losses)), losses
    assert losses[-1] < 0.9 * losses[0], losses


def test_unknown_mode_names_the_field():
    with pytest.raises(ValueError, match=r"trainer.mixed_precision.*"
                       r"Received: trainer.mixed_precision='float16'"):
        load_config(None, ["trainer.mixed_precision=float16"])
