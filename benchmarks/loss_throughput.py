"""Forward + backward time of each box loss, side by side in one run.

For N boxes (1e3 to 1e6) it times `loss(y_true, y_pred)` and its gradient
w.r.t. `y_pred` in the execution modes of the Keras backend it runs on
(`KERAS_BACKEND`, default tensorflow): on TensorFlow eager, `tf.function`,
and `tf.function(jit_compile=True)` (XLA); on JAX eager (op by op) and
`jax.jit` (XLA, named `xla` as on TensorFlow). Beside our losses
it runs a plain `keras.ops` version of the same formula (`PLAIN`: sides
sliced with `y[..., i]`, written as a tutorial would), so "never slower than
plain keras.ops" is measured in the same run, and KerasCV 0.9's IoULoss,
GIoULoss and CIoULoss where keras-cv is installed (its IoU and GIoU build
the N x N pairwise matrix, so they are only run up to `--keras-cv-max-n`
boxes), and a memory floor: one XLA-compiled
elementwise pass over the same bytes (read y_true and y_pred, write a
gradient-sized tensor), the least any loss-and-gradient must do.

Every loss in `keras_boxloss.losses.registry.BOX_LOSSES` is run, so a new
registered loss is benchmarked without editing this file. The floor is
measured again after every loss and the smallest value is used, so a burst
of load from other processes inflates the floor less than the ratios.

Results: a table of milliseconds and of ratios (time / floor, and plain /
ours, KerasCV / ours), printed and written as JSON.

    python benchmarks/loss_throughput.py                  # full grid
    python benchmarks/loss_throughput.py --sizes 1000 --repeats 3   # quick
    python benchmarks/loss_throughput.py --sizes 8192 1000000 \
        --modes tf.function xla                           # README table
    KERAS_BACKEND=jax python benchmarks/loss_throughput.py --sizes 1000000
"""

import argparse
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import math  # noqa: E402
import re  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import ops  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from keras_boxloss.atomic_files import write_json  # noqa: E402
from keras_boxloss.losses.registry import BOX_LOSSES  # noqa: E402

# class name ("GIoU") -> class, for every registered loss
OURS = {cls.__name__: cls for cls in BOX_LOSSES.values()}


def _plain_iou_parts(t, p, eps=1e-7):
    # The usual tutorial code: one slice per coordinate and use.
    inter_w = ops.relu(ops.minimum(t[..., 2], p[..., 2])
                       - ops.maximum(t[..., 0], p[..., 0]))
    inter_h = ops.relu(ops.minimum(t[..., 3], p[..., 3])
                       - ops.maximum(t[..., 1], p[..., 1]))
    inter = inter_w * inter_h
    area_t = ops.relu(t[..., 2] - t[..., 0]) * ops.relu(t[..., 3] - t[..., 1])
    area_p = ops.relu(p[..., 2] - p[..., 0]) * ops.relu(p[..., 3] - p[..., 1])
    union = area_t + area_p - inter
    return inter / (union + eps), union


def _plain_enclosing(t, p):
    return [op(op(t[..., i], t[..., i + 2]), op(p[..., i], p[..., i + 2]))
            for op, i in ((ops.minimum, 0), (ops.minimum, 1),
                          (ops.maximum, 0), (ops.maximum, 1))]


def _plain_distance(t, p, eps=1e-7):
    ex1, ey1, ex2, ey2 = _plain_enclosing(t, p)
    diagonal = ops.square(ex2 - ex1) + ops.square(ey2 - ey1)
    rho = 0.25 * (ops.square(t[..., 0] + t[..., 2] - p[..., 0] - p[..., 2])
                  + ops.square(t[..., 1] + t[..., 3] - p[..., 1] - p[..., 3]))
    return rho / (diagonal + eps)


def plain_iou(t, p):
    return 1.0 - _plain_iou_parts(t, p)[0]


