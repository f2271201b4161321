import errno
import json
import os

import numpy as np
import pytest

from keras_boxloss import atomic_files
from keras_boxloss.evaluation.evaluate import write_metrics_json


def _disk_full_midway(monkeypatch):
    """`os.fdopen` files that write half of what they are given, then fail
    as a full disk does."""
    real_fdopen = os.fdopen

    class HalfWriter:
        def __init__(self, file):
            self.file = file

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.file.close()

        def write(self, data):
            self.file.write(data[:len(data) // 2])
            self.file.flush()
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fdopen",
                        lambda *a, **k: HalfWriter(real_fdopen(*a, **k)))


def test_new_file_and_replaced_file(tmp_path):
    path = tmp_path / "a.txt"
    assert atomic_files.write_text(path, "first\n") == str(path)
    assert path.read_text() == "first\n"
    atomic_files.write_text(path, "second")
    assert path.read_text() == "second"
    assert os.listdir(tmp_path) == ["a.txt"]


def test_text_written_as_given(tmp_path):
    # a CSV's \r\n and non-ASCII names are kept byte for byte
    path = atomic_files.write_text(tmp_path / "t.csv", "id,name\r\n1,é\r\n")
    assert open(path, "rb").read() == b"id,name\r\n1,\xc3\xa9\r\n"


def test_failure_midway_leaves_old_file_and_no_temporary(tmp_path,
                                                         monkeypatch):
    path = tmp_path / "m.json"
    path.write_text("old")
    _disk_full_midway(monkeypatch)
    with pytest.raises(OSError, match="No space"):
        atomic_files.write_text(path, "new content, long enough to halve")
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["m.json"]


def test_failing_rename_leaves_old_file_and_no_temporary(tmp_path,
                                                         monkeypatch):
    path = tmp_path / "m.json"
    path.write_text("old")

    def fail(*args):
        raise OSError("rename failed")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="rename failed"):
        atomic_files.write_json(path, {"a": 1})
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["m.json"]


def test_unencodable_json_leaves_no_file(tmp_path):
    with pytest.raises(TypeError):
        atomic_files.write_json(tmp_path / "m.json", {"a": object()})
    assert os.listdir(tmp_path) == []


def test_json_formatting_is_json_dumps(tmp_path):
    path = atomic_files.write_json(tmp_path / "m.json", {"b": 1, "a": [2]},
                                   indent=1, sort_keys=True)
    assert open(path).read() == '{\n "a": [\n  2\n ],\n "b": 1\n}'


def test_overwrite_false_refuses_existing_file(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text("kept")
    with pytest.raises(ValueError, match=r"Expected a new output file \(pass "
                       r"--overwrite to replace it\)\. Received: "
                       r"output='.*a\.yaml', which exists"):
        atomic_files.write_text(path, "new", overwrite=False)
    assert path.read_text() == "kept"
    atomic_files.write_text(tmp_path / "b.yaml", "new", overwrite=False)
    assert (tmp_path / "b.yaml").read_text() == "new"


def test_folder_at_path(tmp_path):
    (tmp_path / "out").mkdir()
    with pytest.raises(ValueError, match=r"Expected an output file\. "
                       r"Received: output='.*out', a folder"):
        atomic_files.write_text(tmp_path / "out", "x")
    with pytest.raises(ValueError, match="Expected a new output file"):
        atomic_files.write_text(tmp_path / "out", "x", overwrite=False)
    assert os.listdir(tmp_path / "out") == []


def test_parent_folders_created(tmp_path):
    path = tmp_path / "a" / "b" / "c.txt"
    atomic_files.write_bytes(path, b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01"


def test_permissions_as_open_leaves_them(tmp_path):
    # mkstemp makes 0o600 files; a result file should be as readable as
    # one open(path, "w") creates, and a replaced file keep its mode
    with open(tmp_path / "plain.txt", "w"):
        pass
    atomic_files.write_text(tmp_path / "atomic.txt", "x")
    assert ((tmp_path / "atomic.txt").stat().st_mode
            == (tmp_path / "plain.txt").stat().st_mode)
    os.chmod(tmp_path / "atomic.txt", 0o640)
    atomic_files.write_text(tmp_path / "atomic.txt", "y")
    assert (tmp_path / "atomic.txt").stat().st_mode & 0o777 == 0o640


def test_metrics_file_not_truncated_by_a_failing_write(tmp_path):
    # A numpy scalar json cannot encode, after keys it can: writing in
    # place would have truncated the old file and left '{"AP": 0.5, ...'
    path = tmp_path / "predictions.metrics.json"
    write_metrics_json({"AP": 0.5, "AP50": 0.75}, path)
    before = path.read_text()
    assert json.loads(before) == {"AP": 0.5, "AP50": 0.75}
    with pytest.raises(TypeError, match="float32"):
        write_metrics_json({"AP": 0.25, "AR1": np.float32(0.5)}, path)
    assert path.read_text() == before
    assert os.listdir(tmp_path) == ["predictions.metrics.json"]


def test_figure_written_whole_and_closed(tmp_path):
    """A PNG drawn into memory, then renamed in; a figure that fails to
    draw leaves the old file and is closed all the same."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = tmp_path / "plot.png"
    figure = plt.figure()
    figure.gca().plot([0, 1], [1, 0])
    atomic_files.write_figure(path, figure, dpi=20)
    png = path.read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert not plt.fignum_exists(figure.number)

    broken = plt.figure()
    broken.gca().text(0, 0, "$\\undefinedmacro$")  # mathtext fails to draw
    with pytest.raises(ValueError):
        atomic_files.write_figure(path, broken)
    assert path.read_bytes() == png
    assert not plt.fignum_exists(broken.number)
    assert os.listdir(tmp_path) == ["plot.png"]


def test_a_link_is_written_through(tmp_path):
    """As `open(path, "w")`: the file a symbolic link names is replaced,
    the link stays."""
    target = tmp_path / "real.json"
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    assert atomic_files.write_text(link, "new") == str(link)
    assert link.is_symlink() and target.read_text() == "new"


def test_figure_format_follows_the_suffix(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure = plt.figure()
    atomic_files.write_figure(tmp_path / "plot.svg", figure)
    assert b"<svg" in (tmp_path / "plot.svg").read_bytes()[:400]


def test_umask_read_without_changing_it():
    umask = os.umask(0o027)
    try:
        assert atomic_files._umask() == 0o027
    finally:
        os.umask(umask)


def test_drawn_file_written_whole(tmp_path):
    """A writer that only writes into a file object: its bytes, or, when it
    fails midway, the old file."""
    path = tmp_path / "arrays.npz"
    atomic_files.write_drawn(path, lambda file: np.savez(file, a=np.arange(3)))
    assert np.load(path)["a"].tolist() == [0, 1, 2]
    before = path.read_bytes()

    def failing(file):
        file.write(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError):
        atomic_files.write_drawn(path, failing)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["arrays.npz"]
