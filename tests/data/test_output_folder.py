import fcntl
import os
from pathlib import Path

import pytest

from keras_boxloss.data.output_folder import replacing_folder


def _write(folder, files):
    for name, text in files.items():
        (folder / name).write_text(text)


def _contents(folder):
    return {p.name: p.read_text() for p in sorted(folder.iterdir())}


def test_new_folder_appears_only_when_complete(tmp_path):
    out = tmp_path / "out"
    with replacing_folder(str(out)) as temp:
        assert os.path.dirname(temp) == str(tmp_path)  # same parent
        _write(Path(temp), {"a": "1"})
        assert not out.exists()
    assert _contents(out) == {"a": "1"}
    assert sorted(os.listdir(tmp_path)) == ["out"]  # no temp, no lock


def test_non_empty_needs_overwrite_which_replaces_whole(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    _write(out, {"train-00000-of-00003.tfrecord": "old", "x": "old"})
    with pytest.raises(ValueError, match=r"Expected a new or empty output "
                                         r"folder .*--overwrite.*2 entries"):
        with replacing_folder(str(out)):
            pytest.fail("the block must not run")
    with replacing_folder(str(out), overwrite=True) as temp:
        _write(Path(temp), {"new": "1"})
    assert _contents(out) == {"new": "1"}  # no old file mixed in
    assert sorted(os.listdir(tmp_path)) == ["out"]
    out.joinpath("new").unlink()
    with replacing_folder(str(out)) as temp:  # empty: allowed
        pass
    assert sorted(os.listdir(tmp_path)) == ["out"]


def test_error_leaves_the_previous_folder_and_nothing_else(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    _write(out, {"a": "old"})
    with pytest.raises(RuntimeError, match="boom"):
        with replacing_folder(str(out), overwrite=True) as temp:
            _write(Path(temp), {"a": "half"})
            raise RuntimeError("boom")
    assert _contents(out) == {"a": "old"}
    assert sorted(os.listdir(tmp_path)) == ["out"]


def test_second_writer_is_refused_naming_the_output(tmp_path):
    out = tmp_path / "out"
    with replacing_folder(str(out)):
        with pytest.raises(ValueError, match=(
                rf"no other process writing {out}.*held by process "
                rf"{os.getpid()}")):
            with replacing_folder(str(out), overwrite=True):
                pytest.fail("the block must not run")
    # A lock held through another open file (as another process would).
    fd = os.open(tmp_path / "out.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        with pytest.raises(ValueError, match="being written now"):
            with replacing_folder(str(out), overwrite=True):
                pass
    finally:
        os.close(fd)
    assert os.listdir(out) == []  # the refused writer changed nothing


def test_leftovers_of_a_killed_writer_are_handled(tmp_path):
    out = tmp_path / "out"
    # Killed between "rename old aside" and "rename new in": the previous
    # output is in .old-*, a complete new one in .tmp-*, a stale lock file.
    (tmp_path / "out.old-123-0badc0de").mkdir()
    _write(tmp_path / "out.old-123-0badc0de", {"a": "previous"})
    (tmp_path / "out.tmp-123-0badc0de").mkdir()
    (tmp_path / "out.lock").write_text("123")
    (tmp_path / "out.tmp-mine").mkdir()  # not ours: not touched
    with pytest.raises(ValueError, match="1 entries"):
        with replacing_folder(str(out)):
            pass
    assert _contents(out) == {"a": "previous"}  # restored
    assert sorted(os.listdir(tmp_path)) == ["out", "out.tmp-mine"]


@pytest.mark.parametrize("name, message", [
    ("a,b", "without ','"), ("file", "is a file")])
def test_unusable_output_paths(tmp_path, name, message):
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match=message):
        with replacing_folder(str(tmp_path / name)):
            pass