def plain_giou(t, p, eps=1e-7):
    iou, union = _plain_iou_parts(t, p)
    ex1, ey1, ex2, ey2 = _plain_enclosing(t, p)
    enclosing = ops.relu(ex2 - ex1) * ops.relu(ey2 - ey1)
    return 1.0 - iou + (enclosing - union) / (enclosing + eps)


def plain_diou(t, p):
    return 1.0 - _plain_iou_parts(t, p)[0] + _plain_distance(t, p)


def plain_ciou(t, p, eps=1e-7):
    iou = _plain_iou_parts(t, p)[0]

    def angle(b):
        return ops.arctan(ops.relu(b[..., 2] - b[..., 0])
                          / (ops.relu(b[..., 3] - b[..., 1]) + eps))
    v = 4.0 / math.pi**2 * ops.square(angle(t) - angle(p))
    alpha = ops.stop_gradient(v / (1.0 - iou + v + eps))
    return 1.0 - iou + _plain_distance(t, p) + alpha * v


def plain_huber(t, p, delta=1.0):
    error = ops.abs(p - t)
    quadratic = ops.minimum(error, delta)
    return ops.sum(0.5 * ops.square(quadratic)
                   + delta * (error - quadratic), axis=-1)


# loss -> the same formula in plain keras.ops (defaults of the loss); losses
# without one here are reported with "-" in the plain column.
PLAIN = {"HuberBox": plain_huber, "IoU": plain_iou, "GIoU": plain_giou,
         "DIoU": plain_diou, "CIoU": plain_ciou}
# our loss -> the KerasCV loss it is compared with
KERAS_CV_PEERS = {"IoU": "IoULoss", "GIoU": "GIoULoss", "CIoU": "CIoULoss"}
# KerasCV losses that build the N x N pairwise matrix
PAIRWISE = {"IoULoss", "GIoULoss"}
BACKEND = keras.backend.backend()
# Per backend: "xla" is the compiled mode on both (jax.jit compiles with XLA).
BACKEND_MODES = {"tensorflow": ("eager", "tf.function", "xla"),
                 "jax": ("eager", "xla")}
if BACKEND not in BACKEND_MODES:
    raise SystemExit(f"Expected KERAS_BACKEND tensorflow or jax. Received: "
                     f"KERAS_BACKEND={BACKEND}")
MODES = BACKEND_MODES[BACKEND]
# The backend's own module, imported once (`wait` runs in the timing loop).
if BACKEND == "jax":
    import jax
else:
    import tensorflow as tf
# The mode the KerasCV column compares in (KerasCV runs on TensorFlow only).
KERAS_CV_MODE = "tf.function"


def make_boxes(n, seed=0):
    rng = np.random.default_rng(seed)
    centre = rng.uniform(0, 500, (n, 2))
    size = rng.uniform(4, 100, (n, 2))
    y_true = np.concatenate([centre - size / 2, centre + size / 2], -1)
    y_pred = y_true + rng.normal(0, 5, y_true.shape)
    return (ops.convert_to_tensor(y_true, "float32"),
            ops.convert_to_tensor(y_pred, "float32"))


def keras_cv_losses():
    if BACKEND != "tensorflow":
        return {}
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
    """`(y_true, y_pred) -> (loss, d loss / d y_pred)` in `mode`."""
    if BACKEND == "jax":
        step = jax.value_and_grad(lambda t, p: loss(t, p), argnums=1)
        return jax.jit(step) if mode == "xla" else step

    def step(y_true, y_pred):
        with tf.GradientTape() as tape:
            tape.watch(y_pred)
            value = loss(y_true, y_pred)
        return value, tape.gradient(value, y_pred)

    if mode == "eager":
        return step
    return tf.function(step, jit_compile=(mode == "xla"))


def kernel_count(loss, y_true, y_pred):
    """The fusions in the optimised XLA program of `loss` + gradient under
    `jax.jit` (JAX only): on a GPU each is a kernel launch and, for these
    elementwise losses, about one pass over memory. Unfused ops are not
    counted; the count depends on the device and on N."""
    program = step_fn(loss, "xla").lower(y_true, y_pred).compile()
    return len(re.findall(r"\bfusion\(", program.as_text()))


