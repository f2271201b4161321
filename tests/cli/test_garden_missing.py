"""Without Model Garden (the `garden` extra), the garden-* commands say
what to install instead of dying with an ImportError traceback."""

import sys

import pytest

from keras_boxloss.cli.main import main


@pytest.mark.parametrize("argv", [
    ["garden-train", "--experiment=fasterrcnn_resnetfpn_boxloss",
     "--mode=train", "--model_dir=unused"],
    ["garden-export", "--experiment", "e", "--checkpoint_path", "c",
     "--export_dir", "unused"]])
def test_garden_command_without_model_garden(argv, monkeypatch, capsys,
                                             tmp_path):
    monkeypatch.chdir(tmp_path)
    # None in sys.modules: `import official...` raises ImportError
    for name in [n for n in sys.modules if n.split(".")[0] == "official"]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "official", None)
    monkeypatch.setitem(sys.modules, "official.core", None)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"keras-boxloss {argv[0]}: error: Expected Model Garden" in err
    assert "pip install keras-boxloss[garden]" in err
    assert not list(tmp_path.iterdir())  # nothing written
