"""The JSON files of a comparison (`compare.json`, `curves.json`,
`metrics.json`, `summary.json`), read and written the same way by the loop
and by every runner."""

import json
import os
from typing import Any


def read_json(path: str) -> Any:
    with open(path) as file:
        return json.load(file)


def write_json(value: Any, path: str) -> None:
    """Writes through a temporary file, so a file is whole or absent."""
    with open(path + ".partial", "w") as file:
        json.dump(value, file, indent=1, sort_keys=True)
    os.replace(path + ".partial", path)


def load_curves(path: str) -> list[dict]:
    """A run's curve points (`[]` before its first point: a run not
    started, or interrupted before its first evaluation)."""
    if not os.path.exists(path):
        return []
    return read_json(path)
