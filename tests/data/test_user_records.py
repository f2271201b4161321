"""Records as users write them (the OD API tutorial's generate_tfrecord.py
and variations): read, checked against the label map, decoded, keyed."""

import numpy as np
import pytest

from keras_boxloss.data.label_map import parse_label_map
from keras_boxloss.data.records import (from_tf_example, image_keys,
                                        read_records, scan_labels)
from tests.data.tutorial_records import (LABEL_MAP, LABEL_MAP_TEXT,
                                         tutorial_example,
                                         write_tutorial_records)

# 40 x 60 image, pixel xyxy boxes
PIXELS = np.full((40, 60, 3), 128, np.uint8)
BOXES = [[6, 4, 30, 20], [30, 10, 60, 40]]


def _example(names=("rectangle", "triangle"), filename="a.jpg", **replace):
    return tutorial_example(PIXELS, BOXES, list(names), filename, replace)


def _write(path, examples):
    import tensorflow as tf

    with tf.io.TFRecordWriter(str(path)) as writer:
        for example in examples:
            writer.write(example.SerializeToString())
    return str(path)


def test_tutorial_record_reads_with_defaults_worked_out():
    record = from_tf_example(_example().SerializeToString(), "f record 0")
    assert (record.source_id, record.filename) == ("a.jpg", "a.jpg")
    assert record.image_format == "jpeg"
    # yxyx normalised: [4/40, 6/60, 20/40, 30/60], [10/40, 30/60, 1, 1]
    np.testing.assert_allclose(record.boxes, [[0.1, 0.1, 0.5, 0.5],
                                              [0.25, 0.5, 1.0, 1.0]],
                               rtol=1e-6)
    assert record.classes.tolist() == [2, 9]
    assert record.class_names == ["rectangle", "triangle"]
    # not in the record: area from the boxes in pixels, no crowd/difficult
    np.testing.assert_allclose(record.area, [24 * 16, 30 * 30], rtol=1e-5)
    assert record.is_crowd.tolist() == [0, 0]
    assert record.difficult.tolist() == [0, 0]


@pytest.mark.parametrize("fmt, expected", [
    (b"jpg", "jpeg"), (b"JPEG", "jpeg"), (b"png", "png"), (b"BMP", "bmp"),
    (b"gif", "gif"), (None, "jpeg")])
def test_image_format_variants(fmt, expected):
    import tensorflow as tf

    feature = None if fmt is None else tf.train.Feature(
        bytes_list=tf.train.BytesList(value=[fmt]))
    record = from_tf_example(_example(**{"image/format": feature}))
    assert record.image_format == expected


def test_unknown_image_format_names_the_record():
    import tensorflow as tf

    tiff = tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"tiff"]))
    with pytest.raises(ValueError, match=r"image/format one of .* in "
                                         r"x.record record 3"):
        from_tf_example(_example(**{"image/format": tiff}),
                        "x.record record 3")


def test_a_missing_image_size_is_read_from_the_image():
    """The OD API takes the decoded image's shape; some scripts write no
    image/height and image/width."""
    record = from_tf_example(_example(**{"image/height": None,
                                         "image/width": None}), "r record 0")
    assert (record.height, record.width) == PIXELS.shape[:2]
    with pytest.raises(ValueError, match=r"one value for 'image/width' in "
                                         r"r record 0"):
        from_tf_example(_example(**{"image/width": None}), "r record 0")
    with pytest.raises(ValueError, match=r"an image whose size can be "
                                         r"read, in r record 0"):
        import tensorflow as tf

        garbage = tf.train.Feature(bytes_list=tf.train.BytesList(
            value=[b"not an image"]))
        from_tf_example(_example(**{"image/height": None,
                                    "image/width": None,
                                    "image/encoded": garbage}), "r record 0")


@pytest.mark.parametrize("key", ["image/source_id", "image/filename",
                                 "image/format", "image/encoded",
                                 "image/object/class/text"])
def test_a_number_where_a_string_belongs_names_key_and_record(key):
    """A script that writes `int64_list` for a string feature (a numeric
    source_id): an error naming the key, the record and what it found,
    not a traceback from `.decode`."""
    import tensorflow as tf

    number = tf.train.Feature(int64_list=tf.train.Int64List(value=[7]))
    example = _example(**{key: number}).SerializeToString()
    with pytest.raises(ValueError) as error:
        from_tf_example(example, "f record 3")
    message = str(error.value)
    assert f"Expected {key!r} as strings (a bytes_list) in f record 3" \
        in message
    assert "Received: int64_list [7]" in message


