"""Model Garden Faster R-CNN train-step time: stock Huber vs each box loss.

One model (the small CPU config, `model_garden_configs/faster_rcnn/
generated_cpu.yaml`) and one optimizer; each candidate is a task whose
`train_step` is compiled once as a `tf.function` (with `--xla`,
`jit_compile=True`). `stock` is Model Garden's own `MaskRCNNTask`; the others
are `BoxLossMaskRCNNTask` with that box loss in both stages. The input is a
few cached batches, so the input pipeline is not timed. Candidates are
timed in interleaved rounds (every round times every candidate), and the
median step time per candidate is reported with its ratio to stock (goal:
within 3%).

    python benchmarks/garden_step.py                     # CPU, float32
    python benchmarks/garden_step.py --xla --dtype bfloat16   # as on a GPU

Writes `benchmarks/results/garden_step.json`.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
CONFIG = REPO / "model_garden_configs" / "faster_rcnn" / "generated_cpu.yaml"
LOSSES = ("huber", "iou", "giou", "diou", "ciou", "smooth_iou")


def build(args):
    import tensorflow as tf
    import tf_keras
    from official.core import exp_factory, task_factory
    from official.modeling import hyperparams, performance
    from official.vision.tasks import maskrcnn

    from keras_boxloss.data.generated import default_dataset
    from keras_boxloss.model_garden import configs, registry_imports  # noqa
    from keras_boxloss.model_garden.model import with_sampled_rois

    data = default_dataset(args.cache_dir)
    params = exp_factory.get_exp_config(configs.EXPERIMENT)
    params = hyperparams.override_params_dict(params, str(CONFIG),
                                              is_strict=True)
    params.override({"runtime": {"mixed_precision_dtype": args.dtype},
                     "task": {"train_data": {
                         "input_path": data["train"], "dtype": args.dtype,
                         "global_batch_size": args.batch_size}}})
    performance.set_mixed_precision_policy(args.dtype)
    stock_task = maskrcnn.MaskRCNNTask(params.task)
    # One model for all: the RoI-exposing subclass (DIoU/CIoU need it; for
    # the others it only adds a dict entry that nothing reads).
    model = with_sampled_rois(stock_task.build_model(),
                              params.task.model.input_size)
    optimizer = tf_keras.optimizers.SGD(learning_rate=1e-4, momentum=0.9)
    tasks = {"stock": stock_task}
    for name in args.losses:
        task_params = params.task.as_dict()
        for stage in configs.STAGES:
            task_params[stage] = {"type": name}
        config = configs.BoxLossMaskRCNNTask()
        config.override(task_params)
        tasks[name] = task_factory.get_task(config)
    batches = list(stock_task.build_inputs(params.task.train_data)
                   .take(args.batches))
    steps = {}
    for name, task in tasks.items():
        steps[name] = tf.function(
            lambda inputs, task=task: task.train_step(inputs, model,
                                                      optimizer),
            jit_compile=args.xla)
    return steps, batches


def time_steps(step, batches, count):
    start = time.perf_counter()
    for index in range(count):
        logs = step(batches[index % len(batches)])
    float(next(iter(logs.values())))  # wait for the last step
    return (time.perf_counter() - start) / count


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--losses", nargs="+", default=list(LOSSES),
                        choices=LOSSES)
    parser.add_argument("--steps", type=int, default=5,
                        help="timed steps per candidate per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2,
                        help="untimed steps per candidate (tracing)")
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--dtype", default="float32",
                        choices=("float32", "bfloat16", "float16"))
    parser.add_argument("--xla", action="store_true",
                        help="jit_compile the train step")
    parser.add_argument("--cache-dir", default=None,
                        help="where the generated dataset is cached")
    parser.add_argument("--out", default=str(
        REPO / "benchmarks" / "results" / "garden_step.json"))
    args = parser.parse_args(argv)

    import tensorflow as tf

    steps, batches = build(args)
    for name, step in steps.items():
        time_steps(step, batches, args.warmup)
    times = {name: [] for name in steps}
    for _ in range(args.rounds):
        for name, step in steps.items():
            times[name].append(time_steps(step, batches, args.steps))
    stock = statistics.median(times["stock"])
    rows = [{"loss": name, "median_s": statistics.median(values),
             "ratio_to_stock": statistics.median(values) / stock,
             "rounds_s": values} for name, values in times.items()]
    device = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
    meta = {"device": device, "platform": platform.platform(),
            "cpus": os.cpu_count(), "dtype": args.dtype, "xla": args.xla,
            "batch_size": args.batch_size, "steps": args.steps,
            "rounds": args.rounds, "tensorflow": tf.__version__,
            "config": str(CONFIG.relative_to(REPO))}
    print(f"train step, {device}, {args.dtype}, xla={args.xla}, batch "
          f"{args.batch_size}: median of {args.rounds} rounds x "
          f"{args.steps} steps")
    print(f"{'loss':<12}{'s/step':>10}{'vs stock':>10}")
    for row in rows:
        print(f"{row['loss']:<12}{row['median_s']:>10.3f}"
              f"{row['ratio_to_stock']:>10.3f}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    print(f"Wrote {out}")


if __name__ == "__main__":
    main()
