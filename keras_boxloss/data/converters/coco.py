"""COCO JSON (`images`, `annotations` with `bbox` = `[x, y, w, h]` pixels,
`categories`). Category ids are kept as label-map ids, image ids as
source ids and each box's `area` (its segment's, which COCO's size ranges
use), as the TF OD API's `create_coco_tf_record.py` does; a category id 0
(the background in TF OD API label maps) is dropped when no box uses it,
else every id is shifted by 1."""

import json
import os
import sys

from keras_boxloss.data.cleaning import AnnotatedBox, Annotation
from keras_boxloss.data.converters.common import number


def read_coco_annotations(json_path, images_dir=None):
    """Returns `(annotations, label_map)` sorted by file name.

    Args:
        json_path: the COCO JSON file.
        images_dir: where `file_name`s are; `None` means the JSON's folder.
    """
    try:
        with open(json_path, encoding="utf-8") as file:
            data = json.load(file)
    except json.JSONDecodeError as error:
        raise ValueError(f"Bad JSON in {json_path}: {error}") from None
    for key in ("images", "annotations", "categories"):
        if not isinstance(data.get(key), list):
            raise ValueError(f"Expected a list {key!r} in {json_path}. "
                             f"Received: {type(data.get(key)).__name__}")
    if images_dir is None:
        images_dir = os.path.dirname(os.path.abspath(json_path))
    label_map = {}
    for category in data["categories"]:
        label_map[int(category["id"])] = str(category["name"])
    images = {}
    for image in data["images"]:
        image_id = str(image.get("id"))
        if not image_id.isdigit():
            raise ValueError(f"Expected integer image ids in {json_path}. "
                             f"Received: id={image.get('id')!r}")
        images[int(image_id)] = Annotation(
            filename=image["file_name"],
            image_path=os.path.join(images_dir, image["file_name"]),
            objects=[], width=image.get("width"), height=image.get("height"),
            source_id=image_id)
    for index, annotation in enumerate(data["annotations"]):
        where = f"{json_path} annotation {index} (id {annotation.get('id')})"
        image = images.get(annotation.get("image_id"))
        if image is None:
            raise ValueError(f"Expected an image_id of `images` in {where}. "
                             f"Received: {annotation.get('image_id')!r}")
        category = label_map.get(annotation.get("category_id"))
        if category is None:
            raise ValueError(f"Expected a category_id of `categories` in "
                             f"{where}. Received: "
                             f"{annotation.get('category_id')!r}")
        bbox = annotation.get("bbox")
        if not isinstance(bbox, list) or len(bbox) != 4:
            raise ValueError(f"Expected bbox [x, y, w, h] in {where}. "
                             f"Received: {bbox!r}")
        x, y, w, h = (number(v, f"{where} bbox") for v in bbox)
        area = annotation.get("area")
        image.objects.append(AnnotatedBox(
            category, x, y, x + w, y + h, int(annotation.get("iscrowd", 0)),
            area=None if area is None else number(area, f"{where} area")))
    ordered = sorted(images.values(), key=lambda a: a.filename)
    return ordered, _without_id_0(label_map, data["annotations"], json_path)


def _without_id_0(label_map, annotations, json_path):
    """The label map with no id 0, which TF OD API label maps keep for the
    background. Roboflow's exports have a category 0 that no box uses (the
    dataset's name, the others' supercategory): dropped. Label Studio's
    number their categories from 0: every id shifted by 1. Either is said
    on stderr."""
    if 0 not in label_map:
        return label_map
    if not any(a.get("category_id") == 0 for a in annotations):
        print(f"{json_path}: note: category 0 {label_map[0]!r} has no "
              f"boxes (Roboflow's root category): left out of the label map "
              f"(id 0 is the background there)", file=sys.stderr)
        return {i: n for i, n in label_map.items() if i != 0}
    print(f"{json_path}: note: category ids start at 0 (the background in "
          f"TF OD API label maps): every id is shifted by 1 (0 -> 1, "
          f"{max(label_map)} -> {max(label_map) + 1}); pass --label-map to "
          f"choose the ids", file=sys.stderr)
    return {i + 1: n for i, n in label_map.items()}
