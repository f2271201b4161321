"""`keras-boxloss import-config`: a TF Object Detection API pipeline.config
-> the equivalent project config (YAML), the mapping as comments.

An SSD (`model { ssd { } }`) becomes a `keras-boxloss train` config; a
Faster R-CNN (`model { faster_rcnn { } }`) a Model Garden experiment config
for `keras-boxloss garden-train`. Every field of the pipeline config is
listed as honoured, approximated (and why) or not supported (and why).
"""

import argparse


def add_arguments(parser):
    from keras_boxloss.cli.options import (add_overwrite_argument,
                                           add_set_argument)

    parser.add_argument("config", metavar="PIPELINE_CONFIG",
                        help="a TF OD API pipeline.config (protobuf text "
                             "format)")
    parser.add_argument("--output", required=True, metavar="YAML",
                        help="the project config to write")
    add_overwrite_argument(parser, "--output if it exists")
    add_set_argument(parser, "override a pipeline field by its dotted name, "
                             "e.g. --set train_config.batch_size=8, --set "
                             "model.ssd.loss.localization_loss=smooth_iou; "
                             "KEY= removes a field")


def run(args: argparse.Namespace) -> int:
    import os

    from keras_boxloss.cli.errors import CommandError
    from keras_boxloss.odapi.convert import (import_pipeline, print_report,
                                             write_yaml)
    from keras_boxloss.odapi.pipeline import is_pipeline_file

    if not os.path.isfile(args.config):
        raise CommandError(f"no such config file {args.config}")
    if not is_pipeline_file(args.config):
        raise CommandError(
            f"{args.config} does not look like a TF OD API pipeline config "
            "(expected `model {` or `train_config {` ... in protobuf text "
            "format)")
    if os.path.exists(args.output) and not args.overwrite:
        raise CommandError(f"{args.output} exists; pass --overwrite to "
                           "replace it")
    imported = import_pipeline(args.config, args.overrides)
    if imported.kind == "ssd":  # check it loads as our config before writing
        from keras_boxloss.odapi.convert import detector_config

        detector_config(imported, args.config)
    print_report(imported.report)
    path = write_yaml(imported, args.output, overwrite=args.overwrite)
    command = ("keras-boxloss train --config " + path + " --model-dir DIR"
               if imported.kind == "ssd" else
               "keras-boxloss garden-train --experiment="
               "fasterrcnn_resnetfpn_boxloss --config_file=" + path +
               " --mode=train_and_eval --model_dir=DIR")
    print(f"Wrote {path} ({imported.kind}). Train it: {command}")
    return 0
