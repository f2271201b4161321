"""The Model Garden Faster R-CNN on records as the TF OD API tutorials'
`generate_tfrecord.py` writes them (file name as source_id, b'jpg', no
is_crowd or area, label ids 2, 5, 9), and with source_id empty or missing:
the decoder's ids, the validation inputs through Model Garden's parser and
COCO evaluator, the duplicate-id check, and (slow) garden-train, compare's
predictions and a tf_example export."""

import numpy as np
import pytest

pytest.importorskip("official.vision")

import tensorflow as tf  # noqa: E402
from official.core import task_factory  # noqa: E402
from official.vision.dataloaders import tf_example_decoder  # noqa: E402
from official.vision.evaluation import coco_evaluator  # noqa: E402
from official.vision.tasks import maskrcnn  # noqa: E402

from keras_boxloss.data.generated import generate_image  # noqa: E402
from keras_boxloss.model_garden import decoder  # noqa: E402
from keras_boxloss.model_garden import registry_imports  # noqa: E402,F401
from tests.data.tutorial_records import (  # noqa: E402
    LABEL_MAP, LABEL_MAP_TEXT, SHAPE_NAMES, tutorial_example,
    write_tutorial_records)
from tests.model_garden.conftest import small_params  # noqa: E402

NUM_CLASSES = max(LABEL_MAP) + 1  # ids 2, 5, 9 + background
EMPTY = tf.train.Feature(bytes_list=tf.train.BytesList(value=[b""]))


def _bytes(value):
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))


def _examples(count, seed, replaces, image_size=128, start=0):
    """`count` tutorial examples (serialized, with their file names);
    `replaces[n]` (if any) is record n's `replace`."""
    rng = np.random.default_rng(seed)
    out = []
    for n in range(count):
        pixels, boxes, classes = generate_image(rng, image_size)
        names = [SHAPE_NAMES[int(c)] for c in classes]
        filename = f"img_{start + n:03d}.jpg"
        example = tutorial_example(pixels, boxes, names, filename,
                                   replace=replaces.get(n))
        out.append((example.SerializeToString(), filename))
    return out


def _write(path, examples):
    with tf.io.TFRecordWriter(str(path)) as writer:
        for serialized, _ in examples:
            writer.write(serialized)
    return str(path)


# decoder

def test_ids_numeric_stay_numbers_names_hash_stably_above_them():
    ids = decoder.name_to_id(["397133", "0", "img_001.jpg", "img_002.jpg",
                              "1234567890123456789", "-3"]).numpy()
    assert ids[:2].tolist() == [397133, 0]
    assert (ids[2:] >= decoder.HASHED_IDS_START).all()  # 19 digits: a name
    assert len(set(ids.tolist())) == len(ids)
    # Fingerprint64: the same id in every process and TF version
    assert ids[2] == 5994024106639672109


@pytest.mark.parametrize("replace, key", [
    ({}, b"img_000.jpg"),                                  # the tutorial's
    ({"image/source_id": None}, b"img_000.jpg"),           # missing
    ({"image/source_id": EMPTY, "image/format": None}, b"img_000.jpg"),
    ({"image/format": _bytes(b"png")}, b"img_000.jpg"),    # JPEG bytes
    ({"image/source_id": _bytes(b"17")}, b"17"),           # numeric
    ({"image/source_id": None, "image/filename": None}, b""),
])
def test_decoder_reads_tutorial_records_and_their_variants(replace, key):
    (serialized, _), = _examples(1, 0, {0: replace})
    out = decoder.AnyIdDecoder().decode(tf.constant(serialized))
    assert out["source_key"].numpy() == key
    assert out["source_id"].dtype == tf.int64
    if key:
        assert out["source_id"].numpy() == decoder.name_to_id(key).numpy()
    else:  # the image bytes' hash, in the hashed range
        assert out["source_id"].numpy() >= decoder.HASHED_IDS_START
    assert set(out["groundtruth_classes"].numpy()) <= set(LABEL_MAP)
    assert not out["groundtruth_is_crowd"].numpy().any()
    assert (out["groundtruth_area"].numpy() > 0).all()  # from the boxes
    assert out["image"].shape[-1] == 3


