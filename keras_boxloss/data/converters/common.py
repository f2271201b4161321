"""Helpers the annotation readers share."""

import os


def number(text, where):
    """`float(text)`, or ValueError naming `where`."""
    try:
        return float(text)
    except (TypeError, ValueError):
        raise ValueError(f"Expected a number for {where}. Received: "
                         f"{text!r}") from None


def guess_images_dir(annotations_path, candidates):
    """The first existing `candidates` folder next to `annotations_path`'s
    folder (its siblings), else that folder itself."""
    folder = os.path.dirname(os.path.abspath(annotations_path))
    for name in candidates:
        path = os.path.join(os.path.dirname(folder), name)
        if os.path.isdir(path):
            return path
    return folder
