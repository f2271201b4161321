"""The messy-data policy: what a converter does with each defect of real data.

Every converter parses its format into `Annotation`s (pixel `xyxy` boxes,
class names) and hands them to `build_record`, which applies one policy and
counts every fix and skip, by file name, in a `CleaningReport`. Nothing is
dropped silently, nothing reaches TensorFlow that it cannot decode, and no
written box has zero area, so no loss downstream sees NaN from the data.

The policy, category by category (`POLICY` holds the same text the summary
prints):

Images
- `missing_image`: the file does not exist -> image skipped.
- `unreadable_image`: truncated or undecodable (Pillow cannot load every
  pixel) -> image skipped.
- `exif_rotated`: EXIF orientation that swaps width and height, and an
  annotated size that is the upright one (or none) -> pixels turned upright
  (as viewers and browser-based labelling tools show them), re-encoded,
  boxes taken as drawn on the upright image.
- `exif_orientation_ignored`: EXIF orientation that swaps width and
  height, but the annotated size is the stored pixels' -> the annotation
  was drawn on the stored pixels; they are kept as stored (the EXIF tag is
  dropped).
- `exif_unclear`: EXIF orientation that keeps the size (a 180-degree turn,
  a mirror, a square image), so no size tells which pixels the boxes were
  drawn on -> `exif_unclear` chooses: `upright` (default; as viewers,
  browser-based tools and `predict` show it) or `stored` (as LabelImg shows
  it and the TF OD API's decoder reads it); each such image is reported.
- `size_mismatch`: annotated width/height differ from the image -> image
  skipped (the boxes cannot be trusted).
- `greyscale`: one channel (L, LA, I, I;16, F, 1) -> converted to RGB
  (16-bit grey by its high byte), re-encoded.
- `converted_to_rgb`: RGBA, palette, CMYK, ... -> converted to RGB,
  re-encoded.
- `reencoded`: neither JPEG nor PNG -> re-encoded (JPEG quality 95; PNG for
  a PNG source).
- `no_boxes`: no box left after cleaning -> image kept as a background
  image, reported.

Boxes (pixel coordinates, `0 <= x <= width`)
- `swapped_corners`: min > max on an axis -> the two swapped.
- `clipped`: the box crosses the image border -> clipped to it. Touching the
  border is not a defect.
- `outside_image`: nothing left after clipping -> box skipped.
- `degenerate_box`: width or height below `min_box_size` pixels (default 1;
  zero-area boxes) -> box skipped.
- `duplicate_box`: same class and IoU >= `duplicate_iou` (default 0.8) with
  an earlier kept box of the image -> box skipped (near-duplicate
  annotation).
- `unknown_class`: class name not in a given label map -> box skipped.

A coordinate that is not a finite number is a broken file, not messy data:
the converter raises `ValueError` naming the file and the object.
"""

import collections
import dataclasses
import io
import math
import os

import numpy as np

POLICY = {
    "missing_image": "image skipped: file not found",
    "unreadable_image": "image skipped: truncated or undecodable",
    "size_mismatch": "image skipped: annotated width/height differ from the "
                     "image",
    "exif_rotated": "fixed: pixels turned upright per EXIF orientation "
                    "(the annotated size is the upright one, or none)",
    "exif_orientation_ignored": "fixed: annotated size is the stored "
                                "pixels', stored pixels kept, EXIF "
                                "orientation dropped",
    "exif_unclear": "unclear: EXIF turn keeps the size (180 degrees, "
                    "mirror, square), pixels kept as --exif-unclear says "
                    "(default upright): check the boxes",
    "greyscale": "fixed: greyscale converted to RGB",
    "converted_to_rgb": "fixed: RGBA/palette/CMYK converted to RGB",
    "reencoded": "fixed: not JPEG/PNG, re-encoded",
    "swapped_corners": "fixed: box min/max corners swapped",
    "clipped": "clipped: box crossed the image border",
    "outside_image": "box skipped: entirely outside the image",
    "degenerate_box": "box skipped: width or height below min_box_size "
                      "(zero-area)",
    "duplicate_box": "box skipped: same class, IoU >= duplicate_iou with an "
                     "earlier box",
    "unknown_class": "box skipped: class not in the label map",
    "no_boxes": "kept: no box left, written as a background image",
}
IMAGE_SKIPS = ("missing_image", "unreadable_image", "size_mismatch")
_EXIF_ORIENTATION = 0x0112
_SWAPS_SIDES = (5, 6, 7, 8)


@dataclasses.dataclass
class AnnotatedBox:
    """One annotated object: class name and pixel `xyxy` corners; `area`
    the format's own (COCO's segment area), `None` to compute it from the
    box."""

    name: str
    xmin: float
    ymin: float
    xmax: float
    ymax: float
    is_crowd: int = 0
    difficult: int = 0
    area: float | None = None


@dataclasses.dataclass
class Annotation:
    """One image as a converter read it, before cleaning.

    `width`/`height` are the annotated size (`None` when the format has
    none); `source_id` is kept when the format has one (COCO image ids).
    """

    filename: str
    image_path: str
    objects: list
    width: int = None
    height: int = None
    source_id: str = None


