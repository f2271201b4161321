"""SSD train-step time and peak memory, with and without XLA, and the
MultiBox loss alone against the same loss written the plain way.

1. Train step of an SSD config (default: the TF OD API-style
   `ssd_mobilenet_v2_coco.yaml`, 300 px, batch 24) on random images with
   generated-looking ground truth, `jit_compile` off and on. Each variant runs
   in its own process so that its peak memory (RSS on CPU, the allocator's
   peak on GPU) is its own.
2. The MultiBox loss (forward + backward) on 1917 anchors x batch 24:
   ours (fixed shapes, two-argsort ranking) eager, `tf.function` and XLA,
   against a plain implementation (per-image loop, boolean masks, argsort of
   the negatives, top-k gather: dynamic shapes, so no XLA), as torchvision
   and most TF ports write it.

    python benchmarks/ssd_train_step.py                      # both parts
    python benchmarks/ssd_train_step.py --part loss          # loss only
    python benchmarks/ssd_train_step.py --config model_garden_configs/ssd/ssd_tiny_generated.yaml --batch-size 16
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_CONFIG = ROOT / "model_garden_configs" / "ssd" / "ssd_mobilenet_v2_coco.yaml"


def peak_memory_mb():
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        return tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def random_batch(num_classes, image_size, batch_size, max_boxes=10, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    images = rng.uniform(0, 255, (batch_size, image_size, image_size, 3))
    centre = rng.uniform(0.2, 0.8, (batch_size, max_boxes, 2))
    size = rng.uniform(0.05, 0.4, (batch_size, max_boxes, 2))
    boxes = np.concatenate([centre - size / 2, centre + size / 2], -1)
    classes = rng.integers(1, num_classes + 1, (batch_size, max_boxes))
    classes[:, max_boxes // 2:] = -1                  # padding, as KerasCV
    boxes[:, max_boxes // 2:] = -1
    return (images.astype("float32"),
            {"boxes": boxes.astype("float32"),
             "classes": classes.astype("float32")})


def one_train_variant(config_path, batch_size, jit_compile, steps):
    """Runs in a child process: prints one JSON line."""
    import tensorflow as tf

    from keras_boxloss.training.config import load_config
    from keras_boxloss.training.train import build_model, build_optimizer

    config = load_config(config_path, [f"data.batch_size={batch_size}"])
    model = build_model(config)
    model.compile(optimizer=build_optimizer(config), jit_compile=jit_compile)
    images, truth = random_batch(config.model.num_classes,
                                 config.model.image_size, batch_size)
    start = time.perf_counter()
    model.train_on_batch(images, truth)              # trace (and compile)
    first = time.perf_counter() - start
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        model.train_on_batch(images, truth)
        times.append(time.perf_counter() - start)
    print(json.dumps({
        "jit_compile": jit_compile, "first_step_s": first,
        "step_ms": 1e3 * min(times), "peak_memory_mb": peak_memory_mb(),
        "device": str((tf.config.list_physical_devices("GPU")
                       or ["CPU"])[0])}))


def train_part(config_path, batch_size, steps):
    rows = []
    for jit in (False, True):
        out = subprocess.run(
            [sys.executable, __file__, "--child-train", str(config_path),
             "--batch-size", str(batch_size), "--steps", str(steps)]
            + (["--jit"] if jit else []),
            capture_output=True, text=True, check=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
        print(f"  train step, jit_compile={jit}: {rows[-1]['step_ms']:.0f} ms"
              f" (first step {rows[-1]['first_step_s']:.1f} s), peak "
              f"{rows[-1]['peak_memory_mb']:.0f} MB", flush=True)
    return rows


def plain_multibox(y_true, y_pred, neg_pos_ratio=3.0):
    """MultiBox as usually written: a loop over images, boolean masks and a
    sort of each image's negatives. Same value as ours."""
    import tensorflow as tf

    total_cls, total_loc = 0.0, 0.0
    classes = tf.cast(y_true[..., 4], tf.int32)
    positives = tf.reduce_sum(tf.cast(classes > 0, tf.float32))
    for i in range(y_true.shape[0]):
        cls_i, logits = classes[i], y_pred[i, :, 4:]
        ce = tf.nn.sparse_softmax_cross_entropy_with_logits(
            tf.maximum(cls_i, 0), logits)
        pos = cls_i > 0
        neg_ce = tf.boolean_mask(ce, cls_i == 0)
        k = tf.minimum(tf.cast(neg_pos_ratio * tf.reduce_sum(
            tf.cast(pos, tf.float32)), tf.int32), tf.size(neg_ce))
        order = tf.argsort(tf.stop_gradient(neg_ce), direction="DESCENDING")
        hard = tf.gather(neg_ce, order[:k])
        total_cls += tf.reduce_sum(tf.boolean_mask(ce, pos)) + tf.reduce_sum(
            hard)
        error = tf.abs(tf.boolean_mask(y_pred[i, :, :4] - y_true[i, :, :4],
                                       pos))
        quadratic = tf.minimum(error, 1.0)
        total_loc += tf.reduce_sum(0.5 * quadratic**2 + (error - quadratic))
    return (total_cls + total_loc) / tf.maximum(positives, 1.0)


