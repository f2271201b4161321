"""One CLI vocabulary: docs/cli.md's flag table matches the parsers both
ways, renamed flags keep working with a warning, one image-size syntax."""

import argparse
import pathlib
import re

import pytest

from keras_boxloss.cli.export import _target
from keras_boxloss.cli.errors import CommandError
from keras_boxloss.cli.main import build_parser
from keras_boxloss.cli.options import parse_image_size

TABLE = pathlib.Path(__file__).resolve().parents[2] / "docs" / "cli.md"
GARDEN = ("garden-train", "garden-export")


def _subparsers():
    parser = build_parser()
    action = next(a for a in parser._actions
                  if isinstance(a, argparse._SubParsersAction))
    return action.choices


def _visible_flags(parser):
    return {flag for action in parser._actions
            if action.help != argparse.SUPPRESS
            for flag in action.option_strings if flag.startswith("--")}


def _table():
    """`{flag: {command, ...}}` of the Flags table."""
    text = TABLE.read_text().split("## Flags", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        match = re.fullmatch(r"`(--[a-z-]+)`", cells[0])
        if match and len(cells) == 3:
            rows[match.group(1)] = {re.sub(r"\s*\(.*", "", c).strip()
                                    for c in cells[2].split(",")}
    return rows


def test_flag_table_matches_the_parsers():
    commands = {n: p for n, p in _subparsers().items() if n not in GARDEN}
    table = _table()
    assert len(table) > 20
    for flag, names in table.items():
        if names == {"every command"}:
            names = set(commands)
        for name in names:
            assert flag in _visible_flags(commands[name]), (flag, name)
    for name, parser in commands.items():
        for flag in _visible_flags(parser) - {"--help"}:
            assert flag in table and (name in table[flag] or table[flag] == {
                "every command"}), f"{name} {flag} is not in docs/cli.md"
            # our commands: dashes, never Model Garden's underscores
            assert "_" not in flag, (name, flag)


@pytest.mark.parametrize("command, old, new", [
    ("convert", "--output", "output_dir"), ("compare", "--out", "output_dir")])
def test_renamed_flag_still_works_and_warns(command, old, new, capsys):
    args = build_parser().parse_args([command, old, "somewhere"])
    assert getattr(args, new) == "somewhere"
    err = capsys.readouterr().err
    assert f"{old} is deprecated, use --output-dir" in err
    assert err.count("deprecated") == 1
    # the new spelling does not warn, and the old one is not in --help
    args = build_parser().parse_args([command, "--output-dir", "there"])
    assert args.output_dir == "there"
    assert "deprecated" not in capsys.readouterr().err
    assert f"{old} " not in _subparsers()[command].format_help()


def test_convert_still_requires_its_folder(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["convert"])
    assert "--output-dir" in capsys.readouterr().err


def _export_args(*argv):
    return build_parser().parse_args(["export", "--model-dir", "run", *argv])


def test_export_folder_or_file(capsys):
    assert _target(_export_args("--output-dir", "sm")) == "sm"
    assert _target(_export_args("--format", "tflite", "--output",
                                "m.tflite")) == "m.tflite"
    assert "deprecated" not in capsys.readouterr().err
    # the old `--output DIR` of a SavedModel
    assert _target(_export_args("--output", "sm")) == "sm"
    assert "--output for the SavedModel's folder is deprecated, use " \
           "--output-dir" in capsys.readouterr().err
    for argv in ([], ["--format", "tflite", "--output-dir", "x"],
                 ["--output", "a", "--output-dir", "b"]):
        with pytest.raises(CommandError, match="Expected --output"):
            _target(_export_args(*argv))


def test_one_image_size_syntax(capsys):
    assert parse_image_size("48x64") == (48, 64)
    assert parse_image_size("96") == (96, 96)
    assert "deprecated" not in capsys.readouterr().err
    assert parse_image_size("48,64") == (48, 64)
    assert "use 48x64" in capsys.readouterr().err
    for bad in ("0x5", "4x5x6", "ax3", ""):
        with pytest.raises(argparse.ArgumentTypeError, match="HEIGHTxWIDTH"):
            parse_image_size(bad)
    # garden-export: the same syntax, and Model Garden's H,W without a
    # warning (its own flag)
    parser = _subparsers()["garden-export"]
    base = ["--experiment", "e", "--checkpoint_path", "c", "--export_dir", "d"]
    assert parser.parse_args(
        [*base, "--input_image_size", "320x256"]).input_image_size == [320,
                                                                       256]
    assert parser.parse_args(
        [*base, "--input_image_size", "320,256"]).input_image_size == [320,
                                                                       256]
    assert "deprecated" not in capsys.readouterr().err


def test_garden_commands_say_their_flags_are_model_gardens():
    for name in GARDEN:
        assert "Model Garden's" in " ".join(
            _subparsers()[name].format_help().split())


def test_abbreviated_flags_are_refused_not_guessed(capsys):
    # argparse would take `--output` as a prefix of `--output-dir` and start
    # a comparison in the wrong place.
    from keras_boxloss.cli.main import build_parser

    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["compare", "--output", "x"])
    assert exit_info.value.code == 2
    assert "--output" in capsys.readouterr().err