# Which pixels an EXIF-oriented image keeps when its annotated size cannot
# tell which ones the boxes were drawn on.
EXIF_UNCLEAR = ("upright", "stored")


@dataclasses.dataclass
class CleaningPolicy:
    min_box_size: float = 1.0
    duplicate_iou: float = 0.8
    exif_unclear: str = "upright"

    def __post_init__(self):
        if self.exif_unclear not in EXIF_UNCLEAR:
            raise ValueError(f"Expected exif_unclear in {EXIF_UNCLEAR}. "
                             f"Received: exif_unclear={self.exif_unclear!r}")
        if not self.min_box_size >= 0:
            raise ValueError(f"Expected min_box_size >= 0. Received: "
                             f"min_box_size={self.min_box_size}")
        if not 0 < self.duplicate_iou <= 1:
            raise ValueError(f"Expected 0 < duplicate_iou <= 1 (1 keeps only "
                             f"exact duplicates out). Received: "
                             f"duplicate_iou={self.duplicate_iou}")


class CleaningReport:
    """Every fix and skip, by category, with the file it happened in."""

    def __init__(self):
        self.events = collections.defaultdict(list)
        self.images_written = 0
        self.boxes_written = 0
        self.not_in_split = []  # images that no given split file lists

    def add(self, category, filename, detail=""):
        if category not in POLICY:
            raise ValueError(f"Expected a category of POLICY. Received: "
                             f"category={category!r}")
        self.events[category].append((filename, detail))

    def count(self, category):
        return len(self.events.get(category, ()))

    def files(self, category):
        return sorted({name for name, _ in self.events.get(category, ())})

    def to_dict(self):
        return {
            "images_written": self.images_written,
            "boxes_written": self.boxes_written,
            "not_in_split": list(self.not_in_split),
            "events": {
                category: {"policy": POLICY[category],
                           "count": len(found),
                           "items": [{"file": name, "detail": detail}
                                     for name, detail in found]}
                for category, found in sorted(self.events.items())},
        }

    def format_summary(self, max_files=20):
        lines = [f"Wrote {self.images_written} images, "
                 f"{self.boxes_written} boxes."]
        if self.not_in_split:
            lines.append(f"Not written, in no split file: "
                         f"{len(self.not_in_split)} images: "
                         f"{', '.join(self.not_in_split[:max_files])}")
        if not self.events:
            return "\n".join(lines + ["No data defects found."])
        lines.append("Data defects (count, policy, files):")
        for category in POLICY:
            if category not in self.events:
                continue
            names = self.files(category)
            shown = ", ".join(names[:max_files])
            more = (f" (+{len(names) - max_files} more)"
                    if len(names) > max_files else "")
            lines.append(f"  {category}: {self.count(category)} - "
                         f"{POLICY[category]}\n      {shown}{more}")
        return "\n".join(lines)


def to_rgb(image: "PIL.Image.Image") -> "PIL.Image.Image":
    """A PIL image as RGB. 16-bit grey keeps its high byte, as
    `tf.io.decode_png(dtype=uint8)` does (32-bit and float grey are clipped
    to 16 bits first); PIL's own `convert("RGB")` clips such values at 255,
    which turns most of the image white."""
    from PIL import Image

    if image.mode in ("I", "F") or image.mode.startswith("I;16"):
        values = np.clip(np.asarray(image), 0, 65535)
        grey = (values.astype(np.uint32) >> 8).astype(np.uint8)
        return Image.fromarray(grey).convert("RGB")
    return image.convert("RGB")


def _encode(image, image_format):
    buffer = io.BytesIO()
    if image_format == "png":
        image.save(buffer, format="PNG")
    else:
        image.save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def load_image(annotation, report, policy=None):
    """Loads and repairs the image of `annotation` per the policy.

    Returns:
        `(encoded, image_format, width, height)`, or `None` when the image
        is skipped (the reason is in `report`).
    """
    from PIL import Image, ImageOps

    policy = policy or CleaningPolicy()
    name = annotation.filename
    if not os.path.isfile(annotation.image_path):
        report.add("missing_image", name, annotation.image_path)
        return None
    with open(annotation.image_path, "rb") as file:
        data = file.read()
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError
            ) as error:
        report.add("unreadable_image", name, str(error))
        return None

    source_format = (image.format or "").lower()
    image_format = "png" if source_format == "png" else "jpeg"
    changed = False
    orientation = image.getexif().get(_EXIF_ORIENTATION, 1)
    if orientation not in (None, 1):
        annotated = (annotation.width, annotation.height)
        stored = image.size
        upright = stored[::-1] if orientation in _SWAPS_SIDES else stored
        detail = f"orientation {orientation}"
        if upright == stored:
            # a 180-degree turn, a mirror, a square image: no size tells
            # which pixels the boxes were drawn on; the policy chooses
            report.add("exif_unclear", name,
                       f"{detail}: kept {policy.exif_unclear}")
            if policy.exif_unclear == "upright":
                image = ImageOps.exif_transpose(image)
        elif annotated == stored:
            report.add("exif_orientation_ignored", name, detail)
        else:
            image = ImageOps.exif_transpose(image)
            report.add("exif_rotated", name, detail)
        changed = True
    if image.mode != "RGB":
        category = ("greyscale" if image.mode in ("L", "LA", "I", "F", "1")
                    or image.mode.startswith("I;16") else "converted_to_rgb")
        report.add(category, name, f"mode {image.mode}")
        image = to_rgb(image)
        changed = True
    if source_format not in ("jpeg", "png"):
        report.add("reencoded", name, f"format {source_format or 'unknown'}")
        changed = True

    width, height = image.size
    if annotation.width is not None and annotation.height is not None and (
            (int(annotation.width), int(annotation.height)) != (width, height)):
        report.add("size_mismatch", name,
                   f"annotated {annotation.width}x{annotation.height}, "
                   f"image {width}x{height}")
        return None
    encoded = _encode(image, image_format) if changed else data
    return encoded, image_format, width, height