def loss_part(repeats):
    import numpy as np
    import tensorflow as tf

    from keras_boxloss.losses.multibox_loss import MultiBox
    from keras_boxloss.ssd.anchors import ssd_default_boxes
    from keras_boxloss.ssd.matching import encode_targets

    anchors = ssd_default_boxes([(19, 19), (10, 10), (5, 5), (3, 3), (2, 2),
                                 (1, 1)])
    _, truth = random_batch(90, 300, 24)
    y_true = encode_targets(tf.constant(anchors), tf.constant(truth["boxes"]),
                            tf.constant(truth["classes"]))
    rng = np.random.default_rng(1)
    y_pred = tf.constant(rng.normal(0, 1, (24, len(anchors), 4 + 91)),
                         tf.float32)
    ours = MultiBox(90)
    np.testing.assert_allclose(float(ours(y_true, y_pred)),
                               float(plain_multibox(y_true, y_pred)),
                               rtol=1e-4)

    def step(loss):
        def run(t, p):
            with tf.GradientTape() as tape:
                tape.watch(p)
                value = loss(t, p)
            return value, tape.gradient(value, p)
        return run

    variants = {
        "plain, eager": step(plain_multibox),
        "plain, tf.function": tf.function(step(plain_multibox)),
        "ours, eager": step(ours),
        "ours, tf.function": tf.function(step(ours)),
        "ours, XLA": tf.function(step(ours), jit_compile=True),
    }
    rows = []
    for name, fn in variants.items():
        fn(y_true, y_pred)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            value, grad = fn(y_true, y_pred)
            grad.numpy()
            times.append(time.perf_counter() - start)
        rows.append({"variant": name, "ms": 1e3 * min(times)})
    base = rows[1]["ms"]  # plain tf.function, the usual way to run it
    for row in rows:
        row["x_plain_tf_function"] = row["ms"] / base
        print(f"  MultiBox {row['variant']:<20} {row['ms']:9.2f} ms "
              f"{row['x_plain_tf_function']:6.2f} x plain tf.function",
              flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=["train", "loss", "both"],
                        default="both")
    parser.add_argument("--config", default=str(DEFAULT_CONFIG))
    parser.add_argument("--batch-size", type=int, default=24)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--out", default=str(
        ROOT / "benchmarks" / "results" / "ssd_train_step.json"))
    parser.add_argument("--child-train", help=argparse.SUPPRESS)
    parser.add_argument("--jit", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_train:
        one_train_variant(args.child_train, args.batch_size, args.jit,
                          args.steps)
        return
    results = {"machine": platform.machine(), "cpus": os.cpu_count(),
               "config": args.config, "batch_size": args.batch_size}
    if args.part in ("train", "both"):
        print(f"SSD train step: {args.config}, batch {args.batch_size}")
        results["train_step"] = train_part(args.config, args.batch_size,
                                           args.steps)
        off, on = results["train_step"]
        print(f"  XLA / no XLA step time: {on['step_ms'] / off['step_ms']:.2f}")
    if args.part in ("loss", "both"):
        print("MultiBox loss alone, 1917 anchors x 24 images, fwd + bwd")
        results["multibox_loss"] = loss_part(args.repeats)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
