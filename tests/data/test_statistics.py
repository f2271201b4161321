"""Box statistics of `convert` on hand-made boxes whose quantiles and COCO
size bins are worked out below by hand."""

import json

import numpy as np
import pytest
from PIL import Image

from keras_boxloss.cli.main import main
from keras_boxloss.data.records import DetectionRecord
from keras_boxloss.data.statistics import DatasetStatistics, box_statistics


def _record(width, height, boxes_px):
    """`boxes_px`: `(name, xmin, ymin, xmax, ymax)` in pixels."""
    yxyx = np.array([[b[2], b[1], b[4], b[3]] for b in boxes_px], float)
    return DetectionRecord(
        encoded=b"", image_format="png", height=height, width=width,
        filename="", source_id="", boxes=yxyx / [height, width, height,
                                                 width],
        classes=[1 if b[0] == "cat" else 2 for b in boxes_px],
        class_names=[b[0] for b in boxes_px])


# Image 1, 100 wide x 200 high: cat 10x20 (area 200, small), cat 40x40
# (1600, medium), dog 100x100 (10000, large). Image 2, 50x50: dog 20x10
# (200, small).
BOXES_1 = [("cat", 0, 0, 10, 20), ("cat", 50, 50, 90, 90),
           ("dog", 0, 100, 100, 200)]
BOXES_2 = [("dog", 5, 5, 25, 15)]


def test_counts_bins_and_quantiles_of_hand_made_boxes():
    stats = DatasetStatistics()
    stats.add(_record(100, 200, BOXES_1))
    stats.add(_record(50, 50, BOXES_2))
    data = stats.to_dict()
    assert data["images"] == 2
    every = data["all"]
    assert (every["objects"], every["small"], every["medium"],
            every["large"]) == (4, 2, 1, 1)
    # Widths 10, 20, 40, 100: linear quantiles q25 = 10 + 0.75 * 10,
    # q50 = (20 + 40) / 2, q75 = 40 + 0.25 * 60.
    width = every["width_px"]
    assert (width["q0"], width["q25"], width["q50"], width["q75"],
            width["q100"]) == pytest.approx((10, 17.5, 30, 55, 100))
    # Relative widths 0.1, 0.4, 1.0 (of 100) and 0.4 (of 50).
    assert every["width_rel"]["q50"] == pytest.approx(0.4)
    # Relative areas 200/20000, 1600/20000, 10000/20000, 200/2500.
    assert every["area_rel"]["q0"] == pytest.approx(0.01)
    assert every["area_rel"]["q50"] == pytest.approx(0.08)
    assert every["area_rel"]["q100"] == pytest.approx(0.5)
    # Aspect ratios w/h 0.5, 1, 1, 2.
    assert every["aspect_ratio"]["q0"] == pytest.approx(0.5)
    assert every["aspect_ratio"]["q50"] == pytest.approx(1.0)
    assert every["aspect_ratio"]["q100"] == pytest.approx(2.0)
    cat, dog = data["classes"]["cat"], data["classes"]["dog"]
    assert (cat["objects"], cat["images"], cat["small"], cat["medium"]) == (
        2, 1, 1, 1)
    assert (dog["objects"], dog["images"], dog["small"], dog["large"]) == (
        2, 2, 1, 1)
    assert dog["height_px"]["q50"] == pytest.approx(55)  # (10 + 100) / 2
    printed = stats.format_summary()
    assert "cat" in printed and "(all)" in printed


def test_coco_bins_are_half_open_at_32_and_96_squared():
    # 31x33 = 1023 < 1024: small; 32x32 = 1024: medium; 96x96: large.
    stats = box_statistics([31, 32, 95, 96], [33, 32, 96, 96],
                           [100] * 4, [100] * 4)
    assert (stats["small"], stats["medium"], stats["large"]) == (1, 2, 1)


def test_convert_writes_statistics_and_plot(tmp_path, capsys):
    images = tmp_path / "images"
    images.mkdir()
    Image.new("RGB", (100, 200)).save(images / "a.png")
    Image.new("RGB", (50, 50)).save(images / "b.png")
    rows = ["filename,width,height,class,xmin,ymin,xmax,ymax"]
    rows += [f"a.png,100,200,{n},{x0},{y0},{x1},{y1}"
             for n, x0, y0, x1, y1 in BOXES_1]
    rows += [f"b.png,50,50,{n},{x0},{y0},{x1},{y1}"
             for n, x0, y0, x1, y1 in BOXES_2]
    (tmp_path / "boxes.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "out"
    code = main(["convert", "--annotations", str(tmp_path / "boxes.csv"),
                 "--images", str(images), "--output-dir", str(out),
                 "--fractions", "train=1", "--plot", "--no-progress"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "Box statistics" in printed and "statistics.png" in printed
    summary = json.loads((out / "conversion_summary.json").read_text())
    every = summary["statistics"]["all"]
    assert (every["objects"], every["small"], every["medium"],
            every["large"]) == (4, 2, 1, 1)
    assert every["width_px"]["q75"] == pytest.approx(55)
    assert summary["statistics"]["classes"]["dog"]["images"] == 2
    with Image.open(out / "statistics.png") as plot:
        assert plot.format == "PNG" and plot.width > 100
