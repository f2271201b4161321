"""Model Garden's own trainer (`official/vision/train.py`) with the plug-in's
registrations imported.

    python -m keras_boxloss.model_garden.train \
        --experiment=fasterrcnn_resnetfpn_boxloss \
        --config_file=model_garden_configs/faster_rcnn/generated_cpu.yaml \
        --mode=train_and_eval --model_dir=/tmp/garden

Every Model Garden flag works as in `official/vision/train.py`
(`--params_override`, `--gin_file`, `--tpu`, ...).
"""

import sys

import gin
from absl import flags
from official.common import flags as tfm_flags
from official.vision import train as vision_train

from keras_boxloss.model_garden import registry_imports  # noqa: F401

REQUIRED_FLAGS = ("experiment", "mode", "model_dir")


def define_flags():
    """Model Garden's training flags, once per process."""
    if "experiment" not in flags.FLAGS:
        tfm_flags.define_flags()
        flags.mark_flags_as_required(list(REQUIRED_FLAGS))


def main(argv):
    """Parses Model Garden's flags from `argv` (`argv[0]` is the program)
    and runs Model Garden's `train.main`. Raises `absl.flags.Error` on a bad
    flag. Can run more than once in a process (flags and gin are reset)."""
    define_flags()
    flags.FLAGS.unparse_flags()
    flags.FLAGS(list(argv))
    gin.clear_config()  # `train.main` parses and locks it
    vision_train.main(None)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