def test_train_s_label_scan_names_a_number_class_text_too(tmp_path):
    """`train` scans labels with tf.io.parse_example, which fails on the
    type: the record is named with the same message, not "corrupt"."""
    import tensorflow as tf

    number = tf.train.Feature(int64_list=tf.train.Int64List(value=[7, 8]))
    path = _write(tmp_path / "n.record", [
        _example(), _example(**{"image/object/class/text": number})])
    with pytest.raises(ValueError) as error:
        scan_labels(path)
    assert str(error.value).startswith(
        f"Expected 'image/object/class/text' as strings (a bytes_list) in "
        f"{path} record 1. Received: int64_list [7, 8]")


def test_optional_features_and_keys(tmp_path):
    path = _write(tmp_path / "u.record", [
        _example(filename="a.jpg"),
        _example(filename="b.jpg", **{"image/source_id": None}),
        _example(filename="", **{"image/source_id": None,
                                 "image/filename": None,
                                 "image/object/class/text": None}),
    ])
    records = list(read_records(path))
    assert [r.source_id for r in records] == ["a.jpg", "", ""]
    assert image_keys(records) == ["a.jpg", "b.jpg", "record 2"]
    assert records[2].class_names == ["", ""]


def test_duplicate_keys_name_both_records(tmp_path):
    path = _write(tmp_path / "d.record", [
        _example(filename="a.jpg"), _example(filename="b.jpg"),
        _example(filename="a.jpg")])
    with pytest.raises(ValueError, match=r"'a.jpg' for .*d.record record 0 "
                                         r"and .*d.record record 2"):
        image_keys(list(read_records(path)))


def test_scan_accepts_non_contiguous_ids_and_display_names(tmp_path):
    path = tmp_path / "t.record"
    written = write_tutorial_records(path, 5, seed=3)
    label_map = parse_label_map(LABEL_MAP_TEXT)
    assert label_map == LABEL_MAP
    summary = scan_labels(str(path), label_map)
    ids = {name: i for i, name in LABEL_MAP.items()}
    assert summary.pop("max_where").startswith(f"{path} record ")
    assert summary == {
        "num_records": 5, "num_boxes": sum(len(w[2]) for w in written),
        "max_label": max(ids[n] for w in written for n in w[2])}
    # class/text may also be the display name
    display = _example(names=("rectangle",))
    display.features.feature["image/object/class/text"].bytes_list.value[
        0] = b"Rectangle (box)"
    del display.features.feature["image/object/bbox/xmin"].float_list.value[1:]
    for side in ("xmax", "ymin", "ymax"):
        del display.features.feature[
            f"image/object/bbox/{side}"].float_list.value[1:]
    # in one file beside the name: both are label 2's own text, as the OD
    # API's decoder looks either up
    both = _write(tmp_path / "d.record", [_example(), display])
    scan_labels(both, label_map)
    from keras_boxloss.data.records import check_record_labels
    check_record_labels(list(read_records(both)), label_map)


def test_an_empty_class_text_among_others_counts_as_a_text(tmp_path):
    """[b'rectangle', b''] for two boxes: two texts, the empty one says
    nothing (it used to be dropped, and the error counted one text)."""
    from keras_boxloss.data.records import check_record_labels

    example = _example()
    example.features.feature["image/object/class/text"].bytes_list.value[
        1] = b""
    record = from_tf_example(example, "e.record record 0")
    checker = check_record_labels([record], parse_label_map(LABEL_MAP_TEXT))
    assert (checker.num_records, checker.num_boxes) == (1, 2)
    scan_labels(_write(tmp_path / "e.record", [example]),
                parse_label_map(LABEL_MAP_TEXT))


def test_text_disagreeing_with_label_and_map_is_an_error(tmp_path):
    example = _example()
    # label 2 is 'rectangle' in the map; the text says 'ellipse' (id 5)
    example.features.feature["image/object/class/text"].bytes_list.value[
        0] = b"ellipse"
    path = _write(tmp_path / "m.record", [_example(), example])
    with pytest.raises(ValueError, match=r"label 2 \('rectangle' there\) "
                       r"with text 'ellipse' in .*m.record record 1 object "
                       r"0 \('ellipse' is id 5 there\)"):
        scan_labels(path, parse_label_map(LABEL_MAP_TEXT), "l.pbtxt")
    # without a label map: the same label with two texts
    with pytest.raises(ValueError, match=r"label 2 is 'rectangle' in "
                       r".*m.record record 0 object 0 and 'ellipse' in "
                       r".*m.record record 1 object 0"):
        scan_labels(path)
    # and the Python reader's check (evaluate) says the same
    from keras_boxloss.data.records import check_record_labels
    with pytest.raises(ValueError, match=r"record 1 object 0"):
        check_record_labels(list(read_records(path)),
                            parse_label_map(LABEL_MAP_TEXT))