@pytest.mark.parametrize("fmt", ["GIF", "BMP"])
def test_gif_and_bmp_records_decode_to_their_pixels(fmt):
    """Records may hold GIF or BMP images (image/format says so, or not):
    a GIF decodes to its first frame, 3-D (Model Garden's own decode gives
    4-D, which its pipeline rejects)."""
    import io

    from PIL import Image

    pixels = np.zeros((20, 30, 3), np.uint8)
    pixels[5:15, 10:20] = (200, 0, 0)  # two colours: GIF's palette is exact
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt)
    (serialized, _), = _examples(1, 0, {0: {
        "image/encoded": _bytes(buffer.getvalue()),
        "image/format": _bytes(fmt.lower().encode()),
        "image/height": None, "image/width": None}})
    # the mixin both decoders share
    out = decoder.AnyIdDecoder().decode(tf.constant(serialized))
    np.testing.assert_array_equal(out["image"].numpy(), pixels)


def test_model_gardens_own_decoder_needs_the_source_id():
    # why the task has its own decoder
    (serialized, _), = _examples(1, 0, {0: {"image/source_id": None}})
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match="image/source_id"):
        tf_example_decoder.TfExampleDecoder().decode(tf.constant(serialized))


# the task's validation inputs, Model Garden's COCO evaluator

@pytest.fixture(scope="module")
def tutorial_split(tmp_path_factory):
    """4 val records: file-name source_ids, but record 1 lacks it and
    record 2 has it empty and no format."""
    folder = tmp_path_factory.mktemp("garden_tutorial")
    examples = _examples(4, 1, {1: {"image/source_id": None},
                                2: {"image/source_id": EMPTY,
                                    "image/format": None}}, start=100)
    path = _write(folder / "test.record", examples)
    return path, [name for _, name in examples]


def test_validation_inputs_reach_the_coco_evaluator_by_file_name(
        tutorial_split):
    path, names = tutorial_split
    params = small_params({"train": path, "val": path},
                          model={"num_classes": NUM_CLASSES})
    task = task_factory.get_task(params.task)
    dataset = task.build_inputs(params.task.validation_data)
    _, labels = next(iter(dataset))  # Model Garden's own parser
    truths = labels["groundtruths"]
    assert truths["source_id"].numpy().tolist() == (
        decoder.name_to_id(names).numpy().tolist())
    # predictions = the ground truth, in the resized image's pixels
    scale = labels["image_info"][:, 2:3, :].numpy()
    boxes = truths["boxes"].numpy() * np.tile(scale, (1, 1, 2))
    count = truths["num_detections"].numpy()
    scores = (np.arange(boxes.shape[1])[None] < count[:, None]).astype(
        np.float32)
    evaluator = coco_evaluator.COCOEvaluator(annotation_file="",
                                             include_mask=False)
    evaluator.update_state(truths, {
        "source_id": truths["source_id"], "image_info": labels["image_info"],
        "detection_boxes": tf.constant(boxes),
        "detection_scores": tf.constant(scores),
        "detection_classes": truths["classes"],
        "num_detections": tf.constant(count)})
    metrics = evaluator.result()
    assert metrics["AP"] == pytest.approx(1.0)


def test_inputs_of_numeric_id_records_are_model_gardens_own(
        generated_records):
    # our build_inputs is MaskRCNNTask's with another decoder: same tensors
    params = small_params(generated_records)
    ours = task_factory.get_task(params.task)
    stock = maskrcnn.MaskRCNNTask(params.task)
    data = params.task.validation_data
    got = next(iter(ours.build_inputs(data)))
    want = next(iter(stock.build_inputs(data)))
    tf.nest.map_structure(np.testing.assert_array_equal, got, want)
    assert (want[1]["groundtruths"]["source_id"].numpy() > 0).all()


