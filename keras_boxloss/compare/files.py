"""The JSON files of a comparison (`compare.json`, `curves.json`,
`metrics.json`, `summary.json`), read and written the same way by the loop
and by every runner."""

import json
import os
from typing import Any

from keras_boxloss import atomic_files


def read_json(path: str) -> Any:
    with open(path) as file:
        return json.load(file)


def write_json(value: Any, path: str) -> None:
    """The comparison's JSON format (indent 1, sorted keys) in one place,
    written whole or not at all (`atomic_files.write_json`)."""
    atomic_files.write_json(path, value, indent=1, sort_keys=True)


def load_curves(path: str) -> list[dict]:
    """A run's curve points (`[]` before its first point: a run not
    started, or interrupted before its first evaluation)."""
    if not os.path.exists(path):
        return []
    return read_json(path)
