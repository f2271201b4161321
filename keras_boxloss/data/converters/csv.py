"""CSV annotations, one row per box: `filename, width, height, class, xmin,
ymin, xmax, ymax` in pixels (the raccoon dataset's `data/*_labels.csv`). A row
with an empty class is an image without boxes."""

import csv
import os

from keras_boxloss.data.cleaning import AnnotatedBox, Annotation
from keras_boxloss.data.converters.common import guess_images_dir, number

COLUMNS = ("filename", "width", "height", "class", "xmin", "ymin", "xmax",
           "ymax")


def _check_columns(row, fieldnames, where):
    """DictReader fills a short row with None and keeps the surplus of a
    long one under None: both are a broken row, not data."""
    extra = row.get(None)
    count = (len(fieldnames) - list(row.values()).count(None)
             + len(extra or ()))
    if count != len(fieldnames):
        raise ValueError(f"Expected {len(fieldnames)} columns "
                         f"({','.join(fieldnames)}) in {where}. Received: "
                         f"{count} columns")


def read_csv_annotations(csv_paths, images_dir=None):
    """Rows of one or more CSV files grouped by image, sorted by filename.

    Args:
        csv_paths: a path or a list of paths.
        images_dir: where the images are; `None` guesses a sibling `images/`
            folder of the first CSV's folder.
    """
    if isinstance(csv_paths, (str, os.PathLike)):
        csv_paths = [csv_paths]
    if images_dir is None:
        images_dir = guess_images_dir(csv_paths[0], ("images", "JPEGImages"))
    images = {}
    for path in csv_paths:
        with open(path, newline="", encoding="utf-8-sig") as file:
            reader = csv.DictReader(file)
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise ValueError(f"Expected columns {list(COLUMNS)} in {path}."
                                 f" Received: {reader.fieldnames} (missing "
                                 f"{missing})")
            for row in reader:
                where = f"{path} line {reader.line_num}"
                _check_columns(row, reader.fieldnames, where)
                name = row["filename"].strip()
                size = (int(number(row["width"], f"{where} width")),
                        int(number(row["height"], f"{where} height")))
                if name not in images:
                    images[name] = Annotation(
                        filename=name,
                        image_path=os.path.join(images_dir, name),
                        objects=[], width=size[0], height=size[1])
                annotation = images[name]
                if size != (annotation.width, annotation.height):
                    raise ValueError(
                        f"Expected the same width, height on every row of "
                        f"{name} in {where}. Received: {size} after "
                        f"{(annotation.width, annotation.height)}")
                if not row["class"].strip():
                    continue
                corners = [number(row[side], f"{where} {side}")
                           for side in ("xmin", "ymin", "xmax", "ymax")]
                annotation.objects.append(
                    AnnotatedBox(row["class"].strip(), *corners))
    return [images[name] for name in sorted(images)]
