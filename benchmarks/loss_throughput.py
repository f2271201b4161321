"""Forward + backward time of each box loss, side by side in one run.

For N boxes (1e3 to 1e6) it times `loss(y_true, y_pred)` and its gradient
w.r.t. `y_pred` in three execution modes of the TensorFlow backend: eager,
`tf.function`, and `tf.function(jit_compile=True)` (XLA). Beside our losses
it runs KerasCV 0.9's IoULoss, GIoULoss and CIoULoss where keras-cv is
installed (its IoU and GIoU build the N x N pairwise matrix, so they are only
run up to `--keras-cv-max-n` boxes), and a memory floor: one XLA-compiled
elementwise pass over the same bytes (read y_true and y_pred, write a
gradient-sized tensor), the least any loss-and-gradient must do.

Results: a table of milliseconds and of ratios (time / floor, and KerasCV /
ours), printed and written as JSON.

    python benchmarks/loss_throughput.py                  # full grid
    python benchmarks/loss_throughput.py --sizes 1000 --repeats 3   # quick
"""

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import keras_boxloss as kb  # noqa: E402

OURS = {
    "HuberBox": kb.HuberBox,
    "IoU": kb.IoU,
    "GIoU": kb.GIoU,
    "DIoU": kb.DIoU,
    "CIoU": kb.CIoU,
    "SmoothIoU": kb.SmoothIoU,
    # issue 18 (MPDIoU's default image is 1 x 1: the timing does not care)
    "BalancedL1": kb.BalancedL1,
    "MPDIoU": kb.MPDIoU,
    "InnerIoU": kb.InnerIoU,
    "ShapeIoU": kb.ShapeIoU,
    "NWD": kb.NWD,
}
# our loss -> the KerasCV loss it is compared with
KERAS_CV_PEERS = {"IoU": "IoULoss", "GIoU": "GIoULoss", "CIoU": "CIoULoss"}
# KerasCV losses that build the N x N pairwise matrix
PAIRWISE = {"IoULoss", "GIoULoss"}
MODES = ("eager", "tf.function", "xla")


def make_boxes(n, seed=0):
    rng = np.random.default_rng(seed)
    centre = rng.uniform(0, 500, (n, 2))
    size = rng.uniform(4, 100, (n, 2))
    y_true = np.concatenate([centre - size / 2, centre + size / 2], -1)
    y_pred = y_true + rng.normal(0, 5, y_true.shape)
    return (tf.constant(y_true, tf.float32), tf.constant(y_pred, tf.float32))


def keras_cv_losses():
    try:
        import keras_cv
    except ImportError:
        return {}
    return {
        "IoULoss": lambda: keras_cv.losses.IoULoss("xyxy", mode="linear",
                                                   reduction="sum"),
        "GIoULoss": lambda: keras_cv.losses.GIoULoss("xyxy",
                                                     reduction="sum"),
        "CIoULoss": lambda: keras_cv.losses.CIoULoss("xyxy",
                                                     reduction="sum"),
    }


def step_fn(loss, mode):
    def step(y_true, y_pred):
        with tf.GradientTape() as tape:
            tape.watch(y_pred)
            value = loss(y_true, y_pred)
        return value, tape.gradient(value, y_pred)

    if mode == "eager":
        return step
    return tf.function(step, jit_compile=(mode == "xla"))


def floor_fn():
    # Reads both inputs, writes one tensor of their size: what any loss with
    # its gradient must at least move through memory.
    @tf.function(jit_compile=True)
    def copy(y_true, y_pred):
        return y_pred * 1.0000001 + y_true * 1e-7
    return copy


