"""The GPU check: SSD, Model Garden Faster R-CNN and loss throughput, one JSON.

Meant for the first GPU machine the project gets (an H200): in at most 8
minutes it measures

1. `ssd`: the SSD train step of `ssd_mobilenet_v2_coco.yaml` (300 px, batch
   24) with and without XLA, in float32 and in mixed_bfloat16 (the SSD
   trainer has no mixed-precision option, so this script sets the Keras dtype
   policy before building the model), and the share of the step spent in
   MultiBox (see `MULTIBOX_METHOD`);
2. `garden`: the Model Garden Faster R-CNN train step with Model Garden's own
   Huber and with Smooth IoU in both stages, bfloat16, XLA off and on
   (`garden_step.build` and `garden_step.time_steps`);
3. `loss_throughput`: `loss_throughput.run` at 1e6 to 1e7 boxes.

Timings are medians of single synchronised steps after warm-up; the first
call (tracing, and XLA compilation where on) is reported apart as
`compile_s`. Each section runs in its own process under a time cap (the caps
add up to the 8 minutes), and writes its results after every unit, so a cap
that hits keeps what was measured; what did not run is listed under
`skipped` with the reason. `--smoke` shrinks everything (CPU, 64 px, batch 2,
2 steps, 1e3 boxes; the SSD on a plain-conv backbone with 2 feature maps,
the Faster R-CNN in float32) so the test suite runs the whole script.
`--sections` picks sections, `--cap SECTION=SECONDS` changes a cap.

    benchmarks/gpu_check.sh                      # on a GPU machine
    benchmarks/gpu_check.sh --smoke --output /tmp/gpu_check_smoke.json
"""

import argparse
import dataclasses
import importlib.metadata
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))  # the other benchmarks, imported as modules
sys.path.insert(0, str(REPO))
SSD_CONFIG = (REPO / "model_garden_configs" / "ssd"
              / "ssd_mobilenet_v2_coco.yaml")
SECTIONS = ("ssd", "garden", "loss_throughput")
MULTIBOX_METHOD = (
    "The loss alone: `SSD.compute_loss` (anchor matching and target encoding, "
    "hard negative mining, both MultiBox terms) forward and backward with "
    "respect to the head outputs, compiled as the step is (XLA or not), on "
    "the step's own tensors (the batch's images and ground truth, the head "
    "outputs of a forward pass in the variant's dtype). share = its median "
    "time / the median train-step time. An estimate: inside the step XLA may "
    "fuse across the loss's boundary and the GPU may overlap it with other "
    "work, so the loss's real cost in the step can be lower.")


@dataclasses.dataclass(frozen=True)
class Plan:
    """Sizes and time caps of one run (`FULL` on a GPU, `SMOKE` on CPU)."""

    name: str
    ssd_overrides: tuple[str, ...]
    ssd_batch: int
    ssd_variants: tuple[tuple[str, bool], ...]  # (dtype policy, XLA)
    garden_dtype: str
    garden_batch: int
    garden_batches: int
    garden_xla: tuple[bool, ...]
    garden_losses: tuple[str, ...]
    warmup: int
    steps: int
    sizes: tuple[int, ...]
    throughput_repeats: int
    keras_cv_max_n: int
    caps: dict[str, float]  # seconds per section, hard (the process is killed)
    budget_s: float         # the whole run


FULL = Plan(
    name="full", ssd_overrides=(), ssd_batch=24,
    # Most wanted first: a cap that hits drops the last.
    ssd_variants=(("float32", False), ("float32", True),
                  ("mixed_bfloat16", True), ("mixed_bfloat16", False)),
    garden_dtype="bfloat16", garden_batch=8, garden_batches=2,
    garden_xla=(False, True), garden_losses=("smooth_iou",),
    warmup=3, steps=10, sizes=(1_000_000, 3_000_000, 10_000_000),
    throughput_repeats=3, keras_cv_max_n=4096,
    caps={"ssd": 210, "garden": 170, "loss_throughput": 70}, budget_s=480)
