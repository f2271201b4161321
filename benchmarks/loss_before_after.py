"""XLA forward + backward time of box losses from two source trees in one
process, alternating, as multiples of the same floor as
`loss_throughput.py`: a before/after of a change with the machine's load
shared evenly between the two sides.

    git worktree add /tmp/before <commit>
    python benchmarks/loss_before_after.py /tmp/before CIoU SIoU InnerIoU

Prints one line per loss: before x floor, after x floor (this checkout),
and plain `keras.ops` / after where the benchmark has a plain version.
"""

import argparse
import importlib
import os
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import loss_throughput as lt  # noqa: E402

AFTER = str(HERE.parent)


def load_losses(root):
    """The registered loss classes by name, imported from the tree at
    `root` (the package is dropped from `sys.modules` first)."""
    for name in [m for m in sys.modules if m.startswith("keras_boxloss")]:
        del sys.modules[name]
    sys.path.insert(0, root)
    try:
        registry = importlib.import_module("keras_boxloss.losses.registry")
    finally:
        sys.path.pop(0)
    return {cls.__name__: cls for cls in registry.BOX_LOSSES.values()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", help="the other source tree (a worktree)")
    parser.add_argument("losses", nargs="+", help="loss class names")
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    before, after = load_losses(args.before), load_losses(AFTER)
    y_true, y_pred = lt.make_boxes(args.size)
    steps = {}
    for name in args.losses:
        steps[name, "before"] = lt.step_fn(before[name](reduction="sum"),
                                           "xla")
        steps[name, "after"] = lt.step_fn(after[name](reduction="sum"),
                                          "xla")
        if name in lt.PLAIN:
            steps[name, "plain"] = lt.step_fn(
                lt.plain_loss(lt.PLAIN[name]), "xla")
    floor_step, best, floor = lt.floor_fn(), {}, float("inf")
    for _ in range(args.rounds):  # least of each, after every other
        for key, step in steps.items():
            best[key] = min(best.get(key, float("inf")),
                            lt.time_ms(step, (y_true, y_pred), 3))
            floor = min(floor, lt.time_ms(floor_step, (y_true, y_pred), 3))
    for name in args.losses:
        line = (f"{name}: before {best[name, 'before'] / floor:.1f}x, "
                f"after {best[name, 'after'] / floor:.1f}x the floor")
        if (name, "plain") in best:
            line += f", plain / after {best[name, 'plain'] / best[name, 'after']:.2f}"
        print(line + f" (N={args.size}, floor {floor:.2f} ms)", flush=True)


if __name__ == "__main__":
    main()