def time_ms(fn, args, repeats, min_seconds=0.2):
    """Best-of-`repeats` milliseconds per call, after a warm-up (trace and
    compile) call. The minimum, as timeit advises: on a shared machine other
    processes only ever add time."""
    result = fn(*args)
    tf.nest.map_structure(lambda t: t.numpy(), result)
    samples = []
    for _ in range(repeats):
        calls, start = 0, time.perf_counter()
        while True:
            result = fn(*args)
            tf.nest.map_structure(lambda t: t.numpy(), result)
            calls += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_seconds / repeats or calls >= 1000:
                break
        samples.append(1e3 * elapsed / calls)
    return min(samples)


def run(sizes, repeats, keras_cv_max_n, modes):
    cv = keras_cv_losses()
    rows = []
    for n in sizes:
        y_true, y_pred = make_boxes(n)
        floor = time_ms(floor_fn(), (y_true, y_pred), repeats)
        rows.append({"n": n, "loss": "floor (copy)", "impl": "-",
                     "mode": "xla", "ms": floor})
        print(f"N={n:>8}: floor {floor:.3f} ms", flush=True)
        candidates = [(name, "keras_boxloss", cls(reduction="sum"))
                      for name, cls in OURS.items()]
        for name, build in cv.items():
            if name in PAIRWISE and n > keras_cv_max_n:
                continue
            candidates.append((name, "keras_cv 0.9", build()))
        for name, impl, loss in candidates:
            for mode in modes:
                ms = time_ms(step_fn(loss, mode), (y_true, y_pred), repeats)
                rows.append({"n": n, "loss": name, "impl": impl,
                             "mode": mode, "ms": ms, "x_floor": ms / floor})
                print(f"  {impl:<14} {name:<10} {mode:<12} {ms:10.3f} ms "
                      f"{ms / floor:8.1f} x floor", flush=True)
    return rows


def ratio_table(rows, modes):
    """Markdown: per N and loss, ms and x-floor per mode, and KerasCV/ours."""
    lookup = {(r["n"], r["loss"], r["impl"], r["mode"]): r["ms"]
              for r in rows}
    lines = ["| N | loss | " + " | ".join(f"{m} ms (x floor)" for m in modes)
             + " | KerasCV / ours (tf.function) |",
             "|---|---|" + "---|" * (len(modes) + 1)]
    for n in sorted({r["n"] for r in rows}):
        floor = lookup[(n, "floor (copy)", "-", "xla")]
        for name in OURS:
            cells = []
            for mode in modes:
                ms = lookup.get((n, name, "keras_boxloss", mode))
                cells.append(f"{ms:.2f} ({ms / floor:.0f}x)")
            peer = KERAS_CV_PEERS.get(name)
            peer_ms = lookup.get((n, peer, "keras_cv 0.9", "tf.function"))
            ours = lookup.get((n, name, "keras_boxloss", "tf.function"))
            versus = (f"{peer_ms / ours:.1f} ({peer})"
                      if peer_ms and ours else
                      ("not run: N x N matrix" if peer else "-"))
            lines.append(f"| {n:.0e} | {name} | " + " | ".join(cells)
                         + f" | {versus} |")
        lines.append(f"| {n:.0e} | floor | {floor:.3f} ms (XLA copy) |"
                     + " |" * len(modes))
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+",
                        default=[1000, 4096, 10_000, 100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--keras-cv-max-n", type=int, default=4096,
                        help="largest N for KerasCV's pairwise IoU/GIoU")
    parser.add_argument("--modes", nargs="+", default=list(MODES),
                        choices=MODES)
    parser.add_argument("--out", default=str(
        Path(__file__).parent / "results" / "loss_throughput.json"))
    args = parser.parse_args(argv)
    rows = run(args.sizes, args.repeats, args.keras_cv_max_n, args.modes)
    device = (tf.config.list_physical_devices("GPU") or ["CPU"])[0]
    meta = {"device": str(device), "cpus": os.cpu_count(),
            "machine": platform.machine(), "tensorflow": tf.__version__}
    table = ratio_table(rows, args.modes)
    print("\n" + table)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"meta": meta, "rows": rows,
                               "table": table}, indent=2))
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