# CPU: a plain-conv backbone (MobileNetV2's first step takes minutes to trace
# on 2 cores), float32 for the Faster R-CNN (bfloat16 is ~10x slower on CPU).
SMOKE = Plan(
    name="smoke",
    ssd_overrides=("model.backbone=tiny", "model.image_size=64",
                   "model.num_layers=2"),
    ssd_batch=2, ssd_variants=(("float32", False), ("mixed_bfloat16", True)),
    garden_dtype="float32", garden_batch=2, garden_batches=1,
    garden_xla=(False, True), garden_losses=("smooth_iou",),
    warmup=1, steps=2, sizes=(1000,), throughput_repeats=1, keras_cv_max_n=0,
    caps={"ssd": 900, "garden": 900, "loss_throughput": 600}, budget_s=2400)
PLANS = {"full": FULL, "smoke": SMOKE}


def planned_units(plan: Plan, section: str) -> list[str]:
    """The names of a section's units, in the order they run."""
    if section == "ssd":
        return [unit_name(policy, xla) for policy, xla in plan.ssd_variants]
    if section == "garden":
        return [unit_name(plan.garden_dtype, xla) for xla in plan.garden_xla]
    return [f"n={n}" for n in plan.sizes]


def unit_name(dtype: str, xla: bool) -> str:
    return f"{dtype}{'+xla' if xla else ''}"