def test_two_images_with_one_name_are_an_error_naming_both(tmp_path):
    examples = _examples(3, 2, {2: {"image/source_id": None,
                                    "image/filename": _bytes(b"img_000.jpg")
                                    }})
    path = _write(tmp_path / "test.record", examples)
    params = small_params({"train": path, "val": path},
                          model={"num_classes": NUM_CLASSES})
    task = task_factory.get_task(params.task)
    with pytest.raises(ValueError) as error:
        task.build_inputs(params.task.validation_data)
    message = str(error.value)
    assert "Received: x='img_000.jpg'" in message
    assert f"{path} record 0 and in {path} record 2" in message
    task.build_inputs(params.task.train_data)  # training: no check


def test_numbers_written_two_ways_are_one_id(tmp_path):
    examples = _examples(2, 3, {0: {"image/source_id": _bytes(b"7")},
                                1: {"image/source_id": _bytes(b"007")}})
    path = _write(tmp_path / "test.record", examples)
    with pytest.raises(ValueError, match="names '7' and '007' give the same"
                       " id; rename one"):
        decoder.check_unique_ids([path])
    assert decoder.check_unique_ids([path], regenerate_source_id=True) == 2


def test_a_source_id_that_is_not_a_string_is_an_error_naming_the_record(
        tmp_path):
    number = tf.train.Feature(int64_list=tf.train.Int64List(value=[7]))
    examples = _examples(3, 4, {1: {"image/source_id": number}})
    path = _write(tmp_path / "test.record", examples)
    with pytest.raises(ValueError,
                       match=f"Received: x={path} record 1: .*source_id"):
        decoder.check_unique_ids([path])


def _labels(values):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=values))


def test_labels_are_checked_before_model_garden_reads_them(tmp_path):
    """Model Garden would train a box of class 0 as background and one of
    class >= num_classes as no class, silently: both are errors naming the
    record, for training data too, and `class/text` is checked against the
    label map beside the records."""
    pixels = np.full((64, 64, 3), 90, np.uint8)

    def task_and_data(name, replaces, label_map=None, num_classes=10):
        """3 records, a rectangle (id 2) and a triangle (id 9) each."""
        folder = tmp_path / name
        folder.mkdir()
        examples = [(tutorial_example(
            pixels, [[4, 4, 30, 30], [32, 32, 60, 60]],
            ["rectangle", "triangle"], f"img_{n}.jpg", replaces.get(n)
        ).SerializeToString(), None) for n in range(3)]
        path = _write(folder / "train.record", examples)
        if label_map:
            (folder / "label_map.pbtxt").write_text(label_map)
        params = small_params({"train": path, "val": path},
                              model={"num_classes": num_classes})
        return task_factory.get_task(params.task), params.task, path

    # a script counting classes from 0 (class_text_to_int a list index)
    task, config, path = task_and_data("zero", {1: {
        "image/object/class/label": _labels([0, 8]),
        "image/object/class/text": None}})
    with pytest.raises(ValueError, match=f"label 0 in {path} record 1 "
                       r"object 0; ids counted from 0"):
        task.build_inputs(config.train_data)
    # ids beyond what the model has slots for: 9 needs num_classes >= 10
    task, config, path = task_and_data("small", {}, num_classes=9)
    with pytest.raises(ValueError, match=r"Expected task.model.num_classes "
                       r"> 9, the largest class id in the data \(" + path
                       + r" record 0 object 1\); .* Received: "
                       r"task.model.num_classes=9"):
        task.build_inputs(config.validation_data)
    # a text naming no label of the label map beside the records
    task, config, path = task_and_data("text", {}, LABEL_MAP_TEXT.replace(
        "name: 'rectangle'", "name: 'square'").replace(
        "'Rectangle (box)'", "'Square'"))
    with pytest.raises(ValueError, match=r"label 2 \('square' there\) "
                       f"with text 'rectangle' in {path} record 0 object 0"):
        task.build_inputs(config.train_data)
    # ... or task.label_map names (what a pipeline.config's import sets)
    elsewhere = tmp_path / "elsewhere.pbtxt"
    elsewhere.write_text(LABEL_MAP_TEXT.replace("id: 9", "id: 3"))
    with pytest.raises(ValueError, match=r"elsewhere.pbtxt \[2, 3, 5\]\. "
                       f"Received: label 9 in {path} record 0 object 1"):
        decoder.check_labels([path], 10, str(elsewhere))
    params = small_params({"train": path, "val": path},
                          model={"num_classes": 10},
                          label_map=str(elsewhere))
    with pytest.raises(ValueError, match="elsewhere.pbtxt"):
        task_factory.get_task(params.task).build_inputs(
            params.task.train_data)
    params.override({"task": {"label_map": str(tmp_path / "none.pbtxt")}})
    with pytest.raises(ValueError, match=r"Expected task.label_map to name "
                       r"a label map file. Received: task.label_map=.*"
                       r"none.pbtxt' \(no such file\)"):
        task_factory.get_task(params.task).build_inputs(
            params.task.train_data)
    # label_map_decoder reads classes from class/text (its CSV): not checked
    params.override({"task": {"label_map": "", "train_data": {"decoder": {
        "type": "label_map_decoder", "label_map_decoder": {
            "label_map": str(tmp_path / "map.csv")}}}}})
    (tmp_path / "map.csv").write_text("2,rectangle\n9,triangle\n")
    task_factory.get_task(params.task).build_inputs(params.task.train_data)
    # the same records, with their own label map and enough classes: read,
    # also from a folder whose name is a glob, beside a gs:// file
    task, config, path = task_and_data("fine[1]", {}, LABEL_MAP_TEXT)
    assert decoder.check_labels([path], 10)["num_records"] == 3
    task.build_inputs(config.train_data)
    assert decoder.check_labels(["gs://bucket/train.record"], 10) is None
    assert decoder.check_labels(["gs://bucket/train.record", path],
                                10)["num_records"] == 3