def plain_loss(fn):
    """`fn` per box, summed: the same reduction as our losses here."""
    return lambda y_true, y_pred: ops.sum(fn(y_true, y_pred))


def floor_fn():
    # Reads both inputs, writes one tensor of their size: what any loss with
    # its gradient must at least move through memory.
    def copy(y_true, y_pred):
        return y_pred * 1.0000001 + y_true * 1e-7
    if BACKEND == "jax":
        return jax.jit(copy)
    return tf.function(copy, jit_compile=True)


def wait(result):
    """Block until `result` is computed (both backends dispatch
    asynchronously on a GPU), without copying a GPU result to the host (the
    copy of a 1e7-box gradient would be timed with it)."""
    if BACKEND == "jax":
        jax.block_until_ready(result)
        return
    for tensor in keras.tree.flatten(result):
        if "GPU" in tensor.device:
            # TensorFlow has no block_until_ready: one element waits for the
            # kernel that wrote the tensor (a stream runs kernels in order).
            tensor = tensor[(0,) * tensor.shape.rank]
        # On the CPU a copy of the whole tensor, as the published CPU
        # timings were taken; on the GPU, one element (two small ops more
        # per call than JAX's block_until_ready).
        tensor.numpy()


def time_ms(fn, args, repeats, min_seconds=0.2):
    """Best-of-`repeats` milliseconds per call, after a warm-up (trace and
    compile) call. The minimum, as timeit advises: on a shared machine other
    processes only ever add time."""
    wait(fn(*args))
    samples = []
    for _ in range(repeats):
        calls, start = 0, time.perf_counter()
        while True:
            wait(fn(*args))
            calls += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_seconds / repeats or calls >= 1000:
                break
        samples.append(1e3 * elapsed / calls)
    return min(samples)


def run(sizes, repeats, keras_cv_max_n, modes, losses=None, kernels=False):
    cv = keras_cv_losses()
    ours = {name: cls for name, cls in OURS.items()
            if losses is None or name in losses}
    rows = []
    for n in sizes:
        y_true, y_pred = make_boxes(n)
        floor_step = floor_fn()
        floor = time_ms(floor_step, (y_true, y_pred), repeats)
        print(f"N={n:>8}: floor {floor:.3f} ms", flush=True)
        candidates = []
        for name, cls in ours.items():
            candidates.append((name, "keras_boxloss", cls(reduction="sum")))
            if name in PLAIN:
                candidates.append((name, "plain keras.ops",
                                   plain_loss(PLAIN[name])))
        for name, build in cv.items():
            if name in PAIRWISE and n > keras_cv_max_n:
                continue
            candidates.append((name, "keras_cv 0.9", build()))
        timed = []
        for name, impl, loss in candidates:
            for mode in modes:
                ms = time_ms(step_fn(loss, mode), (y_true, y_pred), repeats)
                timed.append({"n": n, "loss": name, "impl": impl,
                              "mode": mode, "ms": ms})
                if kernels and mode == "xla":
                    timed[-1]["kernels"] = kernel_count(loss, y_true, y_pred)
                count = timed[-1].get("kernels")
                print(f"  {impl:<16} {name:<10} {mode:<12} {ms:10.3f} ms"
                      + (f" {count:3d} kernels" if count else ""), flush=True)
            # Again after every loss: the least of all is the floor.
            floor = min(floor, time_ms(floor_step, (y_true, y_pred),
                                       repeats))
        rows.append({"n": n, "loss": "floor (copy)", "impl": "-",
                     "mode": "xla", "ms": floor})
        for row in timed:
            rows.append({**row, "x_floor": row["ms"] / floor})
        print(f"N={n:>8}: floor (least of {len(candidates) + 1}) "
              f"{floor:.3f} ms", flush=True)
    return rows


