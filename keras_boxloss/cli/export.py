"""`keras-boxloss export`: a trained detector as a SavedModel (what the TF
OD API's `exporter_main_v2.py` writes) into `--output-dir` or, for the SSD,
a TFLite model into the file `--output` (`--format tflite`). `--checkpoint
best` exports the weights of the run's best validation evaluation while
training (`best/`) instead of its last ones."""

import argparse
import dataclasses
import sys

from keras_boxloss.training.export import INPUT_TYPES


def same_detector(settings, trained) -> bool:
    """Whether `settings` describes the `trained` run's detector: its
    detector and model sections, but `model.backbone_weights`, which only
    initialised training (a pipeline read for export leaves its
    fine_tune_checkpoint unresolved, and the weights file may be gone)."""
    model = dataclasses.replace(
        settings.model, backbone_weights=trained.model.backbone_weights)
    return (settings.detector == trained.detector
            and model == trained.model)


def add_arguments(parser):
    parser.add_argument("--model-dir", required=True, metavar="DIR",
                        help="a `keras-boxloss train` output folder")
    from keras_boxloss.cli.options import add_checkpoint_argument

    add_checkpoint_argument(parser)
    parser.add_argument("--output-dir", metavar="DIR",
                        help="the SavedModel's folder, e.g. "
                             "saved_models/<name>/1")
    parser.add_argument("--output", metavar="FILE",
                        help="the .tflite file, with --format tflite")
    parser.add_argument("--input-type", default="image_tensor",
                        choices=INPUT_TYPES,
                        help="serving_default's input_tensor: uint8 images "
                             "[B, H, W, 3], encoded image strings [B], "
                             "serialized tf.train.Example strings [B] or "
                             "float32 images [B, H, W, 3] in 0-255 "
                             "(default: image_tensor)")
    parser.add_argument("--format", default="saved_model",
                        choices=("saved_model", "tflite"),
                        help="saved_model (into --output-dir) or tflite "
                             "(into the file --output): the SSD with the "
                             "four main outputs, uint8 input at the model's "
                             "size (default: saved_model)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace a non-empty existing output")
    parser.add_argument("--config", metavar="YAML|PIPELINE_CONFIG",
                        help="take the NMS settings (postprocess; a "
                             "pipeline.config's post_processing) from this "
                             "config, whose model section must match the "
                             "trained one (default: the run's own config)")
    parser.add_argument("--score-threshold", type=float, default=None,
                        help="least score of a returned detection "
                             "(default: the config's postprocess, 0.01)")
    parser.add_argument("--max-detections", type=int, default=None,
                        help="detections per image (default: the config's "
                             "postprocess, 100)")


def _target(args):
    """The SavedModel's folder or the .tflite file. `--output DIR` for a
    SavedModel was this command's spelling before `--output-dir`: it still
    works, with a warning."""
    from keras_boxloss.cli.errors import CommandError

    if args.format == "tflite":
        if args.output_dir or not args.output:
            raise CommandError(
                "Expected --output FILE (the .tflite file) with --format "
                f"tflite. Received: output={args.output!r}, "
                f"output_dir={args.output_dir!r}")
        return args.output
    if args.output_dir and args.output:
        raise CommandError(
            "Expected --output-dir DIR (the SavedModel's folder); --output "
            "names the .tflite file of --format tflite. Received: both, "
            f"output={args.output!r}, output_dir={args.output_dir!r}")
    if args.output:
        print("keras-boxloss: warning: --output for the SavedModel's "
              "folder is deprecated, use --output-dir", file=sys.stderr)
        return args.output
    if not args.output_dir:
        raise CommandError("Expected --output-dir DIR (the SavedModel's "
                           "folder). Received: none")
    return args.output_dir


def run(args: argparse.Namespace) -> int:
    from keras_boxloss.cli.options import check_nms_numbers
    from keras_boxloss.training.export import (export_saved_model,
                                               export_tflite)
    from keras_boxloss.training.train import load_trained

    from keras_boxloss.training.config import load_config, nms_kwargs

    target = _target(args)  # before the model loads
    check_nms_numbers(args.score_threshold, args.max_detections)
    config, model = load_trained(args.model_dir, args.checkpoint or "last")
    settings = config
    if args.config:
        settings = load_config(args.config, for_training=False)
        if not same_detector(settings, config):
            raise ValueError(
                f"Expected --config {args.config} to describe the trained "
                f"detector. Received: its model section differs from "
                f"{args.model_dir}'s (detector {settings.detector!r}, "
                f"model {settings.model})")
    nms = nms_kwargs(settings)
    if args.score_threshold is not None:
        nms["score_threshold"] = args.score_threshold
    if args.max_detections is not None:
        nms["max_detections"] = args.max_detections
    if args.format == "tflite":
        if config.detector != "ssd":
            raise ValueError("Expected an SSD run for --format tflite. "
                             f"Received: detector={config.detector!r}")
        if args.input_type != "image_tensor":
            raise ValueError("Expected --input-type image_tensor with "
                             "--format tflite. Received: "
                             f"input_type={args.input_type!r}")
        path = export_tflite(model, config, target,
                             overwrite=args.overwrite, **nms)
        size = config.model.image_size
        print(f"Exported {args.model_dir} to {path}: input_tensor uint8 "
              f"[1, {size}, {size}, 3]; detection_boxes, detection_scores, "
              "detection_classes (0-based), num_detections")
        return 0
    path = export_saved_model(model, config, target,
                              input_type=args.input_type,
                              overwrite=args.overwrite, **nms)
    print(f"Exported {args.model_dir} to {path}: serving_default and the "
          f"loaded object itself take input_tensor ({args.input_type})")
    return 0
