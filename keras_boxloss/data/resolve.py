"""Which records and label map a command or a config means: the one
resolver of `--data`/`--label-map` (the CLI), `data.train`/`data.validation`
(training) and `compare`'s data.

- records given: those, and the label map given, else `label_map.pbtxt`
  beside the first record file when there is one;
- none given: the generated shapes dataset (written once into the cache,
  `keras_boxloss.data.generated.default_dataset`), its split and its label
  map.
"""

from __future__ import annotations

import os

from keras_boxloss.data.label_map import LABEL_MAP_FILE


def label_map_beside(pattern: str) -> str | None:
    """`label_map.pbtxt` beside the first record file of `pattern`, or
    `None` when there is none there. No record file matching `pattern` is
    an error naming it (`list_record_files`)."""
    from keras_boxloss.data.records import list_record_files

    beside = os.path.join(os.path.dirname(list_record_files(pattern)[0]),
                          LABEL_MAP_FILE)
    return beside if os.path.isfile(beside) else None


def generated_splits(cache_dir: str | None = None) -> dict:
    """The generated dataset's `{"train": glob, "val": glob, "label_map":
    path}`, written into `cache_dir` (default: the user cache) once."""
    from keras_boxloss.data.generated import default_dataset

    return default_dataset(cache_dir)


def resolve_records(data: str | None, split: str = "train",
                    label_map: str | None = None,
                    cache_dir: str | None = None) -> tuple[str, str | None]:
    """`(records glob, label map path or None)`.

    Args:
        data: a TFRecord glob (comma-separated globs), or `None`/"" for the
            generated dataset.
        split: the generated dataset's split when `data` is not given
            ("train" or "val").
        label_map: a `.pbtxt` path that overrides the one found.
        cache_dir: where the generated dataset is cached.
    """
    if data:
        return data, label_map or label_map_beside(data)
    paths = generated_splits(cache_dir)
    if split not in paths or split == "label_map":
        raise ValueError(f"Expected split to be one of "
                         f"{sorted(set(paths) - {'label_map'})}. Received: "
                         f"split={split!r}")
    return paths[split], label_map or paths["label_map"]
