import io

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_boxloss.data.generated import generate_records
from keras_boxloss.data.pipeline import (make_dataset, resize,
                                         to_original_boxes)
from keras_boxloss.data.records import DetectionRecord, write_records
from tests.data.test_generated import saturated


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("generated")
    write_records(generate_records(24, seed=2), str(folder), "train")
    return str(folder / "train-*.tfrecord")


def _rectangle_record(tmp_path, height, width, box, mode="RGB"):
    """A grey image with a red rectangle at pixel `box` (x1, y1, x2, y2)."""
    pixels = np.full((height, width, 3), 120, np.uint8)
    x1, y1, x2, y2 = box
    pixels[y1:y2, x1:x2] = (250, 0, 0)
    image = Image.fromarray(pixels)
    if mode == "L":
        image = image.convert("L")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    record = DetectionRecord(
        encoded=buffer.getvalue(), image_format="png", height=height,
        width=width, filename="r.png", source_id="1",
        boxes=[[y1 / height, x1 / width, y2 / height, x2 / width]],
        classes=[1], class_names=["red"])
    write_records([record], str(tmp_path), "one")
    return str(tmp_path / "one-*.tfrecord")


def _extent(mask):
    rows, cols = np.nonzero(mask)
    return np.array([rows.min(), cols.min(), rows.max() + 1, cols.max() + 1])


@pytest.mark.parametrize("mode, valid", [("fixed", (1.0, 1.0)),
                                         ("pad", (0.75, 1.0))])
def test_resize_keeps_boxes_on_the_object(tmp_path, mode, valid):
    # A 60 x 80 image into a 40 x 40 canvas: "pad" scales it by 0.5 to
    # 30 x 40, filling 0.75 of the height; "fixed" stretches it.
    pattern = _rectangle_record(tmp_path, 60, 80, (20, 10, 60, 40))
    batch = next(iter(make_dataset(pattern, batch_size=1, image_size=(40, 40),
                                   resize_mode=mode)))
    image = batch["images"][0].numpy()
    box = batch["bounding_boxes"]["boxes"][0, 0].numpy()
    np.testing.assert_allclose(batch["valid_size"][0], valid)
    red = (image[..., 0] > 185) & (image[..., 1] < 60)
    np.testing.assert_allclose(_extent(red), box * 40, atol=1.0)
    original = to_original_boxes(batch["bounding_boxes"]["boxes"][:, :1],
                                 batch["valid_size"])
    np.testing.assert_allclose(original[0, 0], [10 / 60, 20 / 80, 40 / 60,
                                                 60 / 80], atol=1e-6)
    if mode == "pad":  # the padding is black, below the image
        assert image[31:].max() == 0 and image[:29].max(-1).min() > 0


def test_augmentations_keep_boxes_on_the_objects(generated):
    plain = make_dataset(generated, batch_size=24, image_size=(128, 128))
    augmented = make_dataset(generated, batch_size=24, image_size=(128, 128),
                             augment=True, seed=4)
    plain_boxes = next(iter(plain))["bounding_boxes"]["boxes"].numpy()
    batch = next(iter(augmented))
    images = batch["images"].numpy()
    boxes = batch["bounding_boxes"]["boxes"].numpy()
    classes = batch["bounding_boxes"]["classes"].numpy()
    changed = 0
    for image, image_boxes, image_classes, before in zip(
            images, boxes, classes, plain_boxes):
        mask = saturated(image)
        valid = image_boxes[image_classes >= 0]
        changed += valid.shape != before[before[:, 0] >= 0].shape or (
            not np.allclose(valid, before[before[:, 0] >= 0]))
        # Boxes stay finite, inside the image, with positive area.
        assert (valid >= 0).all() and (valid <= 1).all()
        assert (valid[:, 2:] > valid[:, :2]).all()
        for box in valid:
            y1, x1, y2, x2 = np.round(box * 128).astype(int)
            grown = mask[max(y1 - 2, 0):y2 + 2, max(x1 - 2, 0):x2 + 2]
            assert grown.any()
            found = _extent(grown) + [max(y1 - 2, 0), max(x1 - 2, 0)] * 2
            # The object's pixels reach each side of its box (a few pixels of
            # blur where a crop enlarges the image).
            np.testing.assert_allclose(found, box * 128, atol=5)
    assert changed >= 12  # most images were flipped or cropped