def ratio_table(rows, modes):
    """Markdown: per N and loss, ms and x-floor per mode, plain keras.ops /
    ours per mode (above 1: ours is faster), and KerasCV / ours."""
    lookup = {(r["n"], r["loss"], r["impl"], r["mode"]): r["ms"]
              for r in rows}
    lines = ["| N | loss | " + " | ".join(f"{m} ms (x floor)" for m in modes)
             + " | " + " | ".join(f"plain / ours {m}" for m in modes)
             + f" | KerasCV / ours ({KERAS_CV_MODE}) |",
             "|---|---|" + "---|" * (2 * len(modes) + 1)]
    names = [name for name in OURS
             if any(r["loss"] == name for r in rows)]
    for n in sorted({r["n"] for r in rows}):
        floor = lookup[(n, "floor (copy)", "-", "xla")]
        for name in names:
            cells, plain = [], []
            for mode in modes:
                ms = lookup.get((n, name, "keras_boxloss", mode))
                cells.append(f"{ms:.2f} ({ms / floor:.1f}x)")
                base = lookup.get((n, name, "plain keras.ops", mode))
                plain.append(f"{base / ms:.2f}" if base else "-")
            cells += plain
            peer = KERAS_CV_PEERS.get(name)
            peer_ms = lookup.get((n, peer, "keras_cv 0.9", KERAS_CV_MODE))
            ours = lookup.get((n, name, "keras_boxloss", KERAS_CV_MODE))
            if peer_ms and ours:
                versus = f"{peer_ms / ours:.1f} ({peer})"
            elif peer and BACKEND != "tensorflow":
                versus = "not run: KerasCV needs TensorFlow"
            elif peer:
                versus = "not run: N x N matrix"
            else:
                versus = "-"
            lines.append(f"| {n:.0e} | {name} | " + " | ".join(cells)
                         + f" | {versus} |")
        lines.append(f"| {n:.0e} | floor | {floor:.3f} ms (XLA copy) |"
                     + " |" * (2 * len(modes)))
    return "\n".join(lines)


def device():
    """The accelerator the backend runs on, or "CPU"."""
    if BACKEND == "jax":
        first = jax.devices()[0]
        return "CPU" if first.platform == "cpu" else first.device_kind
    return str((tf.config.list_physical_devices("GPU") or ["CPU"])[0])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+",
                        default=[1000, 4096, 10_000, 100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--keras-cv-max-n", type=int, default=4096,
                        help="largest N for KerasCV's pairwise IoU/GIoU")
    parser.add_argument("--modes", nargs="+", default=list(MODES),
                        choices=MODES)
    parser.add_argument("--losses", nargs="+", choices=sorted(OURS),
                        help="only these losses (class names); default: "
                        "every registered loss")
    parser.add_argument("--kernels", action="store_true",
                        help="JAX only: also count each xla row's fusions "
                        "in its compiled program (the rows' 'kernels')")
    parser.add_argument("--out", default=str(
        Path(__file__).parent / "results" / "loss_throughput.json"))
    args = parser.parse_args(argv)
    if args.kernels and BACKEND != "jax":
        parser.error(f"Expected KERAS_BACKEND=jax with --kernels (it reads "
                     f"jax.jit's compiled program). Received: "
                     f"KERAS_BACKEND={BACKEND}")
    rows = run(args.sizes, args.repeats, args.keras_cv_max_n, args.modes,
               args.losses, args.kernels)
    meta = {"backend": BACKEND, "device": device(), "cpus": os.cpu_count(),
            "machine": platform.machine(), "keras": keras.__version__}
    meta[BACKEND] = (jax if BACKEND == "jax" else tf).__version__
    table = ratio_table(rows, args.modes)
    print("\n" + table)
    # Whole or not at all: a run killed by a time cap keeps the last JSON.
    out = write_json(args.out, {"meta": meta, "rows": rows, "table": table},
                     indent=2)
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
