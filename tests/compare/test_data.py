import pytest

from keras_boxloss.compare.data import prepare_data


def _csv_dataset(folder, count=10):
    """`count` PNG images in `folder/images` and their boxes as CSV."""
    from PIL import Image

    (folder / "images").mkdir(parents=True)
    lines = ["filename,width,height,class,xmin,ymin,xmax,ymax"]
    for i in range(count):
        Image.new("RGB", (40, 30), (i * 20, 50, 90)).save(
            folder / "images" / f"im{i}.png")
        lines.append(f"im{i}.png,40,30,{'cat' if i % 2 else 'dog'},"
                     f"2,3,20,25")
    (folder / "boxes.csv").write_text("\n".join(lines) + "\n")
    return folder / "boxes.csv"


def test_no_data_is_the_generated_dataset(tmp_path):
    splits = prepare_data(None, str(tmp_path), cache_dir=str(tmp_path))
    assert "train-" in splits.train and "val-" in splits.evaluation
    assert splits.curve == splits.evaluation
    assert splits.label_map.endswith("label_map.pbtxt")


def test_csv_is_converted_once_with_a_seeded_split(tmp_path):
    csv = _csv_dataset(tmp_path / "src")
    out = tmp_path / "cmp"
    splits = prepare_data(str(csv), str(out),
                          images_dir=str(csv.parent / "images"))
    assert splits.train.startswith(str(out / "data"))
    assert "val-" in splits.evaluation  # no test split: val is held out
    from keras_boxloss.data.records import read_records

    train = {r.filename for r in read_records(splits.train)}
    held_out = {r.filename for r in read_records(splits.evaluation)}
    assert len(train) == 8 and len(held_out) == 2 and not train & held_out
    (csv.parent / "images" / "im0.png").unlink()  # not read again
    assert prepare_data(str(csv), str(out)) == splits


def test_conversion_that_writes_nothing_is_an_error(tmp_path):
    csv = _csv_dataset(tmp_path / "src")  # images not in a sibling images/
    with pytest.raises(ValueError, match="Expected images in the train "
                                         "split converted from .*boxes.csv"):
        prepare_data(str(csv), str(tmp_path / "cmp"))
    assert not (tmp_path / "cmp" / "data").exists()  # nothing half-done


def test_converted_folder_prefers_test_and_watches_val(tmp_path):
    from keras_boxloss.data.generated import write_generated_dataset

    write_generated_dataset(str(tmp_path), {"train": 2, "val": 2,
                                            "test": 2}, image_size=64)
    splits = prepare_data(str(tmp_path), str(tmp_path / "out"))
    assert "test-" in splits.evaluation and "val-" in splits.curve


def test_folder_without_a_held_out_split_is_an_error(tmp_path):
    from keras_boxloss.data.generated import write_generated_dataset

    write_generated_dataset(str(tmp_path), {"train": 2}, image_size=64)
    with pytest.raises(ValueError, match="test-\\*.tfrecord or val"):
        prepare_data(str(tmp_path), str(tmp_path / "out"))


@pytest.mark.parametrize("name", ["nothing_here", "boxes.txt"])
def test_unusable_data_names_the_argument(tmp_path, name):
    path = tmp_path / name
    if name.endswith(".txt"):
        path.write_text("x")
    else:
        path.mkdir()
    with pytest.raises(ValueError, match="Expected `data`"):
        prepare_data(str(path), str(tmp_path / "out"))


def test_glob_needs_existing_eval_records(tmp_path):
    from keras_boxloss.data.generated import write_generated_dataset

    paths = write_generated_dataset(str(tmp_path), {"train": 2, "val": 2},
                                    image_size=64)
    splits = prepare_data(paths["train"], "out", eval_data=paths["val"])
    assert splits.evaluation == paths["val"] and splits.label_map
    with pytest.raises(FileNotFoundError, match="nope"):
        prepare_data(paths["train"], "out", eval_data=str(tmp_path / "nope*"))
