"""Deterministic training where TensorFlow allows it.

Two runs of the same config give bit-identical weights when they share the
machine's CPU type, the software (TensorFlow, Keras, oneDNN) and the thread
count: the seed fixes Python's, NumPy's and TensorFlow's generators (the
data pipeline's shuffle and augmentations are seeded from it,
`data.pipeline`), op determinism makes TensorFlow's kernels and tf.data
choose deterministic algorithms, and fixed thread pools fix how the CPU
kernels split their sums. Across CPU types the kernels themselves differ
(oneDNN and XLA pick AVX2 or AVX-512 code at run time, which adds floating
point numbers in another order), so the numbers agree only to rounding
there, and rounding grows over training.

The thread count is the CPUs this process may use, or
`TF_NUM_INTRAOP_THREADS` when set (TensorFlow's own variable), so that a
machine with more cores can reproduce a run made with fewer. TensorFlow
takes thread counts only before its runtime starts: commands call
`fix_thread_pools` first thing; later calls find them fixed and do nothing.
`KERAS_BOXLOSS_OP_DETERMINISM=0` turns op determinism off (on a GPU it can
cost speed, or raise for an op without a deterministic kernel).
"""

import os
import platform
import warnings

THREADS_VARIABLE = "TF_NUM_INTRAOP_THREADS"
OPT_OUT_VARIABLE = "KERAS_BOXLOSS_OP_DETERMINISM"
_warned = False


def default_threads() -> int:
    """`TF_NUM_INTRAOP_THREADS` when set, else the CPUs this process may
    run on."""
    value = os.environ.get(THREADS_VARIABLE, "").strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"Expected a positive integer "
                             f"{THREADS_VARIABLE}. Received: "
                             f"{THREADS_VARIABLE}={value!r}")
        return int(value)
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def fix_thread_pools(threads: int | None = None) -> int:
    """Sets TensorFlow's intra-op and inter-op thread pools to `threads`
    (default `default_threads()`). Returns the intra-op count in force: the
    old one, with a warning, once TensorFlow's runtime has started with
    another (it cannot change then)."""
    import tensorflow as tf

    global _warned
    threads = threads or default_threads()
    threading = tf.config.threading
    current = threading.get_intra_op_parallelism_threads()
    if (current, threading.get_inter_op_parallelism_threads()) == (
            threads, threads):
        return threads
    try:
        threading.set_intra_op_parallelism_threads(threads)
        threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # the runtime has started: its pools stay
        if not _warned:
            _warned = True
            kept = (f"{current} threads" if current else
                    "TensorFlow's default (one per core)")
            warnings.warn(
                f"TensorFlow had started before its thread pools could be "
                f"set to {threads} threads; they keep {kept}. Runs stay "
                f"deterministic within this process; "
                f"to repeat them elsewhere, call fix_thread_pools() before "
                f"any TensorFlow op.", RuntimeWarning, stacklevel=2)
        return current
    return threads


def op_determinism_wanted() -> bool:
    value = os.environ.get(OPT_OUT_VARIABLE, "1").strip().lower()
    if value not in ("0", "1", "false", "true"):
        raise ValueError(f"Expected {OPT_OUT_VARIABLE} to be 0 or 1. "
                         f"Received: {OPT_OUT_VARIABLE}={value!r}")
    return value in ("1", "true")


def make_deterministic(seed: int | None = None,
                       threads: int | None = None) -> dict:
    """Seeds Python, NumPy, TensorFlow and Keras with `seed` (when given),
    fixes the thread pools and turns on TensorFlow's op determinism (unless
    `KERAS_BOXLOSS_OP_DETERMINISM=0`).

    Returns:
        `{"threads", "op_determinism"}`: what is in force.
    """
    import keras
    import tensorflow as tf

    in_force = fix_thread_pools(threads)
    wanted = op_determinism_wanted()
    if wanted:
        tf.config.experimental.enable_op_determinism()
    if seed is not None:
        keras.utils.set_random_seed(seed)
    return {"threads": in_force, "op_determinism": wanted}


def cpu_name() -> str:
    """The CPU's model name (Linux), else what `platform` knows."""
    try:
        with open("/proc/cpuinfo") as file:
            for line in file:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment() -> dict:
    """What a run's numbers depend on beyond its config and seed: the CPU,
    the thread count, op determinism and the versions (recorded with a
    comparison's results, so a re-run knows what to match)."""
    import keras
    import tensorflow as tf
    from tensorflow.python.framework import config as tf_config

    return {"cpu": cpu_name(), "cpus": default_threads(),
            "intra_op_threads":
                tf.config.threading.get_intra_op_parallelism_threads(),
            "op_determinism": tf_config.is_op_determinism_enabled(),
            "tensorflow": tf.__version__, "keras": keras.__version__}
