import pytest

from keras_boxloss.data.converters import read_csv_annotations
from tests.data.conftest import check_conversion, convert_and_read

HEADER = "filename,width,height,class,xmin,ymin,xmax,ymax\n"


def write_csv(path, images):
    rows = [HEADER]
    for image in images:
        if not image.objects:
            rows.append(f"{image.filename},{image.width},{image.height},"
                        f",,,,\n")
        for name, x1, y1, x2, y2 in image.objects:
            rows.append(f"{image.filename},{image.width},{image.height},"
                        f"{name},{x1},{y1},{x2},{y2}\n")
    path.write_text("".join(rows))


def test_csv_conversion_applies_the_policy(messy_images, tmp_path):
    images_dir, images = messy_images
    # Two files, as raccoon's train_labels.csv and test_labels.csv.
    write_csv(tmp_path / "a.csv", images[:4])
    write_csv(tmp_path / "b.csv", images[4:])
    annotations = read_csv_annotations(
        [str(tmp_path / "a.csv"), str(tmp_path / "b.csv")], str(images_dir))
    report, records, label_map = convert_and_read(annotations,
                                                  tmp_path / "out")
    check_conversion(report, records, label_map)


def test_csv_bad_rows_name_the_file_and_line(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text(HEADER + "a.jpg,10,10,cat,1,2,3,4\n"
                             "a.jpg,10,10,cat,1,oops,3,4\n")
    with pytest.raises(ValueError, match=r"labels\.csv line 3 ymin"):
        read_csv_annotations(str(path), str(tmp_path))
    path.write_text(HEADER + "a.jpg,10,10,cat,1,2,3,4\n"
                             "a.jpg,12,10,cat,1,2,3,4\n")
    with pytest.raises(ValueError, match=r"same width, height .* line 3"):
        read_csv_annotations(str(path), str(tmp_path))
    path.write_text("filename,class\na.jpg,cat\n")
    with pytest.raises(ValueError, match=r"missing \['width'"):
        read_csv_annotations(str(path), str(tmp_path))


@pytest.mark.parametrize("row, count", [
    ("a.jpg\n", 1), ("a.jpg,10,10,cat\n", 4), ("a.jpg,10,10,cat,1,2,3\n", 7),
    ("a.jpg,10,10,cat,1,2,3,4,5\n", 9)])
def test_csv_row_with_wrong_column_count_names_file_and_line(tmp_path, row,
                                                             count):
    path = tmp_path / "labels.csv"
    path.write_text(HEADER + '"b\nc.jpg",10,10,cat,1,2,3,4\n' + row)
    # line 4: the quoted name spans two lines, so lines are counted as read
    with pytest.raises(ValueError, match=(
            rf"Expected 8 columns \(filename,.*ymax\) in .*labels\.csv line "
            rf"4\. Received: {count} columns")):
        read_csv_annotations(str(path), str(tmp_path))


def test_an_excel_csv_with_a_byte_order_mark_reads(tmp_path):
    """Excel's "CSV UTF-8" starts with a byte-order mark and ends lines
    with CRLF."""
    import numpy as np
    from PIL import Image

    (tmp_path / "images").mkdir()
    Image.fromarray(np.zeros((40, 60, 3), np.uint8)).save(
        tmp_path / "images" / "a.jpg")
    path = tmp_path / "labels.csv"
    path.write_bytes(("\ufeff" + HEADER + "a.jpg,60,40,cat,5,5,25,15\n")
                     .replace("\n", "\r\n").encode("utf-8"))
    (annotation,) = read_csv_annotations(str(path))
    assert annotation.filename == "a.jpg"
    assert [(b.name, b.xmin, b.ymax) for b in annotation.objects] == [
        ("cat", 5.0, 15.0)]
    from keras_boxloss.data.conversion import read_split_file
    assert read_split_file(str(path)) == ["a.jpg"]
