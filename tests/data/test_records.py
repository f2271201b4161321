import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from keras_boxloss.data.generated import generate_records
from keras_boxloss.data.records import (DetectionRecord, from_tf_example,
                                        list_record_files, read_records,
                                        to_tf_example, write_records)


def _record(**overrides):
    values = dict(encoded=b"\x89PNG fake", image_format="png", height=30,
                  width=40, filename="a.png", source_id="12",
                  boxes=[[0.1, 0.2, 0.30000001, 0.7], [0.0, 0.0, 1.0, 1.0]],
                  classes=[2, 1], class_names=["dog", "cat"],
                  is_crowd=[0, 1])
    values.update(overrides)
    return DetectionRecord(**values)


def test_round_trip_is_exact_across_shards(tmp_path):
    records = generate_records(7, seed=5) + [_record(source_id="99")]
    paths = write_records(records, str(tmp_path), "train", num_shards=3)
    assert [p.rsplit("/", 1)[1] for p in paths] == [
        f"train-0000{i}-of-00003.tfrecord" for i in range(3)]
    back = {r.source_id: r for r in read_records(
        str(tmp_path / "train-*-of-*.tfrecord"))}
    assert sorted(back) == sorted(r.source_id for r in records)
    for record in records:
        got = back[record.source_id]
        assert np.array_equal(got.boxes, record.boxes)  # bit-exact
        assert got.boxes.dtype == np.float32
        assert np.array_equal(got.classes, record.classes)
        assert got.class_names == record.class_names
        assert np.array_equal(got.is_crowd, record.is_crowd)
        assert np.array_equal(got.area, record.area)
        assert (got.encoded, got.image_format, got.height, got.width,
                got.filename) == (record.encoded, record.image_format,
                                  record.height, record.width,
                                  record.filename)


def test_area_defaults_to_pixel_area():
    record = _record()
    np.testing.assert_allclose(record.area, [0.2 * 0.5 * 1200, 1200],
                               rtol=1e-5)


def test_model_garden_decoder_reads_the_records():
    tf_example_decoder = pytest.importorskip(
        "official.vision.dataloaders.tf_example_decoder")
    (record,) = generate_records(1, seed=1)
    serialized = to_tf_example(record).SerializeToString()
    decoded = tf_example_decoder.TfExampleDecoder().decode(serialized)
    assert decoded["source_id"].numpy() == record.source_id.encode()
    assert decoded["image"].shape == (record.height, record.width, 3)
    np.testing.assert_array_equal(decoded["groundtruth_boxes"].numpy(),
                                  record.boxes)
    np.testing.assert_array_equal(decoded["groundtruth_classes"].numpy(),
                                  record.classes)
    np.testing.assert_array_equal(decoded["groundtruth_area"].numpy(),
                                  record.area)


def test_bad_records_name_where():
    example = to_tf_example(_record())
    del example.features.feature["image/height"]
    with pytest.raises(ValueError, match="'image/height' in shard 3 record"):
        from_tf_example(example, where="shard 3 record 0")
    example = to_tf_example(_record())
    example.features.feature["image/object/bbox/xmin"].float_list.value.pop()
    with pytest.raises(ValueError, match="as many ymin, xmin"):
        from_tf_example(example.SerializeToString())


def test_bad_record_values():
    with pytest.raises(ValueError, match="image/format one of"):
        _record(image_format="tiff")
    with pytest.raises(ValueError, match="as many class labels"):
        _record(classes=[1])
    with pytest.raises(ValueError, match="positive integer num_shards"):
        write_records([], "/tmp", "x", num_shards=0)
    with pytest.raises(FileNotFoundError, match="No TFRecord files match"):
        list_record_files("/nonexistent/*.tfrecord")


def test_corrupt_file_is_a_value_error_naming_it(tmp_path):
    (path,) = write_records([_record()], str(tmp_path), "x")
    data = open(path, "rb").read()
    with open(path, "wb") as file:
        file.write(data[: len(data) // 2])
    with pytest.raises(ValueError, match="Corrupt TFRecord file .*x-00000"):
        list(read_records(path))


@settings(max_examples=30, deadline=None)
@given(hnp.arrays(np.float32, st.tuples(st.integers(0, 5), st.just(4)),
                  elements=st.floats(0, 1, width=32)))
def test_any_float32_boxes_survive_the_example_format(boxes):
    record = _record(boxes=boxes, classes=np.arange(len(boxes)) + 1,
                     class_names=["c"] * len(boxes), is_crowd=None)
    back = from_tf_example(to_tf_example(record).SerializeToString())
    assert np.array_equal(back.boxes, record.boxes)
    assert np.array_equal(back.area, record.area)


def test_image_format_is_optional_on_read():
    example = to_tf_example(_record())
    del example.features.feature["image/format"]
    assert from_tf_example(example).image_format == "png"


def test_a_file_cut_inside_a_record_header_is_a_value_error(tmp_path):
    # TensorFlow reads such a file as ending before that record, no error.
    (path,) = write_records([_record(), _record()], str(tmp_path), "x")
    data = open(path, "rb").read()
    with open(path, "wb") as file:
        file.write(data[:len(data) // 2 + 5])  # two records of equal size
    with pytest.raises(ValueError, match=r"Corrupt TFRecord file .*x-00000"
                                         r".*record 1 is truncated"):
        list(read_records(path))
