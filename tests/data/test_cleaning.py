import io

import numpy as np
import pytest
from PIL import Image

from keras_boxloss.data.cleaning import (POLICY, AnnotatedBox, Annotation,
                                         CleaningPolicy, CleaningReport,
                                         build_record)
from tests.data.conftest import MESSY, convert_and_read


def _annotation(tmp_path, name, size, objects):
    factory = MESSY[name][0]
    path = tmp_path / name
    path.write_bytes(factory())
    return Annotation(name, str(path), [AnnotatedBox(*o) for o in objects],
                      *size)


def test_label_map_skips_and_counts_other_classes(tmp_path):
    annotation = _annotation(tmp_path, "messy_boxes.jpg", (100, 50),
                             [("cat", 1, 1, 9, 9), ("bird", 70, 5, 80, 15)])
    report, records, _ = convert_and_read([annotation], tmp_path / "out",
                                          label_map={1: "cat", 2: "dog"})
    assert report.events["unknown_class"] == [("messy_boxes.jpg",
                                                "object 1 (bird)")]
    assert records[0].class_names == ["cat"]
    assert list(records[0].classes) == [1]


def test_exif_ignored_when_annotated_on_stored_pixels(tmp_path):
    # The annotation's size is the stored 40 x 20, so the boxes were drawn
    # on the stored pixels: keep them, drop the EXIF turn.
    annotation = _annotation(tmp_path, "rotated.jpg", (40, 20),
                             [("cat", 0, 0, 20, 20)])
    report = CleaningReport()
    record = build_record(annotation, "1", {1: "cat"}, CleaningPolicy(),
                          report)
    assert report.files("exif_orientation_ignored") == ["rotated.jpg"]
    assert (record.width, record.height) == (40, 20)
    image = Image.open(io.BytesIO(record.encoded))
    assert image.getexif().get(0x0112) in (None, 1)
    pixels = np.asarray(image)
    assert pixels[:, :20, 0].mean() > 200  # red stays on the left


def test_policy_thresholds(tmp_path):
    objects = [("cat", 0, 0, 10, 10), ("cat", 0, 0, 10, 9),  # IoU 0.9
               ("cat", 20, 20, 22, 40)]  # 2 px wide
    annotation = _annotation(tmp_path, "messy_boxes.jpg", (100, 50), objects)
    loose = CleaningPolicy(min_box_size=3, duplicate_iou=0.95)
    report = CleaningReport()
    record = build_record(annotation, "1", {1: "cat"}, loose, report)
    assert len(record.boxes) == 2
    assert report.count("degenerate_box") == 1
    assert report.count("duplicate_box") == 0
    report = CleaningReport()
    record = build_record(annotation, "1", {1: "cat"}, CleaningPolicy(),
                          report)
    assert len(record.boxes) == 2 and report.count("duplicate_box") == 1


def test_non_finite_coordinate_is_an_error_naming_file_and_object(tmp_path):
    annotation = _annotation(tmp_path, "messy_boxes.jpg", (100, 50),
                             [("cat", 0, 0, 5, 5),
                              ("cat", 1, float("nan"), 3, 4)])
    with pytest.raises(ValueError, match=r"messy_boxes\.jpg, object 1"):
        build_record(annotation, "1", {1: "cat"}, CleaningPolicy(),
                     CleaningReport())


def test_bad_policy_arguments():
    with pytest.raises(ValueError, match="Expected 0 < duplicate_iou"):
        CleaningPolicy(duplicate_iou=0)
    with pytest.raises(ValueError, match="Expected min_box_size >= 0"):
        CleaningPolicy(min_box_size=-1)


def test_summary_names_each_category_and_file():
    report = CleaningReport()
    report.add("greyscale", "a.jpg", "mode L")
    report.add("clipped", "b.jpg", "object 0")
    report.add("clipped", "c.jpg", "object 2")
    text = report.format_summary()
    assert "greyscale: 1 - " + POLICY["greyscale"] in text
    assert "clipped: 2 - " in text and "b.jpg, c.jpg" in text
    assert report.to_dict()["events"]["clipped"]["count"] == 2
    with pytest.raises(ValueError, match="Expected a category"):
        report.add("nonsense", "a.jpg")


def _upside_down(tmp_path, size):
    """A JPEG stored `size` with EXIF orientation 3 (turned 180 degrees):
    red on the stored left half."""
    width, height = size
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[:, : width // 2] = (255, 0, 0)
    exif = Image.Exif()
    exif[0x0112] = 3
    path = tmp_path / "upside_down.jpg"
    Image.fromarray(pixels).save(path, "JPEG", quality=95,
                                 exif=exif.tobytes())
    return path


@pytest.mark.parametrize("size", [(40, 20), (30, 30)])
@pytest.mark.parametrize("annotated", [True, False])
@pytest.mark.parametrize("choice", ["upright", "stored"])
def test_exif_unclear_follows_the_policy_and_is_reported(tmp_path, size,
                                                          annotated, choice):
    """A 180-degree turn (or a square image) has the same size upright and
    stored: no size tells which pixels the boxes were drawn on, so the
    policy decides, the same with or without an annotated size, and each
    such image is reported as unclear, not as fixed."""
    path = _upside_down(tmp_path, size)
    annotation = Annotation("upside_down.jpg", str(path),
                            [AnnotatedBox("cat", 0, 0, 10, 10)],
                            *(size if annotated else (None, None)))
    report = CleaningReport()
    record = build_record(annotation, "1", {1: "cat"},
                          CleaningPolicy(exif_unclear=choice), report)
    assert report.events["exif_unclear"] == [
        ("upside_down.jpg", f"orientation 3: kept {choice}")]
    assert not report.events.get("exif_rotated")
    assert not report.events.get("exif_orientation_ignored")
    pixels = np.asarray(Image.open(io.BytesIO(record.encoded)))
    left_red = pixels[:, :5, 0].mean() > 200  # stored: red on the left
    assert left_red == (choice == "stored")
    np.testing.assert_allclose(record.boxes[0, :2], [0, 0])  # boxes as given


def test_exif_unclear_choice_is_checked():
    with pytest.raises(ValueError, match="Expected exif_unclear in"):
        CleaningPolicy(exif_unclear="sideways")


def test_16_bit_grey_keeps_its_high_byte(tmp_path):
    """PIL's convert("RGB") clips 16-bit values at 255 (nearly all white);
    the high byte is what tf.io.decode_png(dtype=uint8) gives."""
    ramp = np.tile(np.linspace(0, 65535, 64).astype(np.uint16), (8, 1))
    path = tmp_path / "grey16.png"
    Image.fromarray(ramp).save(path)
    assert Image.open(path).mode.startswith("I")
    annotation = Annotation("grey16.png", str(path),
                            [AnnotatedBox("cat", 1, 1, 20, 7)], 64, 8)
    report = CleaningReport()
    record = build_record(annotation, "1", {1: "cat"}, CleaningPolicy(),
                          report)
    assert report.files("greyscale") == ["grey16.png"]
    pixels = np.asarray(Image.open(io.BytesIO(record.encoded)))
    np.testing.assert_array_equal(pixels[0, :, 0], ramp[0] >> 8)
    assert (pixels[..., 0] == pixels[..., 2]).all()
