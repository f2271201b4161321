"""Training end to end on the generated dataset: learn, resume, export."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_boxloss.data.records import read_records
from keras_boxloss.evaluation.evaluate import evaluate_detections
from keras_boxloss.training import run_state
from keras_boxloss.training.config import load_config
from keras_boxloss.training.predict import detect, predict_records
from keras_boxloss.training.train import load_trained, train

# No validation while training (tests/training/test_validation_*.py test
# it): these tests evaluate once, at the end.
FAST = ["model.image_size=96", "model.num_layers=3", "data.batch_size=16",
        "data.max_boxes=12", "optimizer.learning_rate=0.003",
        "trainer.eval_every_steps=-1"]


def config_for(generated, *overrides):
    return load_config(None, [f"data.train={generated['train']}",
                              f"data.validation={generated['val']}",
                              *FAST, *overrides])


def test_short_training_reaches_ap50(generated, tmp_path):
    # Stated target: COCO AP50 > 0.15 on the generated val split after 150
    # steps (the untrained model scores about 0).
    config = config_for(generated, "trainer.steps=150",
                        "trainer.steps_per_epoch=50")
    model, history = train(config, tmp_path, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    predictions = predict_records(model, config, generated["val"])
    metrics = evaluate_detections(list(read_records(generated["val"])),
                                  predictions)
    assert metrics["AP50"] > 0.15, metrics


class StopAfterFirstEpoch(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 0:
            raise KeyboardInterrupt("simulated kill")


def test_an_interrupted_run_resumes_from_its_last_epoch(generated, tmp_path,
                                                       monkeypatch):
    from keras_boxloss.training import train as train_module

    skips = []
    make_inputs = train_module.make_inputs

    def recording_make_inputs(*args, skip_batches=0, **kwargs):
        skips.append(skip_batches)
        return make_inputs(*args, skip_batches=skip_batches, **kwargs)

    monkeypatch.setattr(train_module, "make_inputs", recording_make_inputs)
    config = config_for(generated, "trainer.steps=6",
                        "trainer.steps_per_epoch=2", "model.image_size=64",
                        "trainer.jit_compile=false")
    with pytest.raises(KeyboardInterrupt):
        train(config, tmp_path, verbose=0, callbacks=[StopAfterFirstEpoch()])
    assert (tmp_path / "backup").exists()
    assert run_state.backup_epochs(tmp_path) == 1
    _, history = train(config, tmp_path, verbose=0)
    # epoch 1 was done: the restarted run trains epochs 2 and 3 only, on
    # the batches after epoch 1's two
    assert history.epoch == [1, 2]
    assert skips == [0, 2]
    assert not (tmp_path / "backup").exists()


LOAD_AND_RUN = """
import json, sys
import numpy as np
import tensorflow as tf
assert "keras_boxloss" not in sys.modules
model = tf.saved_model.load(sys.argv[1])
image = np.load(sys.argv[2])
out = model.signatures["serving_default"](input_tensor=tf.constant(image))
out2 = model(tf.constant(image))  # the loaded object is callable too
print(json.dumps({k: v.numpy().tolist() for k, v in out.items()}))
print(json.dumps({k: v.numpy().tolist() for k, v in out2.items()}))
assert "keras_boxloss" not in sys.modules
"""


def test_export_round_trip_in_a_fresh_process(generated, tmp_path):
    from keras_boxloss.training.export import export_saved_model

    config = config_for(generated, "trainer.steps=2",
                        "trainer.steps_per_epoch=2", "model.image_size=64",
                        "trainer.jit_compile=false")
    train(config, tmp_path / "run", verbose=0)
    config, model = load_trained(tmp_path / "run")
    export_saved_model(model, config, tmp_path / "saved" / "1")
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (1, 80, 120, 3), dtype=np.uint8)
    np.save(tmp_path / "image.npy", image)
    result = subprocess.run(
        [sys.executable, "-c", LOAD_AND_RUN, str(tmp_path / "saved" / "1"),
         str(tmp_path / "image.npy")], capture_output=True, text=True,
        check=True)
    served, served_encoded = (json.loads(line) for line in
                              result.stdout.strip().splitlines()[-2:])
    assert {"detection_boxes", "detection_scores", "detection_classes",
            "num_detections"} <= set(served)
    import tensorflow as tf
    resized = tf.image.resize(tf.cast(image, tf.float32), (64, 64))
    expected = detect(model, resized)
    for key in expected:
        np.testing.assert_allclose(served[key], expected[key].numpy(),
                                   rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(served_encoded[key], served[key],
                                   rtol=1e-4, atol=1e-5)


MIRRORED_TRAIN = """
import sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from keras_boxloss.training import run_state
from keras_boxloss.training.config import load_config
from keras_boxloss.training.train import train
config = load_config(None, [f"data.train={sys.argv[2]}",
                            "model.image_size=64", "model.num_layers=3",
                            "data.batch_size=8", "trainer.steps=2",
                            "trainer.steps_per_epoch=2",
                            "trainer.jit_compile=false",
                            "trainer.distribution=mirrored"])
model, history = train(config, sys.argv[1], verbose=0)
print(model.distribute_strategy.num_replicas_in_sync,
      history.history["loss"][-1])
"""


def test_training_runs_under_mirrored_strategy(generated, tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", MIRRORED_TRAIN, str(tmp_path),
         generated["train"]], capture_output=True, text=True, check=True)
    replicas, loss = result.stdout.split()[-2:]
    assert int(replicas) == 2
    assert np.isfinite(float(loss)) and float(loss) > 0
    assert (tmp_path / "model.weights.h5").exists()
