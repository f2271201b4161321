"""Deterministic training: the same config trains to bit-identical weights,
in one process and in two; thread pools and the switches."""

import hashlib
import os
import subprocess
import sys

import numpy as np
import pytest

from keras_boxloss.training import determinism
from keras_boxloss.training.config import load_config
from keras_boxloss.training.train import load_trained, train

TINY = ["model.image_size=64", "model.num_layers=3", "data.batch_size=4",
        "data.max_boxes=12", "trainer.steps_per_epoch=3",
        "optimizer.learning_rate=0.003"]


def _digest(weights):
    digest = hashlib.sha256()
    for array in weights:
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def test_default_threads_reads_tensorflows_variable(monkeypatch):
    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", "3")
    assert determinism.default_threads() == 3
    monkeypatch.delenv("TF_NUM_INTRAOP_THREADS")
    assert determinism.default_threads() == len(os.sched_getaffinity(0))
    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", "two")
    with pytest.raises(ValueError, match=r"Expected a positive integer "
                       r"TF_NUM_INTRAOP_THREADS\. Received: "
                       r"TF_NUM_INTRAOP_THREADS='two'"):
        determinism.default_threads()


def test_op_determinism_switch(monkeypatch):
    assert determinism.op_determinism_wanted()  # on by default
    monkeypatch.setenv("KERAS_BOXLOSS_OP_DETERMINISM", "0")
    assert not determinism.op_determinism_wanted()
    monkeypatch.setenv("KERAS_BOXLOSS_OP_DETERMINISM", "off")
    with pytest.raises(ValueError, match="Expected KERAS_BOXLOSS_OP_"
                       "DETERMINISM to be 0 or 1. Received: "):
        determinism.op_determinism_wanted()


def test_thread_pools_cannot_change_once_tensorflow_runs(monkeypatch):
    import tensorflow as tf

    tf.reduce_sum(tf.ones(4)).numpy()  # the runtime has started
    current = tf.config.threading.get_intra_op_parallelism_threads()
    monkeypatch.setattr(determinism, "_warned", False)
    with pytest.warns(RuntimeWarning, match="TensorFlow had started before "
                      "its thread pools could be set to 7 threads"):
        assert determinism.fix_thread_pools(7) == current
    assert tf.config.threading.get_intra_op_parallelism_threads() == current


def test_environment_names_the_cpu_threads_and_versions():
    import keras
    import tensorflow as tf

    found = determinism.environment()
    assert found["cpu"] == determinism.cpu_name() and found["cpu"]
    assert found["cpus"] == determinism.default_threads()
    assert found["intra_op_threads"] == (
        tf.config.threading.get_intra_op_parallelism_threads())
    assert (found["tensorflow"], found["keras"]) == (tf.__version__,
                                                    keras.__version__)
    with open("/proc/cpuinfo") as file:
        assert found["cpu"] in file.read()


@pytest.mark.slow
def test_thread_pools_are_set_before_tensorflow_starts_and_kept_after():
    # A fresh interpreter: this one's TensorFlow has started already.
    script = (
        "import warnings; warnings.simplefilter('error')\n"
        "from keras_boxloss.training.determinism import fix_thread_pools\n"
        "import tensorflow as tf\n"
        "assert fix_thread_pools(3) == 3\n"
        "tf.reduce_sum(tf.ones(4)).numpy()  # starts the runtime\n"
        "threading = tf.config.threading\n"
        "assert threading.get_intra_op_parallelism_threads() == 3\n"
        "assert threading.get_inter_op_parallelism_threads() == 3\n"
        "assert fix_thread_pools(3) == 3  # already so: no warning\n"
        "warnings.simplefilter('ignore')\n"
        "assert fix_thread_pools(1) == 3  # too late: kept\n"
        "print('ok')\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("ok")


def test_two_trainings_in_one_process_give_identical_weights(generated,
                                                            tmp_path):
    import keras
    from tensorflow.python.framework import config as tf_config

    from keras_boxloss.training.train import build_model

    config = load_config(None, [f"data.train={generated['train']}",
                                f"data.validation={generated['val']}", *TINY,
                                "trainer.steps=3",
                                "trainer.jit_compile=false",
                                "trainer.eval_every_steps=-1"])
    first, _ = train(config, tmp_path / "a", verbose=0)
    assert tf_config.is_op_determinism_enabled()
    digest = _digest(first.get_weights())
    second, _ = train(config, tmp_path / "b", verbose=0)
    assert _digest(second.get_weights()) == digest
    # not trivially: training moved the weights from the seed's initial ones
    keras.utils.set_random_seed(config.trainer.seed)
    initial = build_model(config).get_weights()
    assert len(initial) == len(first.get_weights())
    assert _digest(initial) != digest


@pytest.mark.slow
def test_two_trainings_in_two_processes_give_identical_weights(generated,
                                                              tmp_path):
    # The compare default's settings (XLA on), 10 steps, as a user runs it.
    config = os.path.join(os.path.dirname(__file__), "..", "..",
                          "model_garden_configs", "ssd",
                          "ssd_tiny_generated.yaml")
    digests = []
    for name in ("a", "b"):
        command = [sys.executable, "-m", "keras_boxloss.cli.main", "train",
                   "--config", config, "--model-dir", str(tmp_path / name),
                   "--no-progress",
                   "--set", f"data.train={generated['train']}",
                   "--set", f"data.validation={generated['val']}",
                   "--set", "trainer.steps=10",
                   "--set", "trainer.steps_per_epoch=10"]
        env = {**os.environ, "KERAS_BACKEND": "tensorflow"}
        done = subprocess.run(command, capture_output=True, text=True,
                              timeout=600, env=env)
        assert done.returncode == 0, done.stderr[-2000:]
        _, model = load_trained(tmp_path / name)
        digests.append(_digest(model.get_weights()))
    assert digests[0] == digests[1]