def test_label_outside_the_map_and_missing_labels(tmp_path):
    import tensorflow as tf

    seven = tf.train.Feature(int64_list=tf.train.Int64List(value=[2, 7]))
    path = _write(tmp_path / "o.record", [
        _example(**{"image/object/class/label": seven,
                    "image/object/class/text": None})])
    with pytest.raises(ValueError, match=r"ids of the label map \[2, 5, 9\]"
                       r"\. Received: label 7 in .*o.record record 0 object "
                       r"1"):
        scan_labels(path, parse_label_map(LABEL_MAP_TEXT))
    path = _write(tmp_path / "n.record", [
        _example(**{"image/object/class/label": None})])
    with pytest.raises(ValueError, match=r"one image/object/class/label per "
                       r"box in .*n.record record 0. Received: 2 boxes, 0 "
                       r"labels; the record names its classes by class/text "
                       r"only, .* write class/label too"):
        scan_labels(path)


def test_pipeline_decodes_tutorial_records(tmp_path):
    from keras_boxloss.data.pipeline import make_dataset

    path = _write(tmp_path / "p.record", [
        _example(filename="a.jpg"),
        _example(filename="b.jpg", **{"image/format": None,
                                      "image/source_id": None})])
    batch = next(iter(make_dataset(str(path), batch_size=2,
                                   image_size=(40, 60))))
    assert batch["source_id"].numpy().tolist() == [b"a.jpg", b""]
    assert batch["filename"].numpy().tolist() == [b"a.jpg", b"b.jpg"]
    np.testing.assert_allclose(batch["bounding_boxes"]["boxes"][0, :2],
                               [[0.1, 0.1, 0.5, 0.5], [0.25, 0.5, 1, 1]],
                               rtol=1e-6)
    assert batch["bounding_boxes"]["classes"][1, :3].numpy().tolist() == [
        2, 9, -1]


def test_zero_based_labels_say_how_to_fix_the_script(tmp_path):
    """Community generate_tfrecord.py variants return a list index (from 0)
    from class_text_to_int: the error says so, with and without a label
    map, and gives the id the box's class/text has in the label map."""
    import tensorflow as tf

    zero = tf.train.Feature(int64_list=tf.train.Int64List(value=[0, 2]))
    path = _write(tmp_path / "z.record", [
        _example(**{"image/object/class/label": zero,
                    "image/object/class/text": None})])
    hint = (r"Ids counted from 0 \(a generate_tfrecord.py whose "
            r"class_text_to_int returns a list index\)\? Write the label "
            r"map's ids \(from 1\) into class/label")
    with pytest.raises(ValueError, match=r"Received: label 0 in .*z.record "
                       r"record 0 object 0; id 0 is the background.*" + hint
                       + "$"):
        scan_labels(path, parse_label_map(LABEL_MAP_TEXT))
    with pytest.raises(ValueError, match=r"ids >= 1 .*label 0 .*object 0; "
                       r"i" + hint[1:]):
        scan_labels(path)
    # with its class/text: the id the label map gives it
    path = _write(tmp_path / "t.record", [
        _example(**{"image/object/class/label": zero})])
    with pytest.raises(ValueError, match=hint + r": the box's class/text "
                       r"'rectangle' is id 2 there \(the OD API, given a "
                       r"label map, reads class/text"):
        scan_labels(path, parse_label_map(LABEL_MAP_TEXT))
    # a label that is wrong but not 0 gets no such hint
    seven = tf.train.Feature(int64_list=tf.train.Int64List(value=[7, 2]))
    path = _write(tmp_path / "s.record", [
        _example(**{"image/object/class/label": seven,
                    "image/object/class/text": None})])
    with pytest.raises(ValueError) as error:
        scan_labels(path, parse_label_map(LABEL_MAP_TEXT))
    assert "class_text_to_int" not in str(error.value)