def _check_finite(box, filename, index):
    for value in (box.xmin, box.ymin, box.xmax, box.ymax):
        if not (isinstance(value, (int, float)) and math.isfinite(value)):
            raise ValueError(
                f"Expected finite box coordinates in {filename}, object "
                f"{index} ({box.name!r}). Received: "
                f"{[box.xmin, box.ymin, box.xmax, box.ymax]}")


def clean_boxes(annotation, width, height, name_to_id, policy, report):
    """Applies the box policy; returns the kept `AnnotatedBox`es."""
    name = annotation.filename
    candidates = []
    for index, box in enumerate(annotation.objects):
        _check_finite(box, name, index)
        where = f"object {index} ({box.name})"
        if box.name not in name_to_id:
            report.add("unknown_class", name, where)
            continue
        x1, x2 = box.xmin, box.xmax
        y1, y2 = box.ymin, box.ymax
        if x1 > x2 or y1 > y2:
            x1, x2 = min(x1, x2), max(x1, x2)
            y1, y2 = min(y1, y2), max(y1, y2)
            report.add("swapped_corners", name, where)
        clipped = (min(max(x1, 0), width), min(max(y1, 0), height),
                   min(max(x2, 0), width), min(max(y2, 0), height))
        if clipped != (x1, y1, x2, y2):
            if clipped[2] - clipped[0] <= 0 or clipped[3] - clipped[1] <= 0:
                report.add("outside_image", name, where)
                continue
            report.add("clipped", name, where)
        x1, y1, x2, y2 = clipped
        if x2 - x1 < policy.min_box_size or y2 - y1 < policy.min_box_size \
                or x2 - x1 <= 0 or y2 - y1 <= 0:
            report.add("degenerate_box", name,
                       f"{where} {x2 - x1:g}x{y2 - y1:g} px")
            continue
        candidates.append((where, dataclasses.replace(
            box, xmin=x1, ymin=y1, xmax=x2, ymax=y2)))
    return _drop_duplicates(name, candidates, policy, report)


def _drop_duplicates(name, candidates, policy, report):
    """Keeps each box unless it overlaps an earlier kept box of its class by
    IoU >= `policy.duplicate_iou`."""
    from keras import ops

    from keras_boxloss.boxes import pairwise_iou

    if not candidates:
        return []
    corners = np.array([[b.xmin, b.ymin, b.xmax, b.ymax]
                        for _, b in candidates], np.float64)
    ious = ops.convert_to_numpy(pairwise_iou(corners, corners))
    kept = []
    for i, (where, box) in enumerate(candidates):
        same = [j for j in kept if candidates[j][1].name == box.name]
        if same and ious[i, same].max() >= policy.duplicate_iou:
            report.add("duplicate_box", name,
                       f"{where} IoU {ious[i, same].max():.2f}")
            continue
        kept.append(i)
    return [candidates[i][1] for i in kept]


def build_record(annotation, source_id, label_map, policy, report):
    """An `Annotation` as a cleaned `DetectionRecord`, or `None` when the
    image is skipped. `label_map` is `{id: name}`."""
    from keras_boxloss.data.records import DetectionRecord

    loaded = load_image(annotation, report, policy)
    if loaded is None:
        return None
    encoded, image_format, width, height = loaded
    name_to_id = {n: i for i, n in label_map.items()}
    kept = clean_boxes(annotation, width, height, name_to_id, policy, report)
    if not kept:
        report.add("no_boxes", annotation.filename)
    pixels = np.array([[b.ymin, b.xmin, b.ymax, b.xmax] for b in kept],
                      np.float64).reshape(-1, 4)
    record = DetectionRecord(
        encoded=encoded, image_format=image_format, height=height,
        width=width, filename=annotation.filename, source_id=str(source_id),
        boxes=pixels / [height, width, height, width],
        classes=[name_to_id[b.name] for b in kept],
        class_names=[b.name for b in kept],
        is_crowd=[b.is_crowd for b in kept],
        difficult=[b.difficult for b in kept],
        area=[(y2 - y1) * (x2 - x1) if b.area is None else b.area
              for b, (y1, x1, y2, x2) in zip(kept, pixels)])
    report.images_written += 1
    report.boxes_written += len(kept)
    return record
