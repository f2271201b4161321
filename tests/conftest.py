"""Runs the backend-neutral tests on any Keras backend, the rest on TF only.

The loss library is pure `keras.ops` and is tested on TensorFlow and JAX
(`KERAS_BACKEND=jax python -m pytest`). The detector tooling (tf.data,
TFRecords, SavedModel, Model Garden) is TensorFlow by nature: under another
backend those tests are deselected, and the run says how many.
"""

from pathlib import Path

import keras
import pytest

TESTS = Path(__file__).resolve().parent
BACKEND_NEUTRAL = [TESTS / "losses", TESTS / "test_boxes.py",
                   TESTS / "test_profiles.py",
                   TESTS / "test_toy_regression.py",
                   TESTS / "test_benchmark_smoke.py"]


def _is_neutral(path):
    path = Path(path).resolve()
    return any(path == p or p in path.parents for p in BACKEND_NEUTRAL)


def pytest_configure(config):
    # Full float32 matrix products on a GPU too. Both backends default to
    # TensorFloat-32 there (10-bit mantissa), so a test model's identity
    # Dense layer moves its inputs by up to 5e-4 relative, and the tests
    # that compare a fitted loss with the eager one to 1e-6 failed on an
    # H200 while the losses were right. No effect on a CPU.
    if keras.backend.backend() == "jax":
        import jax
        jax.config.update("jax_default_matmul_precision", "highest")
    elif keras.backend.backend() == "tensorflow":
        import tensorflow as tf
        tf.config.experimental.enable_tensor_float_32_execution(False)


def pytest_collection_modifyitems(config, items):
    if keras.backend.backend() == "tensorflow":
        return
    kept = [item for item in items if _is_neutral(item.path)]
    dropped = [item for item in items if not _is_neutral(item.path)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def pytest_report_header(config):
    return f"keras backend: {keras.backend.backend()}"


@pytest.fixture(scope="session")
def generated(tmp_path_factory):
    """The generated default dataset, written once per test session."""
    from keras_boxloss.data.generated import default_dataset

    return default_dataset(tmp_path_factory.mktemp("generated"))
