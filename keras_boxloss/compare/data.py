"""`--data` of `compare` to the splits a comparison uses.

Accepted:
- nothing: the generated shapes dataset (train / val);
- a folder of TFRecords written by `keras-boxloss convert` (`train-*` and
  `test-*` or `val-*` shards, `label_map.pbtxt`);
- a Pascal VOC folder of `.xml` files, or CSV files (comma-separated), which
  are converted once into `<out>/data/` with a seeded 80/20 split;
- a TFRecord glob of the training split, with `eval_data` the held-out glob.

Models are evaluated on `test` when there is one, else `val`; training
curves use `val` when there is one (so the held-out test split is not the
one watched during training), else the evaluation split.
"""

import dataclasses
import glob
import os
import shutil


@dataclasses.dataclass(frozen=True)
class DataSplits:
    train: str              # records glob
    evaluation: str         # held-out records glob (Tables 2 and 3)
    curve: str              # records glob of the validation curves
    label_map: str | None   # .pbtxt path, None when unknown
    description: str

    def to_dict(self):
        return dataclasses.asdict(self)


def _split(folder, name):
    from keras_boxloss.data.records import records_glob

    pattern = records_glob(folder, name)
    return pattern if glob.glob(pattern) else None


def _from_records_folder(folder):
    from keras_boxloss.data.label_map import LABEL_MAP_FILE

    train = _split(folder, "train")
    test, val = _split(folder, "test"), _split(folder, "val")
    if not train or not (test or val):
        raise ValueError(
            f"Expected `data` {folder} to hold train-*.tfrecord and "
            f"test-*.tfrecord or val-*.tfrecord shards (`keras-boxloss "
            f"convert` output). Received: "
            f"{sorted(os.listdir(folder))[:8]}")
    label_map = os.path.join(folder, LABEL_MAP_FILE)
    return DataSplits(train, test or val, val or test,
                      label_map if os.path.isfile(label_map) else None,
                      f"records in {folder}")


def _convert(paths, fmt, out_dir, seed, images_dir=None):
    """Converts annotations once into `out_dir/data` (reused on resume);
    a split left empty (images not found, every box skipped) is an error."""
    from keras_boxloss.data import converters
    from keras_boxloss.data.conversion import convert_annotations
    from keras_boxloss.data.label_map import LABEL_MAP_FILE

    target = os.path.join(out_dir, "data")
    if not os.path.isfile(os.path.join(target, LABEL_MAP_FILE)):
        if fmt == "voc":
            annotations = converters.read_voc_annotations(paths[0],
                                                          images_dir)
        else:
            annotations = converters.read_csv_annotations(paths, images_dir)
        partial = target + ".partial"
        try:
            _, report = convert_annotations(
                annotations, partial, fractions={"train": 0.8, "val": 0.2},
                seed=seed, overwrite=True,  # a killed run's partial
                allow_empty_splits=True)  # _check_not_empty says more
            print(report.format_summary())
            _check_not_empty(partial, paths)
        except Exception:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        os.replace(target + ".partial", target)  # complete, or not there
    splits = _from_records_folder(target)
    return dataclasses.replace(
        splits, description=f"{fmt} annotations {','.join(paths)} "
                            f"converted to {target} (80/20 split, seed "
                            f"{seed})")


def _check_not_empty(folder, paths):
    from keras_boxloss.data.records import read_records

    for split in ("train", "val"):
        pattern = _split(folder, split)
        if pattern is None or next(iter(read_records(pattern)), None) is None:
            raise ValueError(
                f"Expected images in the {split} split converted from "
                f"{', '.join(paths)}. Received: none written (see the data "
                f"defects above; give `images_dir` if the images are "
                f"elsewhere)")


def prepare_data(data=None, out_dir=".", eval_data=None, seed=0,
                 cache_dir=None, images_dir=None):
    """The `DataSplits` of `data` (see the module docstring); `images_dir`:
    the images of VOC or CSV annotations when not in their usual place."""
    from keras_boxloss.data.resolve import resolve_records

    if not data:
        train, label_map = resolve_records(None, "train", cache_dir=cache_dir)
        val, _ = resolve_records(None, "val", cache_dir=cache_dir)
        return DataSplits(train, val, val, label_map,
                          "the generated shapes dataset")
    if eval_data:
        from keras_boxloss.data.records import list_record_files

        train, label_map = resolve_records(data)
        list_record_files(eval_data)  # no such records: an error naming it
        return DataSplits(train, eval_data, eval_data, label_map,
                          f"records {data} (eval: {eval_data})")
    if os.path.isdir(data):
        if glob.glob(os.path.join(glob.escape(data), "*.tfrecord")):
            return _from_records_folder(data)
        if glob.glob(os.path.join(glob.escape(data), "*.xml")):
            return _convert([data], "voc", out_dir, seed, images_dir)
        raise ValueError(f"Expected `data` {data} to hold .tfrecord or VOC "
                         f".xml files. Received: a folder with neither")
    paths = [path.strip() for path in data.split(",")]
    if all(path.lower().endswith(".csv") for path in paths):
        for path in paths:
            if not os.path.isfile(path):
                raise FileNotFoundError(f"No such CSV file {path}")
        return _convert(paths, "csv", out_dir, seed, images_dir)
    raise ValueError(
        f"Expected `data` to be a folder of TFRecords or VOC .xml files, "
        f"CSV files, or a TFRecord glob with `eval_data`. Received: "
        f"data={data!r}")
