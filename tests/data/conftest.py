"""A small messy dataset, written by the tests into tmp_path, with every
defect the cleaning policy handles; each converter test writes its
annotations in its own format and checks the same expected outcome."""

import dataclasses
import io

import numpy as np
import pytest
from PIL import Image

RED, BLUE, GREY = (255, 0, 0), (0, 0, 255), (128, 128, 128)


@dataclasses.dataclass
class FixtureImage:
    filename: str
    width: int  # annotated size
    height: int
    objects: list  # (class, xmin, ymin, xmax, ymax) in pixels


def _solid(width, height, colour=GREY):
    return Image.new("RGB", (width, height), colour)


def _good_image():
    image = np.full((40, 60, 3), GREY, np.uint8)
    image[10:30, 5:25] = RED  # the "cat" at x 5..25, y 10..30
    return Image.fromarray(image)


def _exif_image():
    # Stored 40 wide x 20 high: left half red, right half blue. EXIF
    # orientation 6 shows it turned 90 degrees clockwise: 20 wide x 40 high,
    # red on top (y 0..20), blue below.
    image = np.zeros((20, 40, 3), np.uint8)
    image[:, :20] = RED
    image[:, 20:] = BLUE
    return Image.fromarray(image)


def _jpeg(image, orientation=None):
    buffer = io.BytesIO()
    if orientation:
        exif = Image.Exif()
        exif[0x0112] = orientation
        image.save(buffer, "JPEG", quality=95, exif=exif.tobytes())
    else:
        image.save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


