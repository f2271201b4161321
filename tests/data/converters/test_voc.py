import pytest

from keras_boxloss.data.converters import read_voc_annotations
from tests.data.conftest import check_conversion, convert_and_read


def write_voc(folder, images):
    folder.mkdir()
    for image in images:
        objects = "".join(
            f"<object><name>{name}</name><difficult>0</difficult><bndbox>"
            f"<xmin>{x1}</xmin><ymin>{y1}</ymin><xmax>{x2}</xmax>"
            f"<ymax>{y2}</ymax></bndbox></object>"
            for name, x1, y1, x2, y2 in image.objects)
        (folder / (image.filename.rsplit(".", 1)[0] + ".xml")).write_text(
            f"<annotation><filename>{image.filename}</filename><size>"
            f"<width>{image.width}</width><height>{image.height}</height>"
            f"<depth>3</depth></size>{objects}</annotation>")


def test_voc_conversion_applies_the_policy(messy_images, tmp_path):
    images_dir, images = messy_images
    write_voc(tmp_path / "Annotations", images)
    annotations = read_voc_annotations(str(tmp_path / "Annotations"),
                                       str(images_dir))
    report, records, label_map = convert_and_read(annotations,
                                                  tmp_path / "out")
    assert label_map == {1: "bird", 2: "cat", 3: "dog"}
    check_conversion(report, records, label_map)


def test_voc_guesses_a_sibling_images_folder(messy_images, tmp_path):
    _, images = messy_images
    write_voc(tmp_path / "Annotations", images[:1])
    (annotation,) = read_voc_annotations(str(tmp_path / "Annotations"))
    assert annotation.image_path == str(tmp_path / "images" / "good.png")


def test_voc_broken_file_names_the_file_and_object(tmp_path):
    folder = tmp_path / "Annotations"
    folder.mkdir()
    (folder / "a.xml").write_text(
        "<annotation><filename>a.jpg</filename><object><name>cat</name>"
        "<bndbox><xmin>1</xmin><ymin>x</ymin><xmax>3</xmax><ymax>4</ymax>"
        "</bndbox></object></annotation>")
    with pytest.raises(ValueError, match=r"a\.xml object 0 <ymin>"):
        read_voc_annotations(str(folder), str(tmp_path))
    (folder / "a.xml").write_text("<annotation><filename>")
    with pytest.raises(ValueError, match=r"Bad VOC XML file .*a\.xml"):
        read_voc_annotations(str(folder), str(tmp_path))
