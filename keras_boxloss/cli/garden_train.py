"""`keras-boxloss garden-train`: Model Garden's own trainer
(`official/vision/train.py`) with the box-loss experiments registered.

Every argument goes to Model Garden's absl flags unchanged:

    keras-boxloss garden-train --experiment=fasterrcnn_resnetfpn_boxloss \
        --config_file=model_garden_configs/faster_rcnn/generated_cpu.yaml \
        --params_override="task.frcnn_box_loss.type=smooth_iou" \
        --mode=train_and_eval --model_dir=/tmp/garden
"""

import argparse

# Unknown arguments are Model Garden's flags: `main` passes them through.
PASS_THROUGH = True


def add_arguments(parser):
    parser.epilog = (
        "Every argument is one of Model Garden's flags, passed through as "
        "it is (official/vision/train.py; its names, underscores and "
        "all): --experiment, --config_file, --params_override, --mode "
        "(train, eval, train_and_eval, continuous_eval), --model_dir, ... "
        "Experiment with box losses: fasterrcnn_resnetfpn_boxloss; configs "
        "in model_garden_configs/faster_rcnn/, or a TF OD API Faster R-CNN "
        "pipeline.config as --config_file (imported into "
        "MODEL_DIR/pipeline_garden.yaml).")


def run(args: argparse.Namespace) -> int:
    from keras_boxloss.cli.errors import require_model_garden

    require_model_garden("garden-train")  # not a bare ImportError below
    from absl import flags

    from keras_boxloss.cli.errors import CommandError
    from keras_boxloss.model_garden import train
    from keras_boxloss.model_garden.odapi_config import imported_flags

    # A TF OD API pipeline.config as --config_file is imported first.
    argv = imported_flags(args.passthrough)
    try:
        return train.main(["keras-boxloss garden-train", *argv])
    except flags.Error as error:
        raise CommandError(str(error)) from None
