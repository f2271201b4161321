import json

import pytest

from keras_boxloss.data.converters import read_coco_annotations
from tests.data.conftest import check_conversion, convert_and_read

CATEGORIES = [{"id": 3, "name": "cat"}, {"id": 7, "name": "dog"},
              {"id": 9, "name": "bird"}]


def write_coco(path, images):
    ids = {c["name"]: c["id"] for c in CATEGORIES}
    data = {"images": [], "annotations": [], "categories": CATEGORIES}
    for index, image in enumerate(images):
        data["images"].append({"id": 100 + index, "file_name": image.filename,
                               "width": image.width, "height": image.height})
        for name, x1, y1, x2, y2 in image.objects:
            data["annotations"].append({
                "id": len(data["annotations"]) + 1, "image_id": 100 + index,
                "category_id": ids[name], "bbox": [x1, y1, x2 - x1, y2 - y1],
                "iscrowd": 0, "area": 1.0})
    path.write_text(json.dumps(data))


def test_coco_conversion_applies_the_policy(messy_images, tmp_path):
    images_dir, images = messy_images
    write_coco(tmp_path / "instances.json", images)
    annotations, label_map = read_coco_annotations(
        str(tmp_path / "instances.json"), str(images_dir))
    assert label_map == {3: "cat", 7: "dog", 9: "bird"}
    report, records, written = convert_and_read(annotations, tmp_path / "out",
                                                label_map)
    assert written == label_map  # COCO category ids are kept
    check_conversion(report, records, label_map)
    # COCO image ids are kept as source ids.
    ids = {r.filename: r.source_id for r in records}
    assert ids["good.png"] == "100" and ids["rgba.png"] == "105"


def test_coco_bad_annotation_names_it(tmp_path):
    path = tmp_path / "instances.json"
    path.write_text(json.dumps({
        "images": [{"id": 1, "file_name": "a.jpg"}], "categories": CATEGORIES,
        "annotations": [{"id": 5, "image_id": 1, "category_id": 4,
                         "bbox": [0, 0, 1, 1]}]}))
    with pytest.raises(ValueError, match=r"annotation 0 \(id 5\).*4"):
        read_coco_annotations(str(path))
    path.write_text("{")
    with pytest.raises(ValueError, match="Bad JSON"):
        read_coco_annotations(str(path))


def _one_image_coco(tmp_path, categories, category_id, area=None):
    """A 60 x 40 PNG with one 20 x 10 box of `category_id`."""
    import numpy as np
    from PIL import Image

    Image.fromarray(np.zeros((40, 60, 3), np.uint8)).save(tmp_path / "a.png")
    box = {"id": 1, "image_id": 0, "category_id": category_id,
           "bbox": [5, 5, 20, 10], "iscrowd": 0, "segmentation": []}
    if area is not None:
        box["area"] = area
    path = tmp_path / "_annotations.coco.json"
    path.write_text(json.dumps({
        "images": [{"id": 0, "file_name": "a.png", "width": 60,
                    "height": 40}],
        "annotations": [box], "categories": categories}))
    return str(path)


def test_coco_area_is_the_annotation_s(tmp_path):
    """COCO's size ranges (AP_small ...) use the segment's area, not the
    box's: a thin diagonal object in a 20 x 10 box has area 60."""
    path = _one_image_coco(tmp_path, [{"id": 1, "name": "cat"}], 1, area=60)
    annotations, label_map = read_coco_annotations(path)
    _, records, _ = convert_and_read(annotations, tmp_path / "out", label_map)
    assert records[0].area.tolist() == [60.0]
    path = _one_image_coco(tmp_path, [{"id": 1, "name": "cat"}], 1)
    annotations, label_map = read_coco_annotations(path)
    _, records, _ = convert_and_read(annotations, tmp_path / "out2",
                                     label_map)
    assert records[0].area.tolist() == [200.0]  # none given: the box's


def test_roboflow_s_unused_category_0_is_left_out(tmp_path, capsys):
    # Roboflow: the dataset's name as category 0, no box uses it
    path = _one_image_coco(tmp_path, [
        {"id": 0, "name": "cells", "supercategory": "none"},
        {"id": 1, "name": "RBC", "supercategory": "cells"},
        {"id": 2, "name": "WBC", "supercategory": "cells"}], 2)
    annotations, label_map = read_coco_annotations(path)
    assert label_map == {1: "RBC", 2: "WBC"}
    assert "category 0 'cells' has no boxes" in capsys.readouterr().err
    _, records, written = convert_and_read(annotations, tmp_path / "out",
                                           label_map)
    assert written == {1: "RBC", 2: "WBC"}
    assert records[0].classes.tolist() == [2]


def test_label_studio_s_ids_from_0_are_shifted(tmp_path, capsys):
    # Label Studio numbers its categories 0..K-1, and boxes use 0
    path = _one_image_coco(tmp_path, [{"id": 0, "name": "cat"},
                                      {"id": 1, "name": "dog"}], 0)
    annotations, label_map = read_coco_annotations(path)
    assert label_map == {1: "cat", 2: "dog"}
    assert "every id is shifted by 1" in capsys.readouterr().err
    _, records, _ = convert_and_read(annotations, tmp_path / "out", label_map)
    assert records[0].classes.tolist() == [1]
    assert records[0].class_names == ["cat"]
