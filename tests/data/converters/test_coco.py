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
