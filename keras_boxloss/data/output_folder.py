"""Writing a whole output folder safely: complete, or not there at all.

`replacing_folder(output)` yields a new folder beside `output` (same parent,
so the final rename is atomic). When the block ends without an error, that
folder takes the place of `output`; on an error it is removed and `output`
is left as it was. Meanwhile `<output>.lock` holds an exclusive `flock`, so a
second writer of the same `output` is refused at once; the OS releases the
lock when its process dies, so a killed writer never blocks the next one,
which removes what the killed one left behind (`<output>.tmp-*`,
`<output>.old-*`).

Replacing an existing folder is three steps: rename it aside, rename the new
one in, delete the old one. A kill between the two renames leaves no
`output` but its previous contents in `<output>.old-*`, which the next
writer (or anything under the lock) restores first.
"""

import contextlib
import errno
import os
import re
import shutil
import sys
import uuid
from collections.abc import Iterator

_LEFTOVER = re.compile(r"\.(tmp|old)-\d+-[0-9a-f]{8}$")


def check_output_path(output_dir: str) -> None:
    """Refuses a path that the project's record globs cannot name."""
    if "," in os.fspath(output_dir):
        # list_record_files reads a comma-separated list of globs.
        raise ValueError(f"Expected an output path without ',' (record "
                         f"patterns are comma-separated lists of globs). "
                         f"Received: output={os.fspath(output_dir)!r}")


def holds(folder, path) -> bool:
    """Whether `path` is `folder` or lies inside it (symlinks resolved)."""
    folder = os.path.realpath(os.fspath(folder))
    real = os.path.realpath(os.fspath(path))
    return real == folder or real.startswith(folder + os.sep)


def check_inputs_outside(output_dir: str, inputs) -> None:
    """Refuses an output folder that is or holds one of `inputs` (paths
    read while writing): replacing it would delete them."""
    for path in inputs:
        if holds(output_dir, path):
            raise ValueError(
                f"Expected an output folder apart from the inputs (it is "
                f"replaced whole). Received: output={os.fspath(output_dir)!r}"
                f" holds the input {os.fspath(path)}")


def _lock(path: str) -> int:
    """An open descriptor holding an exclusive `flock` on `path`."""
    import fcntl

    for _ in range(100):  # retried only when the holder unlinked the file
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise ValueError(f"Expected a writable folder for the lock file "
                             f"{path}. Received: {error.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.EACCES):
                os.close(fd)
                raise
            holder = os.read(fd, 64).decode(errors="replace").strip()
            os.close(fd)
            raise ValueError(
                f"Expected no other process writing "
                f"{path[:-len('.lock')]}. Received: it is being written now "
                f"(lock {path} held by process {holder or 'unknown'}); wait "
                f"for it to finish or choose another output") from None
        # The previous holder may have unlinked the file between our open
        # and our flock: then we locked a file nobody else will see.
        try:
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                os.ftruncate(fd, 0)
                os.write(fd, str(os.getpid()).encode())
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)
    raise ValueError(f"Expected to take the lock {path}. Received: it kept "
                     f"being replaced by other processes")


def _unlock(path: str, fd: int) -> None:
    # Unlinked while still held, so the next writer creates a fresh file.
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    os.close(fd)


def _clean_leftovers(output: str) -> None:
    """Under the lock: restores an `output` lost between the two renames of
    a killed writer, then removes every temporary folder of dead writers."""
    parent, name = os.path.split(output)
    leftovers = sorted(entry for entry in os.listdir(parent)
                       if entry.startswith(name)
                       and _LEFTOVER.fullmatch(entry[len(name):]))
    for entry in leftovers:
        path = os.path.join(parent, entry)
        if ".old-" in entry and not os.path.exists(output):
            os.rename(path, output)
            print(f"Restored {output} from {path}, left by an interrupted "
                  f"writer", file=sys.stderr)
        else:
            shutil.rmtree(path, ignore_errors=True)


def recover(output: str) -> None:
    """What the next writer of `output` would do first, for a reader: under
    its lock, restores an `output` a killed writer left between its two
    renames and removes dead writers' temporary folders."""
    output = os.path.abspath(os.fspath(output))
    lock = output + ".lock"
    fd = _lock(lock)
    try:
        _clean_leftovers(output)
    finally:
        _unlock(lock, fd)


def move_into_place(temp: str, output: str, old: str) -> None:
    """Renames `temp` (a folder or a file, beside `output`) to `output`.
    An existing `output` is first renamed to `old`, restored if the second
    rename fails, and deleted after it succeeds."""
    if not os.path.exists(output):
        os.rename(temp, output)
        return
    os.rename(output, old)
    try:
        os.rename(temp, output)
    except BaseException:
        os.rename(old, output)
        raise
    if os.path.isdir(old) and not os.path.islink(old):
        shutil.rmtree(old, ignore_errors=True)  # a leftover is removed later
    else:
        with contextlib.suppress(OSError):
            os.unlink(old)


def check_output_folder(output_dir: str, overwrite: bool = False) -> None:
    """Refuses a path that is a file, that the record globs cannot name, or
    a non-empty folder without `overwrite`. `replacing_folder` checks again
    under its lock; callers may check early, before any slow reading."""
    check_output_path(output_dir)
    output = os.path.abspath(os.fspath(output_dir))
    if os.path.exists(output) and not os.path.isdir(output):
        raise ValueError(f"Expected an output folder. Received: "
                         f"output={output_dir!r} is a file")
    entries = sorted(os.listdir(output)) if os.path.isdir(output) else []
    if entries and not overwrite:
        shown = ", ".join(entries[:3]) + (", ..." if entries[3:] else "")
        raise ValueError(
            f"Expected a new or empty output folder (overwrite replaces it "
            f"whole: --overwrite on the command line). Received: "
            f"output={output_dir!r} holds {len(entries)} entries ({shown})")


@contextlib.contextmanager
def replacing_folder(output_dir: str, overwrite: bool = False
                     ) -> Iterator[str]:
    """Yields a new empty folder to write; it replaces `output_dir` whole
    when the block succeeds.

    Args:
        output_dir: the folder to write. It may be missing or empty; a
            non-empty one needs `overwrite`.
        overwrite: replace a non-empty `output_dir` (its old files never mix
            with the new ones; it is deleted only after the new folder is in
            place).

    Raises:
        ValueError: `output_dir` is a file, is not empty without
            `overwrite`, or another process is writing it.
    """
    check_output_folder(output_dir, overwrite=True)
    output = os.path.abspath(os.fspath(output_dir))
    os.makedirs(os.path.dirname(output), exist_ok=True)
    lock_path = output + ".lock"
    fd = _lock(lock_path)
    try:
        _clean_leftovers(output)
        check_output_folder(output_dir, overwrite)
        token = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        temp = f"{output}.tmp-{token}"
        os.mkdir(temp)  # not mkdtemp: its 0700 mode would become output's
        try:
            yield temp
            move_into_place(temp, output, f"{output}.old-{token}")
        except BaseException:
            shutil.rmtree(temp, ignore_errors=True)
            raise
    finally:
        _unlock(lock_path, fd)