def _encoded(image, fmt):
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def _truncated():
    noise = np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)
    data = _jpeg(Image.fromarray(noise))
    return data[:len(data) * 6 // 10]


# filename -> (bytes factory, annotated size, objects)
MESSY = {
    "good.png": (lambda: _encoded(_good_image(), "PNG"), (60, 40), [
        ("cat", 5, 10, 25, 30),
        ("cat", 5.5, 10, 25, 30),      # near-duplicate: skipped
        ("dog", 5, 10, 25, 30),        # same place, other class: kept
        ("dog", 50, 0, 60, 40),        # touches the border: kept as is
    ]),
    "grey.jpg": (lambda: _jpeg(_solid(50, 30).convert("L")), (50, 30), [
        ("cat", 10, 5, 20, 15),
    ]),
    "messy_boxes.jpg": (lambda: _jpeg(_solid(100, 50)), (100, 50), [
        ("cat", -10, 10, 30, 60),      # crosses the border: clipped
        ("cat", 40, 20, 40, 30),       # zero width: skipped
        ("dog", 120, 10, 150, 20),     # outside: skipped
        ("dog", 90, 40, 60, 20),       # corners swapped: fixed
        ("bird", 70, 5, 80, 15),       # not in a given label map
    ]),
    "truncated.jpg": (_truncated, (64, 64), [("cat", 1, 1, 10, 10)]),
    "rotated.jpg": (lambda: _jpeg(_exif_image(), orientation=6), (20, 40), [
        ("cat", 0, 0, 20, 20),         # the red half, upright
    ]),
    "rgba.png": (lambda: _encoded(_solid(30, 30).convert("RGBA"), "PNG"),
                 (30, 30), [("dog", 0, 0, 10, 10)]),
    "bitmap.bmp": (lambda: _encoded(_solid(30, 20), "BMP"), (30, 20),
                   [("dog", 2, 2, 12, 12)]),
    "resized.jpg": (lambda: _jpeg(_solid(30, 30)), (60, 60),
                    [("cat", 0, 0, 10, 10)]),
    "empty.jpg": (lambda: _jpeg(_solid(30, 30)), (30, 30), []),
}
MISSING = FixtureImage("missing.jpg", 20, 20, [("cat", 1, 1, 5, 5)])

# What the policy must report (category -> files), with the default
# CleaningPolicy and no label map.
EXPECTED_EVENTS = {
    "duplicate_box": ["good.png"],
    "greyscale": ["grey.jpg"],
    "clipped": ["messy_boxes.jpg"],
    "degenerate_box": ["messy_boxes.jpg"],
    "outside_image": ["messy_boxes.jpg"],
    "swapped_corners": ["messy_boxes.jpg"],
    "unreadable_image": ["truncated.jpg"],
    "exif_rotated": ["rotated.jpg"],
    "converted_to_rgb": ["rgba.png"],
    "reencoded": ["bitmap.bmp"],
    "size_mismatch": ["resized.jpg"],
    "no_boxes": ["empty.jpg"],
    "missing_image": ["missing.jpg"],
}
# Written images and their kept boxes, pixel (class, xmin, ymin, xmax, ymax).
EXPECTED_BOXES = {
    "good.png": [("cat", 5, 10, 25, 30), ("dog", 5, 10, 25, 30),
                 ("dog", 50, 0, 60, 40)],
    "grey.jpg": [("cat", 10, 5, 20, 15)],
    "messy_boxes.jpg": [("cat", 0, 10, 30, 50), ("dog", 60, 20, 90, 40),
                        ("bird", 70, 5, 80, 15)],
    "rotated.jpg": [("cat", 0, 0, 20, 20)],
    "rgba.png": [("dog", 0, 0, 10, 10)],
    "bitmap.bmp": [("dog", 2, 2, 12, 12)],
    "empty.jpg": [],
}


@pytest.fixture
def messy_images(tmp_path):
    """Writes the images into tmp_path/images; returns (folder, list of
    FixtureImage including the missing one)."""
    folder = tmp_path / "images"
    folder.mkdir()
    images = []
    for name, (factory, (width, height), objects) in MESSY.items():
        (folder / name).write_bytes(factory())
        images.append(FixtureImage(name, width, height, objects))
    return folder, images + [MISSING]


def check_conversion(report, records, label_map):
    """The outcome every converter must reach on the messy images."""
    found = {category: report.files(category) for category in report.events}
    assert found == EXPECTED_EVENTS
    by_name = {r.filename: r for r in records}
    assert sorted(by_name) == sorted(EXPECTED_BOXES)
    for name, expected in EXPECTED_BOXES.items():
        record = by_name[name]
        h, w = record.height, record.width
        got = [(record.class_names[i],
                *(record.boxes[i][[1, 0, 3, 2]] * [w, h, w, h]))
               for i in range(len(record.boxes))]
        assert [g[0] for g in got] == [e[0] for e in expected], name
        np.testing.assert_allclose(np.array([g[1:] for g in got],
                                            float).reshape(-1, 4),
                                   np.array([e[1:] for e in expected],
                                            float).reshape(-1, 4),
                                   atol=1e-4, err_msg=name)
        assert [label_map[c] for c in record.classes] == record.class_names
    assert report.images_written == len(EXPECTED_BOXES)
    assert report.boxes_written == sum(len(b) for b in EXPECTED_BOXES.values())
    rotated = by_name["rotated.jpg"]
    assert (rotated.width, rotated.height) == (20, 40)
    pixels = np.asarray(Image.open(io.BytesIO(rotated.encoded)))
    assert pixels[:20, :, 0].mean() > 200 and pixels[:20, :, 2].mean() < 60
    assert pixels[20:, :, 2].mean() > 200
    for name in ("grey.jpg", "rgba.png", "bitmap.bmp"):
        image = Image.open(io.BytesIO(by_name[name].encoded))
        assert image.mode == "RGB" and image.format in ("JPEG", "PNG")


def convert_and_read(annotations, output_dir, label_map=None, **kwargs):
    """Converts into one split "all"; returns (report, records, label map)."""
    from keras_boxloss.data.conversion import convert_annotations
    from keras_boxloss.data.label_map import read_label_map
    from keras_boxloss.data.records import read_records

    paths, report = convert_annotations(
        annotations, str(output_dir), label_map=label_map,
        fractions={"all": 1.0}, **kwargs)
    return (report, list(read_records(paths["all"])),
            read_label_map(paths["label_map"]))