def write_json(path: Path, data: Any) -> None:
    """Atomic: a process killed mid-write leaves the previous version."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, path)


def tf_device() -> str:
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return "CPU"
    details = tf.config.experimental.get_device_details(gpus[0])
    return details.get("device_name", gpus[0].name)


def peak_memory_mb() -> float | None:
    import tensorflow as tf

    if not tf.config.list_physical_devices("GPU"):
        return None  # no allocator peak on CPU, and RSS spans all variants
    return tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20


def median_ms(seconds: list[float]) -> float:
    return 1e3 * statistics.median(seconds)


def run_units(section: str, out: Path, settings: dict,
              units: list[tuple[str, Callable[[], list[dict]]]]) -> None:
    """Runs each `(name, fn)`; the section file is rewritten after each, so
    the parent keeps what finished if the cap kills this process. A unit
    that raises is recorded as skipped with the error, the others run."""
    data = {"device": tf_device(), "settings": settings, "results": [],
            "skipped": []}
    write_json(out, data)
    for name, fn in units:
        start = time.perf_counter()
        try:
            rows = fn()
        except Exception as error:  # keep the other units' results
            traceback.print_exc()
            data["skipped"].append(
                {"unit": name, "reason": f"error: {type(error).__name__}: "
                 f"{str(error)[:500]}"})
        else:
            for row in rows:
                row.setdefault("unit", name)
                data["results"].append(row)
        print(f"[{section}] {name}: {time.perf_counter() - start:.1f} s",
              flush=True)
        write_json(out, data)


# --- 1. SSD ----------------------------------------------------------------

def ssd_variant(plan: Plan, policy: str, xla: bool) -> list[dict]:
    import keras
    import tensorflow as tf

    from keras_boxloss.training.config import load_config
    from keras_boxloss.training.train import build_model, build_optimizer
    from ssd_train_step import random_batch

    keras.utils.clear_session()
    # After clear_session, which resets the global policy.
    keras.config.set_dtype_policy(policy)
    if tf.config.list_physical_devices("GPU"):
        tf.config.experimental.reset_memory_stats("GPU:0")
    try:
        config = load_config(str(SSD_CONFIG), list(plan.ssd_overrides) + [
            f"data.batch_size={plan.ssd_batch}"])
        model = build_model(config)
        model.compile(optimizer=build_optimizer(config), jit_compile=xla)
        images, truth = random_batch(config.model.num_classes,
                                     config.model.image_size, plan.ssd_batch)
        # On the device once: no host-to-device copy inside the timed steps.
        device = "GPU:0" if tf.config.list_physical_devices("GPU") else "CPU:0"
        with tf.device(device):
            images = tf.identity(images)
            truth = {key: tf.identity(value) for key, value in truth.items()}

        def train_step() -> None:
            model.train_on_batch(images, truth)  # returns numpy: synchronised

        compile_s, step_s = time_calls(train_step, plan)
        # The loss alone, on the head outputs of this batch.
        head = model(images, training=True)

        def loss_and_grad(x, y, y_pred):
            with tf.GradientTape() as tape:
                tape.watch(y_pred)
                loss = model.compute_loss(x=x, y=y, y_pred=y_pred)
            grad = tape.gradient(loss, y_pred)
            return loss, tf.reduce_sum(tf.cast(grad, tf.float32))

        loss_fn = tf.function(loss_and_grad, jit_compile=xla)

        def loss_call() -> None:
            value, _ = loss_fn(images, truth, head)
            value.numpy()

        loss_compile_s, loss_s = time_calls(loss_call, plan)
        return [{
            "policy": policy, "xla": xla,
            "jit_compile": bool(model.jit_compile),
            "image_size": config.model.image_size,
            "backbone": config.model.backbone, "batch_size": plan.ssd_batch,
            "anchors": int(model.anchors.shape[0]),
            "head_dtype": head.dtype.name,
            "compile_s": compile_s, "step_ms": median_ms(step_s),
            "steps_ms": [1e3 * s for s in step_s],
            "images_per_s": plan.ssd_batch / statistics.median(step_s),
            "multibox_compile_s": loss_compile_s,
            "multibox_ms": median_ms(loss_s),
            "multibox_steps_ms": [1e3 * s for s in loss_s],
            # Clamped: launch overhead of the loss run alone could make it
            # exceed the step; the raw times are beside it.
            "multibox_share": min(1.0, statistics.median(loss_s)
                                  / statistics.median(step_s)),
            "peak_memory_mb": peak_memory_mb()}]
    finally:
        keras.config.set_dtype_policy("float32")


def time_calls(call, plan: Plan) -> tuple[float, list[float]]:
    """(first call's seconds, the timed calls' seconds): the first call traces
    and compiles; `warmup - 1` more are untimed."""
    start = time.perf_counter()
    call()
    first = time.perf_counter() - start
    for _ in range(plan.warmup - 1):
        call()
    times = []
    for _ in range(plan.steps):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return first, times


def ssd_section(plan: Plan, out: Path) -> None:
    settings = {"config": str(SSD_CONFIG.relative_to(REPO)),
                "overrides": list(plan.ssd_overrides),
                "batch_size": plan.ssd_batch, "warmup": plan.warmup,
                "steps": plan.steps,
                "mixed_precision": "the SSD trainer has no mixed-precision "
                "option: keras.config.set_dtype_policy(policy) before "
                "building the model (the loss casts the head outputs to "
                "float32)",
                "multibox_method": MULTIBOX_METHOD}
    units = [(unit_name(policy, xla),
              lambda policy=policy, xla=xla: ssd_variant(plan, policy, xla))
             for policy, xla in plan.ssd_variants]
    run_units("ssd", out, settings, units)


# --- 2. Model Garden Faster R-CNN ------------------------------------------

def garden_variant(plan: Plan, xla: bool) -> list[dict]:
    import garden_step

    args = argparse.Namespace(
        cache_dir=None, dtype=plan.garden_dtype, batch_size=plan.garden_batch,
        batches=plan.garden_batches, losses=list(plan.garden_losses), xla=xla)
    start = time.perf_counter()
    steps, batches = garden_step.build(args)
    build_s = time.perf_counter() - start
    compile_s = {}
    for name, step in steps.items():
        compile_s[name] = garden_step.time_steps(step, batches, 1)
        for _ in range(plan.warmup - 1):
            garden_step.time_steps(step, batches, 1)
    # Interleaved: every round times one step of each candidate, so a slow
    # spell of the machine hits them all.
    times = {name: [] for name in steps}
    for _ in range(plan.steps):
        for name, step in steps.items():
            times[name].append(garden_step.time_steps(step, batches, 1))
    stock = statistics.median(times["stock"])
    return [{
        "loss": "huber (Model Garden's own)" if name == "stock" else name,
        "dtype": plan.garden_dtype, "xla": xla,
        "batch_size": plan.garden_batch, "build_s": build_s,
        "compile_s": compile_s[name], "step_ms": median_ms(values),
        "steps_ms": [1e3 * s for s in values],
        "ratio_to_huber": statistics.median(values) / stock}
        for name, values in times.items()]


def garden_section(plan: Plan, out: Path) -> None:
    import garden_step

    settings = {"config": str(garden_step.CONFIG.relative_to(REPO)),
                "dtype": plan.garden_dtype, "batch_size": plan.garden_batch,
                "losses": "Model Garden's own Huber (MaskRCNNTask) vs "
                + ", ".join(plan.garden_losses) + " in both stages",
                "warmup": plan.warmup, "steps": plan.steps}
    units = [(unit, lambda xla=xla: garden_variant(plan, xla))
             for unit, xla in zip(planned_units(plan, "garden"),
                                  plan.garden_xla)]
    run_units("garden", out, settings, units)


# --- 3. loss throughput ----------------------------------------------------

def throughput_section(plan: Plan, out: Path) -> None:
    import loss_throughput

    settings = {"sizes": list(plan.sizes), "repeats": plan.throughput_repeats,
                "modes": list(loss_throughput.MODES),
                "keras_cv_max_n": plan.keras_cv_max_n,
                "timing": "loss_throughput.time_ms: best of the repeats, "
                "forward + backward, after one warm-up call"}
    units = [(f"n={n}", lambda n=n: loss_throughput.run(
        [n], plan.throughput_repeats, plan.keras_cv_max_n,
        loss_throughput.MODES)) for n in plan.sizes]
    run_units("loss_throughput", out, settings, units)


CHILDREN = {"ssd": ssd_section, "garden": garden_section,
            "loss_throughput": throughput_section}


# --- the parent: caps, merge -----------------------------------------------

def versions() -> dict[str, str | None]:
    found = {}
    for package in ("tensorflow", "keras", "keras-cv", "tf-models-official",
                    "tf-keras"):
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = None
    return found


def run_section(section: str, plan: Plan, cap: float, work: Path,
                env: dict[str, str]) -> dict:
    """Runs one section's process under `cap` seconds; returns its results
    with every planned unit that did not finish listed as skipped."""
    out = work / f"{section}.json"
    out.unlink(missing_ok=True)  # never read a previous run's results
    start = time.perf_counter()
    reason = None
    try:
        completed = subprocess.run(
            [sys.executable, __file__, "--child", section, "--plan",
             plan.name, "--child-out", str(out)], env=env, timeout=cap)
        if completed.returncode != 0:
            reason = ("the section's process exited with "
                      f"{completed.returncode}")
    except subprocess.TimeoutExpired:
        reason = f"time cap ({cap:.0f} s) hit"
    data = json.loads(out.read_text()) if out.exists() else {
        "results": [], "skipped": []}
    data["wall_s"] = time.perf_counter() - start
    data["cap_s"] = cap
    accounted = ({row["unit"] for row in data["results"]}
                 | {row["unit"] for row in data["skipped"]})
    for unit in planned_units(plan, section):
        if unit not in accounted:
            data["skipped"].append(
                {"unit": unit, "reason": reason or "not run"})
    data["status"] = ("done" if not data["skipped"] else
                      "partial" if data["results"] else "skipped")
    return data


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes on CPU, for the tests")
    parser.add_argument("--output", default=None, help="the JSON (default: "
                        "benchmarks/results/gpu_check[_smoke].json)")
    parser.add_argument("--sections", nargs="+", default=list(SECTIONS),
                        choices=SECTIONS)
    parser.add_argument("--cap", action="append", default=[],
                        metavar="SECTION=SECONDS",
                        help="override a section's time cap")
    parser.add_argument("--allow-cpu", action="store_true",
                        help="run the full sizes without a GPU")
    parser.add_argument("--child", choices=SECTIONS, help=argparse.SUPPRESS)
    parser.add_argument("--plan", choices=PLANS, help=argparse.SUPPRESS)
    parser.add_argument("--child-out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        CHILDREN[args.child](PLANS[args.plan], Path(args.child_out))
        return

    started = time.perf_counter()
    plan = SMOKE if args.smoke else FULL
    caps = dict(plan.caps)
    for item in args.cap:
        section, _, seconds = item.partition("=")
        if section not in caps:
            parser.error(f"--cap: unknown section {section!r}")
        caps[section] = float(seconds)
    if importlib.util.find_spec("tensorflow") is None:
        # As on the first GPU machine lent (an H200 with JAX only).
        parser.error("Expected TensorFlow 2.20 (every section runs on it). "
                     "Received: no module named tensorflow. For the losses "
                     "alone under JAX: benchmarks/gpu_losses_jax.sh OUT_DIR")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if args.smoke:
        env["CUDA_VISIBLE_DEVICES"] = ""  # the smoke run is a CPU run
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    # The smoke run needs no probe (it is a CPU run): one TensorFlow import
    # fewer for the test suite. Each section also records its device.
    device = "CPU" if args.smoke else tf_device()
    if device == "CPU" and not (args.smoke or args.allow_cpu):
        parser.error("no GPU visible to TensorFlow: the full sizes would "
                     "hit every time cap on a CPU (use --smoke, or "
                     "--allow-cpu to run them anyway)")
    output = Path(args.output or REPO / "benchmarks" / "results" / (
        "gpu_check_smoke.json" if args.smoke else "gpu_check.json"))
    output.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="gpu_check_"))  # sections' files
    report = {
        "meta": {"plan": plan.name, "device": device,
                 "versions": versions(), "python": platform.python_version(),
                 "platform": platform.platform(), "cpus": os.cpu_count(),
                 "budget_s": plan.budget_s, "caps_s": caps,
                 "started": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                          time.gmtime())},
        "sections": {}, "skipped": []}
    for section in SECTIONS:
        if section not in args.sections:
            report["sections"][section] = {
                "status": "skipped", "results": [],
                "skipped": [{"unit": unit, "reason": "not selected "
                             "(--sections)"}
                            for unit in planned_units(plan, section)]}
        else:
            left = plan.budget_s - (time.perf_counter() - started)
            cap = min(caps[section], left)
            if cap <= 0:
                report["sections"][section] = {
                    "status": "skipped", "results": [],
                    "skipped": [{"unit": unit, "reason": "the run's "
                                 f"{plan.budget_s:.0f} s budget was spent"}
                                for unit in planned_units(plan, section)]}
            else:
                print(f"== {section} (cap {cap:.0f} s)", flush=True)
                report["sections"][section] = run_section(
                    section, plan, cap, work, env)
        for row in report["sections"][section]["skipped"]:
            report["skipped"].append({"section": section, **row})
        write_json(output, report)
    report["meta"]["wall_s"] = time.perf_counter() - started
    write_json(output, report)
    shutil.rmtree(work, ignore_errors=True)
    for section, data in report["sections"].items():
        print(f"{section}: {data['status']}, {len(data['results'])} results")
    for row in report["skipped"]:
        print(f"  skipped {row['section']} {row['unit']}: {row['reason']}")
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
