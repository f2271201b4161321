"""Files written whole or not at all.

`write_text` writes to a hidden temporary file beside the target and
renames it into place (`os.replace`, atomic on one file system), so a
failing or interrupted write leaves the old file, or no file, never half
of one. `write_bytes`, `write_json`, `write_drawn` and `write_figure`
are the same for bytes, JSON, a writer that only writes into a file object
(`np.savez`, PIL) and a matplotlib figure (in its file's format).

Folders have their own variant: `training.export.write_atomically` and
`data.output_folder.replacing_folder` build a folder beside the target and
move it into place; `training.keras_model` renames a partial `model.keras`
(written by `Model.save`).
"""

import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Callable


def _file_mode(path: Path) -> int:
    """The permissions `open(path, "w")` would leave: an existing file's
    own, else 0o666 less the umask (`mkstemp` makes its files 0o600,
    which would hide published results from other users)."""
    if path.exists():
        return path.stat().st_mode & 0o7777
    return 0o666 & ~_umask()


def _umask() -> int:
    """The process's umask: from /proc on Linux (setting it to read it, the
    portable way, briefly changes it for every thread)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    umask = os.umask(0)
    os.umask(umask)
    return umask


def write_bytes(path, data: bytes, overwrite: bool = True) -> str:
    """Writes `data` to `path` through a temporary file and a rename.

    Args:
        path: the file to write; its parent folders are created.
        data: the file's whole content.
        overwrite: replace an existing file (else a ValueError).

    Returns:
        `path` as a string.
    """
    given, path = str(path), Path(os.path.realpath(path))  # a link: its file
    if path.exists() and not overwrite:
        raise ValueError(f"Expected a new output file (pass --overwrite to "
                         f"replace it). Received: output={given!r}, "
                         "which exists")
    if path.is_dir():
        raise ValueError(f"Expected an output file. Received: "
                         f"output={given!r}, a folder")
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = _file_mode(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.",
                                         dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:  # KeyboardInterrupt too: no temporary left
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return given


def write_text(path, text: str, overwrite: bool = True) -> str:
    """Writes `text` (UTF-8, newlines as given: no translation, so a CSV's
    `\\r\\n` stays) to `path` through a temporary file and a rename.

    Args:
        path: the file to write; its parent folders are created.
        text: the file's whole content.
        overwrite: replace an existing file (else a ValueError).

    Returns:
        `path` as a string.
    """
    return write_bytes(path, text.encode("utf-8"), overwrite)


def write_json(path, value: Any, overwrite: bool = True,
               **json_kwargs) -> str:
    """Writes `json.dumps(value, **json_kwargs)` (no trailing newline, as
    `json.dump` writes) through `write_text`. The text is built before any
    file is opened, so a value JSON cannot encode leaves `path` as it was.

    Args:
        path: the file to write; its parent folders are created.
        value: what to encode.
        overwrite: replace an existing file (else a ValueError).
        **json_kwargs: for `json.dumps` (`indent`, `sort_keys`, ...).

    Returns:
        `path` as a string.
    """
    return write_text(path, json.dumps(value, **json_kwargs), overwrite)


def write_drawn(path, draw: Callable[[BinaryIO], Any],
                overwrite: bool = True) -> str:
    """Writes what `draw(file)` writes into a binary file object, through
    `write_bytes`: for writers that only write in place (matplotlib's
    `savefig`, `np.savez`, PIL's `Image.save`), drawn into memory first.

    Args:
        path: the file to write; its parent folders are created.
        draw: called once with an in-memory binary file to write to.
        overwrite: replace an existing file (else a ValueError).

    Returns:
        `path` as a string.
    """
    drawn = io.BytesIO()
    draw(drawn)
    return write_bytes(path, drawn.getvalue(), overwrite)


def write_figure(path, figure, **savefig_kwargs) -> str:
    """Writes a matplotlib `figure` through `write_drawn`, in the format
    `path`'s suffix names (PNG without one), and closes it (on failure
    too).

    Args:
        path: the file to write (replaced); parents are created.
        figure: a `matplotlib.figure.Figure`.
        **savefig_kwargs: for `figure.savefig` (`dpi`, ...).

    Returns:
        `path` as a string.
    """
    import matplotlib.pyplot as plt

    try:
        return write_drawn(path, lambda file: figure.savefig(
            file, format=Path(path).suffix[1:].lower() or "png",
            **savefig_kwargs))
    finally:
        plt.close(figure)
