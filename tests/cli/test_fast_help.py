"""`keras-boxloss --help` answers without Keras: building every parser and
formatting every subcommand's help imports none of TensorFlow, Keras, JAX
(a check by sys.modules, not by time)."""

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]

SCRIPT = """
import argparse, sys
from keras_boxloss_cli import build_parser
parser = build_parser()
parser.format_help()
subparsers = next(a for a in parser._actions
                  if isinstance(a, argparse._SubParsersAction))
assert len(subparsers.choices) >= 10, sorted(subparsers.choices)
for sub in subparsers.choices.values():
    assert sub.format_help()
heavy = sorted(m for m in sys.modules
               if m.split('.')[0] in ('tensorflow', 'keras', 'jax', 'official',
                                      'tf_keras', 'keras_cv'))
print('HEAVY', heavy)
"""


def _run(script):
    return subprocess.run([sys.executable, "-c", script], cwd=ROOT,
                          capture_output=True, text=True, check=True).stdout


def test_parsers_and_help_import_no_framework():
    assert "HEAVY []" in _run(SCRIPT)


def test_help_prints_without_framework():
    output = _run(
        "import contextlib, io, sys\n"
        "from keras_boxloss_cli import main\n"
        "for argv in ([], ['train', '--help'], ['garden-export', '--help']):\n"
        "    with contextlib.redirect_stdout(io.StringIO()) as out, \\\n"
        "            contextlib.suppress(SystemExit):\n"
        "        main(argv)\n"
        "    assert 'usage: keras-boxloss' in out.getvalue(), argv\n"
        "print('KERAS', 'keras' in sys.modules)\n")
    assert "KERAS False" in output


def test_import_keras_boxloss_still_registers_every_loss():
    # Without the command line's entry point, the package imports (and so
    # registers) the losses, which `keras.saving` looks up by name.
    output = _run(
        "import sys, keras_boxloss, keras\n"
        "names = keras.saving.get_custom_objects()\n"
        "print('LOSSES', 'keras_boxloss.losses' in sys.modules,\n"
        "      sorted(n for n in names if n.startswith('keras_boxloss>')))\n")
    assert "LOSSES True" in output
    assert "keras_boxloss>SmoothIoU" in output
    assert "keras_boxloss>SSD" in output


def test_a_command_runs_with_every_loss_registered():
    # Under the entry point the package defers the losses; `main` imports
    # them (and the detectors) before a command runs.
    output = _run(
        "import sys, keras_boxloss_cli\n"
        "from keras_boxloss_cli import main\n"
        "import keras_boxloss.cli.demo as demo\n"
        "demo.run = lambda args: print('LOADED', sorted(\n"
        "    n for n in __import__('keras').saving.get_custom_objects()\n"
        "    if n in ('keras_boxloss>GIoU', 'keras_boxloss>SSD'))) or 0\n"
        "print('EXIT', main(['demo']))\n")
    assert "LOADED ['keras_boxloss>GIoU', 'keras_boxloss>SSD']" in output
    assert "EXIT 0" in output
