"""Statistics of the boxes `convert` writes: what users look at before
choosing anchors (aspect ratios, sizes) or an image size.

`DatasetStatistics.add` takes each written `DetectionRecord` (so skipped and
clipped boxes are counted as written); `to_dict` is the `statistics` entry of
`conversion_summary.json`, `format_summary` the printed table and `plot` the
`--plot` PNG.
"""

import numpy as np

from keras_boxloss import atomic_files

QUANTILES = (0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0)
# COCO's size bins (pycocotools' areaRng), on box areas in pixels.
SMALL_AREA, MEDIUM_AREA = 32.0 ** 2, 96.0 ** 2
PLOT_FILE = "statistics.png"


def _quantiles(values: np.ndarray) -> dict:
    if values.size == 0:
        return {}
    # Linear interpolation (numpy's default), so q25 of 10, 20, 40 is 15.
    return {f"q{round(q * 100)}": float(v)
            for q, v in zip(QUANTILES, np.quantile(values, QUANTILES))}


def box_statistics(widths, heights, image_widths, image_heights) -> dict:
    """Counts, COCO size bins and quantiles of boxes given in pixels."""
    w, h = np.asarray(widths, float), np.asarray(heights, float)
    iw, ih = np.asarray(image_widths, float), np.asarray(image_heights, float)
    area = w * h
    with np.errstate(divide="ignore", invalid="ignore"):
        aspect = w / h  # cleaning drops zero-height boxes; guard anyway
    return {
        "objects": int(w.size),
        "small": int(np.sum(area < SMALL_AREA)),
        "medium": int(np.sum((area >= SMALL_AREA) & (area < MEDIUM_AREA))),
        "large": int(np.sum(area >= MEDIUM_AREA)),
        "width_px": _quantiles(w), "height_px": _quantiles(h),
        "area_px": _quantiles(area),
        "width_rel": _quantiles(w / iw), "height_rel": _quantiles(h / ih),
        "area_rel": _quantiles(area / (iw * ih)),
        "aspect_ratio": _quantiles(aspect[np.isfinite(aspect)]),
    }


class DatasetStatistics:
    """Per-class and overall box statistics of written records."""

    def __init__(self) -> None:
        self.images = 0
        self._rows: list = []  # (class name, w, h, image w, image h)
        self._class_images: dict = {}

    def add(self, record) -> None:
        """Adds one record's boxes (normalised yxyx, as records store)."""
        self.images += 1
        boxes = np.asarray(record.boxes, float).reshape(-1, 4)
        names = [n or str(c) for n, c in zip(record.class_names,
                                             record.classes)]
        for name, (ymin, xmin, ymax, xmax) in zip(names, boxes):
            self._rows.append((name, (xmax - xmin) * record.width,
                               (ymax - ymin) * record.height,
                               record.width, record.height))
        for name in set(names):
            self._class_images[name] = self._class_images.get(name, 0) + 1

    def _stats(self, rows) -> dict:
        columns = list(zip(*rows)) if rows else [[]] * 5
        return box_statistics(*columns[1:])

    def to_dict(self) -> dict:
        classes = {}
        for name in sorted(self._class_images):
            stats = self._stats([r for r in self._rows if r[0] == name])
            classes[name] = {"images": self._class_images[name], **stats}
        return {"images": self.images, "all": self._stats(self._rows),
                "classes": classes}

    def format_summary(self) -> str:
        data = self.to_dict()
        lines = ["Box statistics (written boxes; COCO sizes: small < 32^2,"
                 " medium < 96^2 px):",
                 f"  {'class':<20}{'objects':>8}{'images':>8}{'small':>7}"
                 f"{'medium':>7}{'large':>7}  median w x h px"]
        rows = [*data["classes"].items(),
                ("(all)", {"images": data["images"], **data["all"]})]
        for name, s in rows:
            size = (f"{s['width_px']['q50']:.0f} x {s['height_px']['q50']:.0f}"
                    if s["objects"] else "-")
            lines.append(f"  {name[:19]:<20}{s['objects']:>8}{s['images']:>8}"
                         f"{s['small']:>7}{s['medium']:>7}{s['large']:>7}  "
                         f"{size}")
        for key, label in (("width_rel", "width / image width"),
                           ("height_rel", "height / image height"),
                           ("area_px", "area px"),
                           ("aspect_ratio", "aspect ratio w/h")):
            q = data["all"][key]
            if q:
                lines.append(f"  {label:<22} " + "  ".join(
                    f"{k}={v:.3g}" for k, v in q.items()))
        return "\n".join(lines)

    def plot(self, path) -> None:
        """Histograms of box sizes and aspect ratios, per-class counts."""
        import matplotlib  # lazily: only `--plot` needs it

        matplotlib.use("Agg")  # files only, no display needed
        import matplotlib.pyplot as plt

        data = self.to_dict()
        _, w, h, iw, ih = (list(c) for c in zip(*self._rows)) if (
            self._rows) else ([], [], [], [], [])
        w, h = np.asarray(w, float), np.asarray(h, float)
        figure, axes = plt.subplots(2, 2, figsize=(11, 8))
        names = list(data["classes"])
        axes[0, 0].bar(names, [data["classes"][n]["objects"] for n in names])
        axes[0, 0].set_title("objects per class")
        axes[0, 0].tick_params(axis="x", rotation=45)
        axes[0, 1].scatter(w, h, s=4, alpha=0.5)
        axes[0, 1].set(title="box width vs height (px)", xlabel="width",
                       ylabel="height")
        axes[1, 0].hist(np.sqrt(w * h), bins=40)
        for edge in (32, 96):  # COCO small / medium / large bounds
            axes[1, 0].axvline(edge, color="red", linestyle="--")
        axes[1, 0].set(title="sqrt(area) px (COCO bounds 32, 96)")
        ratio = w[h > 0] / h[h > 0]
        axes[1, 1].hist(np.log2(ratio) if ratio.size else [], bins=40)
        axes[1, 1].set(title="aspect ratio w/h (log2)")
        figure.tight_layout()
        atomic_files.write_figure(path, figure, dpi=80)
