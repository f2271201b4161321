"""Relative paths of a pipeline.config: the config's folder first, else the
current folder (where the OD API's model_main reads them; its TF2 tutorial
runs from the workspace with the config in models/NAME/)."""

from keras_boxloss.odapi.accounting import resolve_path


def tutorial_workspace(tmp_path, monkeypatch):
    """The TF2 tutorial's layout, run from the workspace folder."""
    (tmp_path / "annotations").mkdir()
    (tmp_path / "annotations" / "train.record").write_bytes(b"")
    checkpoint = tmp_path / "pre-trained-models" / "ssd" / "checkpoint"
    checkpoint.mkdir(parents=True)
    (checkpoint / "ckpt-0.index").write_bytes(b"")
    config_dir = tmp_path / "models" / "my_ssd"
    config_dir.mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    return config_dir


def test_a_path_only_the_current_folder_holds_is_taken_from_it(
        tmp_path, monkeypatch, capsys):
    config_dir = tutorial_workspace(tmp_path, monkeypatch)
    assert resolve_path("annotations/train.record", config_dir,
                        "pipeline.config:174") == str(
        tmp_path / "annotations" / "train.record")
    err = capsys.readouterr().err
    assert err.startswith("pipeline.config:174: note: "
                          "'annotations/train.record' is not in the "
                          "config's folder")
    # a TF checkpoint prefix (ckpt-0.index on disk) and a glob count too
    assert resolve_path("pre-trained-models/ssd/checkpoint/ckpt-0",
                        config_dir) == str(
        tmp_path / "pre-trained-models" / "ssd" / "checkpoint" / "ckpt-0")
    assert resolve_path("annotations/*.record", config_dir) == str(
        tmp_path / "annotations" / "*.record")
    # without a field to name (Faster R-CNN's readers), the note alone
    assert capsys.readouterr().err.startswith(
        "note: 'pre-trained-models/ssd/checkpoint/ckpt-0' is not in the "
        "config's folder")
    # the same path read again (a config is often read twice): one note
    resolve_path("annotations/train.record", config_dir,
                 "pipeline.config:174")
    assert capsys.readouterr().err == ""


def test_the_config_folder_wins_and_a_missing_path_stays_there(
        tmp_path, monkeypatch, capsys):
    config_dir = tutorial_workspace(tmp_path, monkeypatch)
    (config_dir / "annotations").mkdir()
    (config_dir / "annotations" / "train.record").write_bytes(b"")
    assert resolve_path("annotations/train.record", config_dir) == str(
        config_dir / "annotations" / "train.record")
    assert capsys.readouterr().err == ""
    # named nowhere (a typo): the config's folder, and a note naming the
    # field and both folders looked in, so the later "no such file" error
    # on a path the user never wrote leads back to the line
    assert resolve_path("annotations/trian.record", config_dir,
                        "pipeline.config:174") == str(
        config_dir / "annotations" / "trian.record")
    assert capsys.readouterr().err == (
        f"pipeline.config:174: note: 'annotations/trian.record' names "
        f"nothing in the config's folder {config_dir} nor in the current "
        f"folder {tmp_path}; using {config_dir / 'annotations'}"
        f"/trian.record\n")
    # given by --set: resolved in the current folder, named once
    resolve_path("trian.record", tmp_path, "p.config (--set)")
    assert capsys.readouterr().err == (
        f"p.config (--set): note: 'trian.record' names nothing in the "
        f"current folder {tmp_path}; using {tmp_path / 'trian.record'}\n")