def test_compressed_records_are_left_to_model_garden(tmp_path,
                                                     monkeypatch):
    """Our checks read plain TFRecords: gzip-compressed ones
    (file_type tfrecord_compressed) would be misread, so Model Garden reads
    them unchecked, as documented (docs/reliability.md)."""
    path = str(tmp_path / "val.record.gz")
    with tf.io.TFRecordWriter(path, options="GZIP") as writer:
        for serialized, _ in _examples(2, 5, {}):
            writer.write(serialized)

    def unexpected(*args):
        raise AssertionError(f"checked compressed records: {args}")

    monkeypatch.setattr(decoder, "check_labels", unexpected)
    monkeypatch.setattr(decoder, "check_unique_ids", unexpected)
    params = small_params({"train": path, "val": path},
                          model={"num_classes": NUM_CLASSES})
    params.override({"task": {"validation_data": {
        "file_type": "tfrecord_compressed", "global_batch_size": 2}}})
    task = task_factory.get_task(params.task)

    _, labels = next(iter(task.build_inputs(params.task.validation_data)))

    classes = labels["groundtruths"]["classes"].numpy()
    assert classes.shape[0] == 2 and set(classes[classes > 0]) <= {2, 5, 9}


def test_a_label_scan_is_done_once_per_process_until_the_files_change(
        tmp_path, monkeypatch):
    """compare starts Model Garden's trainer for every chunk of a run: the
    same files, label map and num_classes are not scanned again."""
    from keras_boxloss.data import records

    path = _write(tmp_path / "train.record", _examples(2, 6, {}))
    scans = []

    def counting(*args):
        scans.append(args[0])
        return real(*args)

    real = records.scan_labels
    monkeypatch.setattr(records, "scan_labels", counting)
    first = decoder.check_labels([path], 10)
    assert decoder.check_labels([path], 10) == first and len(scans) == 1
    decoder.check_labels([path], 11)  # another num_classes: scanned
    assert len(scans) == 2
    _write(path, _examples(3, 6, {}))  # rewritten: scanned again
    assert decoder.check_labels([path], 10)["num_records"] == 3
    assert len(scans) == 3


