import io

import numpy as np
import pytest
from PIL import Image

from keras_boxloss.data.generated import (CLASSES, SATURATION_THRESHOLD,
                                          default_dataset, generate_records)
from keras_boxloss.data.label_map import read_label_map
from keras_boxloss.data.records import read_records


def saturated(pixels):
    pixels = np.asarray(pixels, np.int32)
    return pixels.max(-1) - pixels.min(-1) > SATURATION_THRESHOLD


def test_same_seed_same_bytes_other_seed_other_images():
    first = generate_records(4, seed=7)
    assert [r.encoded for r in first] == [
        r.encoded for r in generate_records(4, seed=7)]
    assert first[0].encoded != generate_records(1, seed=8)[0].encoded


def test_boxes_are_the_tight_extent_of_the_shapes():
    records = generate_records(30, seed=0)
    for record in records:
        mask = saturated(Image.open(io.BytesIO(record.encoded)))
        size = record.height
        # Every shape pixel lies in exactly one box, and each box's shape
        # touches all four of its sides.
        covered = np.zeros_like(mask, int)
        for box in np.round(record.boxes * size).astype(int):
            y1, x1, y2, x2 = box
            covered[y1:y2, x1:x2] += 1
            inside = mask[y1:y2, x1:x2]
            assert inside[0].any() and inside[-1].any()
            assert inside[:, 0].any() and inside[:, -1].any()
        assert (covered[mask] == 1).all()


def test_dataset_has_several_classes_objects_and_small_boxes():
    records = generate_records(60, seed=0)
    counts = [len(r.boxes) for r in records]
    classes = np.concatenate([r.classes for r in records])
    areas = np.concatenate([r.area for r in records])
    assert set(classes) == set(CLASSES)
    assert max(counts) >= 3 and min(counts) >= 1
    assert 0.1 < np.mean(areas < 32**2) < 0.9  # COCO small and larger ones


def test_default_dataset_is_written_once_and_reused(tmp_path):
    splits = {"train": 6, "val": 3}
    paths = default_dataset(str(tmp_path), splits=splits)
    train = list(read_records(paths["train"]))
    val = list(read_records(paths["val"]))
    assert len(train) == 6 and len(val) == 3
    assert read_label_map(paths["label_map"]) == CLASSES
    # Unique source ids across the splits.
    assert len({r.source_id for r in train + val}) == 9
    (shard,) = tmp_path.glob("*/train-*.tfrecord")
    shard.write_bytes(b"cached")  # a rewrite would replace this
    assert default_dataset(str(tmp_path), splits=splits) == paths
    assert shard.read_bytes() == b"cached"


def test_bad_arguments():
    with pytest.raises(ValueError, match="Expected an integer image_size"):
        generate_records(1, image_size=10)
    with pytest.raises(ValueError, match="num_images"):
        generate_records(-1)