def test_same_seed_same_batches_other_seed_others(generated):
    def first(seed):
        dataset = make_dataset(generated, batch_size=8, augment=True,
                               seed=seed, shuffle_buffer=16)
        batch = next(iter(dataset))
        return (batch["images"].numpy(), batch["bounding_boxes"]["boxes"]
                .numpy(), batch["source_id"].numpy())

    one, again, other = first(1), first(1), first(2)
    for a, b in zip(one, again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(one[2], other[2])


def test_skipped_batches_are_those_of_the_whole_stream(generated):
    # A resumed training run skips the batches it had trained on: the rest
    # must match the uninterrupted stream, shuffle and augmentation included
    # (the stream repeats, so batches past the first epoch count too).
    def batches(skip, count):
        dataset = make_dataset(generated, batch_size=4, augment=True, seed=3,
                               shuffle_buffer=16, repeat=True,
                               drop_remainder=True, skip_batches=skip)
        return [(b["images"].numpy(), b["bounding_boxes"]["boxes"].numpy(),
                 b["source_id"].numpy()) for b in dataset.take(count)]

    whole, resumed = batches(0, 9), batches(5, 4)
    for expected, got in zip(whole[5:], resumed):
        for a, b in zip(expected, got):
            np.testing.assert_array_equal(a, b)
    assert not np.array_equal(whole[0][0], resumed[0][0])


def test_padding_formats_and_tuple_output(generated):
    images, truth = next(iter(make_dataset(
        generated, batch_size=4, image_size=(64, 96), max_boxes=6,
        bounding_box_format="xyxy", as_tuple=True)))
    rel = next(iter(make_dataset(generated, batch_size=4, max_boxes=6,
                                 image_size=(64, 96))))["bounding_boxes"]
    assert images.shape == (4, 64, 96, 3) and truth["boxes"].shape == (4, 6, 4)
    padding = rel["classes"].numpy() < 0
    assert padding.any() and (truth["boxes"].numpy()[padding] == -1).all()
    y1, x1, y2, x2 = np.moveaxis(rel["boxes"].numpy()[~padding], -1, 0)
    np.testing.assert_allclose(truth["boxes"].numpy()[~padding],
                               np.stack([x1 * 96, y1 * 64, x2 * 96, y2 * 64],
                                        -1), rtol=1e-6)


def test_greyscale_decodes_to_three_channels(tmp_path):
    pattern = _rectangle_record(tmp_path, 20, 20, (0, 0, 5, 5), mode="L")
    batch = next(iter(make_dataset(pattern, batch_size=1,
                                   image_size=(20, 20))))
    assert batch["images"].shape == (1, 20, 20, 3)


def test_resize_pad_of_a_tall_image():
    image = tf.zeros([100, 50, 3])
    resized, boxes, valid = resize(image, tf.constant([[0.0, 0.0, 1.0, 1.0]]),
                                   (40, 40), "pad")
    assert resized.shape == (40, 40, 3)
    np.testing.assert_allclose(valid, [1.0, 0.5])
    np.testing.assert_allclose(boxes, [[0.0, 0.0, 1.0, 0.5]])


@pytest.mark.parametrize("kwargs, message", [
    ({"image_size": (0, 10)}, "image_size"),
    ({"resize_mode": "crop"}, "resize_mode"),
    ({"bounding_box_format": "rel_xywh"}, "bounding_box_format"),
    ({"batch_size": 0}, "batch_size"),
    ({"skip_batches": -1}, "skip_batches"),
])
def test_bad_arguments(generated, kwargs, message):
    with pytest.raises(ValueError, match=f"Expected .*{message}.*Received"):
        make_dataset(generated, **kwargs)