# end to end (slow)

@pytest.fixture(scope="module")
def tutorial_data(tmp_path_factory):
    """8 train records (one without source_id, one with neither source_id
    nor filename, one without format) and the 4 val records of
    `tutorial_split`'s kind, with the tutorial label map."""
    folder = tmp_path_factory.mktemp("garden_tutorial_run")
    train = _write(folder / "train.record", _examples(8, 0, {
        0: {"image/source_id": None},
        1: {"image/source_id": None, "image/filename": None},
        2: {"image/format": None}}))
    val = folder / "test.record"
    written = write_tutorial_records(val, 4, seed=1, image_size=128,
                                     start=100)
    (folder / "label_map.pbtxt").write_text(LABEL_MAP_TEXT)
    return {"train": train, "val": str(val),
            "label_map": str(folder / "label_map.pbtxt"),
            "names": [name for name, _, _ in written]}


@pytest.mark.slow  # a 2-step train_and_eval, predictions, an export
def test_garden_train_compare_predictions_and_export_on_tutorial_records(
        tutorial_data, tmp_path):
    from keras_boxloss.cli.main import main
    from keras_boxloss.compare import garden_runner
    from keras_boxloss.data.label_map import read_label_map
    from keras_boxloss.data.records import read_records
    from keras_boxloss.evaluation.evaluate import evaluate_detections
    from tests.model_garden.conftest import SMALL_CONFIG

    override = ",".join(f"{key}={value}" for key, value in {
        "task.train_data.input_path": tutorial_data["train"],
        "task.validation_data.input_path": tutorial_data["val"],
        "task.model.num_classes": NUM_CLASSES,
        "trainer.train_steps": 2, "trainer.steps_per_loop": 2,
        "trainer.summary_interval": 2, "trainer.checkpoint_interval": 2,
        "trainer.validation_interval": 2,
        "trainer.validation_steps": 1}.items())
    flags = ["--experiment=fasterrcnn_resnetfpn_boxloss",
             f"--config_file={SMALL_CONFIG}",
             f"--params_override={override}"]
    model_dir = tmp_path / "run"
    assert main(["garden-train", *flags, "--mode=train_and_eval",
                 f"--model_dir={model_dir}"]) == 0
    assert (model_dir / "ckpt-2.index").exists()
    assert list((model_dir / "validation").iterdir())  # COCO AP summaries

    # compare's predictions and evaluation name images by file name
    from keras_boxloss.model_garden.export import load_params

    params = load_params("fasterrcnn_resnetfpn_boxloss",
                         [str(SMALL_CONFIG)], override)
    predictions = garden_runner.predict(params, str(model_dir),
                                        tutorial_data["val"])
    assert [p["source_id"] for p in predictions] == tutorial_data["names"]
    metrics = evaluate_detections(
        list(read_records(tutorial_data["val"])), predictions,
        read_label_map(tutorial_data["label_map"]))
    assert 0.0 <= metrics["AP50"] <= 1.0

    # a tf_example export serves a tutorial record without source_id
    export_dir = tmp_path / "export"
    assert main(["garden-export", *flags, f"--checkpoint_path={model_dir}",
                 f"--export_dir={export_dir}",
                 "--input_type=tf_example"]) == 0
    served = tf.saved_model.load(str(export_dir / "saved_model"))
    (serialized, _), = _examples(1, 5, {0: {"image/source_id": None,
                                            "image/format": None}})
    out = served(tf.constant([serialized]))
    boxes = out["detection_boxes"].numpy()
    assert boxes.shape[0] == 1 and boxes.shape[2] == 4
    assert (0 <= boxes).all() and (boxes <= 1).all()
