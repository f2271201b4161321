"""Image files for prediction (JPEG, PNG, BMP, GIF, WebP): found from
paths, folders and globs, read as upright RGB (EXIF orientation applied;
greyscale, palette and RGBA converted; alpha dropped; 16-bit grey to its
high byte, as `tf.io.decode_image(channels=3)` does)."""

import glob
import os
from pathlib import Path

import numpy as np

from keras_boxloss.data.cleaning import to_rgb

# What `tf.io.decode_image` (the encoded-string exports) and PIL both read.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")
_PIL_FORMATS = ("JPEG", "MPO", "PNG", "BMP", "GIF", "WEBP")


def _is_image_name(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def _not_an_image(path) -> ValueError:
    return ValueError(f"Expected an image file ({', '.join(IMAGE_SUFFIXES)})"
                      f". Received: path={str(path)!r}")


def find_images(inputs, skipped: list | None = None) -> list:
    """The image files named by `inputs`, in order, each once.

    Args:
        inputs: file paths, folders (their image files, sorted, not
            recursive) and globs.
        skipped: if given, gets the files a folder or glob held that are
            not images (by suffix), so the caller can say so; a file named
            directly must be an image.

    Returns:
        A list of `Path`s.

    Raises:
        FileNotFoundError: a path that does not exist or a glob matching
            nothing.
        ValueError: a file without an image suffix, a folder or inputs
            without any image.
    """
    found = []
    for text in inputs:
        path = Path(text)
        if glob.has_magic(str(text)) and not path.exists():
            matches = [p for p in sorted(Path(p) for p in
                                         glob.glob(str(text))) if p.is_file()]
            images = [p for p in matches if _is_image_name(p)]
            if skipped is not None:
                skipped += [p for p in matches if not _is_image_name(p)]
            if not images:
                raise FileNotFoundError(
                    f"Expected image files matching the glob. Received: "
                    f"path={str(text)!r} matches no {'/'.join(IMAGE_SUFFIXES)}"
                    " file")
            found += images
        elif path.is_dir():
            files = sorted(p for p in path.iterdir() if p.is_file())
            images = [p for p in files if _is_image_name(p)]
            if skipped is not None:
                skipped += [p for p in files if not _is_image_name(p)]
            if not images:
                raise ValueError(
                    f"Expected a folder holding image files "
                    f"({', '.join(IMAGE_SUFFIXES)}). Received: "
                    f"path={str(text)!r} holds none")
            found += images
        elif path.is_file():
            if not _is_image_name(path):
                raise _not_an_image(path)
            found.append(path)
        else:
            raise FileNotFoundError(f"Expected an image file or folder. "
                                    f"Received: path={str(text)!r} does not "
                                    "exist")
    if not found:
        raise ValueError("Expected at least one image. Received: none")
    if skipped is not None:  # each file once, as the images
        skipped[:] = _each_file_once(skipped)
    return _each_file_once(found)


def _each_file_once(paths) -> list:
    """`paths` in order, without later names of a file already listed."""
    unique = {}
    for path in paths:
        unique.setdefault(os.path.realpath(path), path)
    return list(unique.values())


def read_image(path) -> np.ndarray:
    """The image at `path` as uint8 `[H, W, 3]` RGB, upright as its EXIF
    orientation says (as viewers show it, and as its boxes are meant).

    Raises:
        ValueError: a file that is not a readable image (`IMAGE_SUFFIXES`'
            formats; a GIF's first frame), naming it.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            if image.format not in _PIL_FORMATS:
                raise ValueError(f"format {image.format}")
            image = ImageOps.exif_transpose(image)
            return np.asarray(to_rgb(image), np.uint8)
    except (OSError, ValueError, UnidentifiedImageError, SyntaxError) as error:
        raise ValueError(
            f"Expected a readable image ({', '.join(_PIL_FORMATS)}). "
            f"Received: "
            f"path={str(path)!r} ({type(error).__name__}: {error})") from None
