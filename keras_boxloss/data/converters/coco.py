"""COCO JSON (`images`, `annotations` with `bbox` = `[x, y, w, h]` pixels,
`categories`). Category ids are kept as label-map ids and image ids as
source ids, as the TF OD API's `create_coco_tf_record.py` does."""

import json
import os

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
        image.objects.append(AnnotatedBox(
            category, x, y, x + w, y + h, int(annotation.get("iscrowd", 0))))
    ordered = sorted(images.values(), key=lambda a: a.filename)
    return ordered, label_map
