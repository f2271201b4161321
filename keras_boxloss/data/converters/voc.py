"""Pascal VOC XML annotations (one `.xml` per image), as labelImg and CVAT
write them. Coordinates are taken as written (no 1-based shift) and
`<difficult>` is kept, like the TF OD API's `create_pascal_tf_record.py`."""

import glob
import os
import sys
import xml.etree.ElementTree as ElementTree

from keras_boxloss.data.cleaning import AnnotatedBox, Annotation
from keras_boxloss.data.converters.common import guess_images_dir, number


def parse_voc_xml(path, images_dir):
    """One VOC XML file as an `Annotation`; ValueError naming the file."""
    try:
        root = ElementTree.parse(path).getroot()
    except ElementTree.ParseError as error:
        raise ValueError(f"Bad VOC XML file {path}: {error}") from None
    filename = (root.findtext("filename") or "").strip()
    if not filename:
        raise ValueError(f"Expected a <filename> in {path}. Received: none")
    size = root.find("size")
    width = height = None
    if size is not None and size.findtext("width") is not None:
        width = int(number(size.findtext("width"), f"{path} <size><width>"))
        height = int(number(size.findtext("height"),
                            f"{path} <size><height>"))
        if width <= 0 or height <= 0:  # labelImg writes 0 when unknown
            width = height = None
    objects = []
    for index, element in enumerate(root.findall("object")):
        where = f"{path} object {index}"
        name = (element.findtext("name") or "").strip()
        box = element.find("bndbox")
        if not name or box is None:
            raise ValueError(f"Expected <name> and <bndbox> in {where}. "
                             f"Received: name={name!r}, bndbox="
                             f"{'present' if box is not None else 'missing'}")
        corners = [number(box.findtext(side), f"{where} <{side}>")
                   for side in ("xmin", "ymin", "xmax", "ymax")]
        difficult = (element.findtext("difficult") or "0").strip()
        objects.append(AnnotatedBox(
            name, *corners,
            difficult=int(number(difficult, f"{where} <difficult>") != 0)))
    return Annotation(filename=filename,
                      image_path=os.path.join(images_dir, filename),
                      objects=objects, width=width, height=height)


def read_voc_annotations(annotations_dir, images_dir=None):
    """Every `*.xml` in `annotations_dir` and its subfolders (CVAT's VOC
    export keeps a task's subfolders: `Annotations/cam1/frame_1.xml` with
    `<filename>cam1/frame_1.jpg`), sorted by path.

    Args:
        annotations_dir: the folder of XML files.
        images_dir: where the images are; `None` guesses a sibling
            `JPEGImages/` or `images/` folder.
    """
    pattern = os.path.join(glob.escape(os.fspath(annotations_dir)), "**",
                           "*.xml")
    paths = sorted(glob.glob(pattern, recursive=True))
    if not paths:
        raise FileNotFoundError(f"No .xml files in {annotations_dir}")
    if images_dir is None:
        images_dir = guess_images_dir(
            os.path.join(annotations_dir, "any.xml"), ("JPEGImages", "images"))
    annotations = [_beside(parse_voc_xml(path, images_dir), path,
                           annotations_dir, images_dir) for path in paths]
    nested = sum(os.path.dirname(p) != os.path.normpath(
        os.fspath(annotations_dir)) for p in paths)
    if nested:
        print(f"{annotations_dir}: note: {nested} of the {len(paths)} .xml "
              f"files are in subfolders (read too)", file=sys.stderr)
    return annotations


def _beside(annotation, xml_path, annotations_dir, images_dir):
    """Where `images_dir/<filename>` does not exist, the image in the same
    subfolder of `images_dir` as the XML in `annotations_dir`, or beside
    the XML (labelImg and Roboflow keep `train/a.jpg` by `train/a.xml`)."""
    if os.path.isfile(annotation.image_path):
        return annotation
    name = os.path.basename(annotation.filename)
    folder = os.path.relpath(os.path.dirname(xml_path), annotations_dir)
    for candidate in (os.path.join(images_dir, folder, name),
                      os.path.join(os.path.dirname(xml_path), name)):
        if os.path.isfile(candidate):
            annotation.image_path = candidate
            break
    return annotation
