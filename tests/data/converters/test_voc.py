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


def _image(path, size=(60, 40)):
    import numpy as np
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.zeros((size[1], size[0], 3), np.uint8)).save(path)


def _xml(path, filename, objects):
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "".join(
        f"<object><name>{name}</name><difficult>{difficult}</difficult>"
        f"<bndbox><xmin>5</xmin><ymin>5</ymin><xmax>25</xmax><ymax>15</ymax>"
        f"</bndbox></object>" for name, difficult in objects)
    path.write_text(f"<annotation><filename>{filename}</filename><size>"
                    f"<width>60</width><height>40</height><depth>3</depth>"
                    f"</size>{body}</annotation>")


def test_voc_difficult_is_kept(tmp_path):
    """As create_pascal_tf_record.py writes image/object/difficult."""
    _image(tmp_path / "JPEGImages" / "a.jpg")
    _xml(tmp_path / "Annotations" / "a.xml", "a.jpg",
         [("cat", 0), ("dog", 1)])
    annotations = read_voc_annotations(str(tmp_path / "Annotations"))
    # two classes on one box: no duplicate (that needs the same class)
    _, records, _ = convert_and_read(annotations, tmp_path / "out")
    assert records[0].class_names == ["cat", "dog"]
    assert records[0].difficult.tolist() == [0, 1]


def test_cvat_s_subfolders_are_read(tmp_path):
    """CVAT (datumaro) keeps a task's subfolders: Annotations/cam1/f1.xml
    names cam1/f1.jpg, and ImageSets list cam1/f1."""
    from keras_boxloss.data.conversion import convert_annotations

    _image(tmp_path / "JPEGImages" / "top.jpg")
    _image(tmp_path / "JPEGImages" / "cam1" / "f1.jpg")
    _xml(tmp_path / "Annotations" / "top.xml", "top.jpg", [("cat", 0)])
    _xml(tmp_path / "Annotations" / "cam1" / "f1.xml", "cam1/f1.jpg",
         [("dog", 0)])
    split = tmp_path / "ImageSets" / "Main" / "default.txt"
    split.parent.mkdir(parents=True)
    split.write_text("top\ncam1/f1\n")
    annotations = read_voc_annotations(str(tmp_path / "Annotations"))
    assert [a.filename for a in annotations] == ["cam1/f1.jpg", "top.jpg"]
    assert annotations[0].image_path == str(
        tmp_path / "JPEGImages" / "cam1" / "f1.jpg")
    paths, report = convert_annotations(
        annotations, str(tmp_path / "out"),
        split_files={"default": str(split)})
    assert (report.images_written, report.boxes_written) == (2, 2)


def test_images_beside_their_xml_in_subfolders(tmp_path, capsys):
    """labelImg / Roboflow layout: export/train/a.jpg beside a.xml, whose
    <filename> names no folder; the folder itself is given."""
    for split in ("train", "valid"):
        _image(tmp_path / "export" / split / f"{split}_0.jpg")
        _xml(tmp_path / "export" / split / f"{split}_0.xml",
             f"{split}_0.jpg", [("cat", 0)])
    annotations = read_voc_annotations(str(tmp_path / "export"))
    assert [a.image_path for a in annotations] == [
        str(tmp_path / "export" / "train" / "train_0.jpg"),
        str(tmp_path / "export" / "valid" / "valid_0.jpg")]
    assert "2 of the 2 .xml files are in subfolders" in (
        capsys.readouterr().err)
    _, records, _ = convert_and_read(annotations, tmp_path / "out")
    assert len(records) == 2
