"""Copies finished comparisons into docs/results/ for the README: the
markdown tables, summary.json and the two plots as small palette PNGs.

    python experiments/publish_results.py runs/compare-ssd-raccoon ...

Each `runs/compare-<name>` lands in `docs/results/<name>/`. Only the small
outputs travel: checkpoints and predictions stay in runs/ (gitignored).
"""

import os
import shutil
import sys

from PIL import Image

DOCS = os.path.normpath(os.path.join(os.path.dirname(__file__), "..",
                                    "docs", "results"))


def publish(compare_dir):
    name = os.path.basename(os.path.normpath(compare_dir))
    name = name.removeprefix("compare-")
    target = os.path.join(DOCS, name)
    os.makedirs(target, exist_ok=True)
    for file in ("results.md", "summary.json"):
        shutil.copy(os.path.join(compare_dir, file), target)
    for plot in ("metrics.png", "curves.png"):
        # 64 colours keep the plots legible at a quarter of the bytes.
        image = Image.open(os.path.join(compare_dir, plot)).convert("RGB")
        image.quantize(colors=64, method=Image.Quantize.MEDIANCUT).save(
            os.path.join(target, plot), optimize=True)
    return target


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for folder in sys.argv[1:]:
        if not os.path.isfile(os.path.join(folder, "summary.json")):
            sys.exit(f"Expected a finished comparison (with summary.json). "
                     f"Received: {folder}")
        print(publish(folder))
