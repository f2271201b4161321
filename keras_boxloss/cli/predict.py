"""`keras-boxloss predict`: a trained detector (`--model-dir`, a `train`
run, or `--saved-model`, an `export` SavedModel) on image files (JPEG,
PNG, BMP, GIF, WebP; paths, folders, globs), writing
`OUT/predictions.json` (per image: file, size, boxes in pixels `[xmin,
ymin, xmax, ymax]` and normalised `[ymin, xmin, ymax, xmax]`, scores,
class ids and names) and each image with its boxes drawn, under its own
name. The logic lives in `keras_boxloss.inference`."""

import argparse
import sys

from keras_boxloss.cli.options import (add_checkpoint_argument,
                                       add_overwrite_argument,
                                       check_nms_numbers)


def add_arguments(parser):
    parser.add_argument("images", nargs="+", metavar="IMAGES",
                        help="image files (JPEG, PNG, BMP, GIF, WebP), "
                             "folders of them or globs (other files there "
                             "are skipped and named)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model-dir", metavar="DIR",
                        help="a `keras-boxloss train` output folder")
    source.add_argument("--saved-model", metavar="DIR",
                        help="a SavedModel written by `keras-boxloss "
                             "export` (run through serving_default)")
    add_checkpoint_argument(parser)
    parser.add_argument("--output-dir", required=True, metavar="DIR",
                        help="the folder of predictions.json and the drawn "
                             "images")
    parser.add_argument("--label-map", metavar="FILE",
                        help="names of the class ids (default: the run's "
                             "label map; label_map.pbtxt in or above the "
                             "SavedModel's folder)")
    parser.add_argument("--score-threshold", type=float, default=0.3,
                        metavar="S",
                        help="least score of a detection kept and drawn "
                             "(default: 0.3)")
    parser.add_argument("--max-detections", type=int, default=None,
                        metavar="K",
                        help="detections per image (default: the run's "
                             "postprocess, 100; a SavedModel's export "
                             "setting)")
    add_overwrite_argument(parser, "a non-empty --output-dir (whole)")


def _check_model_outside(output_dir, sources) -> None:
    """Refuses an output folder that is, holds or lies inside one of the
    model's files (`--model-dir`, `--saved-model`, `--label-map`): the
    folder is replaced whole, so `--overwrite` would delete what it reads,
    and one inside them would be mixed with the model's files."""
    import os

    from keras_boxloss.data.output_folder import holds

    for flag, path in sources:
        if path and (holds(output_dir, path) or holds(path, output_dir)):
            raise ValueError(
                f"Expected an --output-dir apart from {flag} (the output "
                f"folder is replaced whole). Received: output_dir="
                f"{os.fspath(output_dir)!r} and {flag} "
                f"{os.fspath(path)!r}")


def run(args: argparse.Namespace) -> int:
    from keras_boxloss.data.output_folder import (check_inputs_outside,
                                                  check_output_folder)
    from keras_boxloss.inference import detect_images as inference
    from keras_boxloss.inference.images import IMAGE_SUFFIXES, find_images

    check_nms_numbers(args.score_threshold, args.max_detections)
    if args.checkpoint and not args.model_dir:
        raise ValueError("Expected --checkpoint with --model-dir (a "
                         "SavedModel holds one set of weights). Received: "
                         f"checkpoint={args.checkpoint!r} with --saved-model")
    # inputs and output first: nothing slow runs before they are sound
    skipped = []
    paths = find_images(args.images, skipped)
    if skipped:
        shown = ", ".join(str(p) for p in skipped[:5])
        more = f" and {len(skipped) - 5} more" if len(skipped) > 5 else ""
        print(f"keras-boxloss: skipped {len(skipped)} files that are not "
              f"images (by suffix; {', '.join(IMAGE_SUFFIXES)}): "
              f"{shown}{more}", file=sys.stderr)
    check_output_folder(args.output_dir, args.overwrite)
    check_inputs_outside(args.output_dir, paths)
    _check_model_outside(args.output_dir, (
        ("--model-dir", args.model_dir), ("--saved-model", args.saved_model),
        ("--label-map", args.label_map)))
    settings = {"score_threshold": args.score_threshold,
                "max_detections": args.max_detections}
    if args.model_dir:
        from keras_boxloss.training.config import nms_kwargs
        from keras_boxloss.training.train import load_trained

        config, model = load_trained(args.model_dir,
                                     args.checkpoint or "last")
        label_map = inference.run_label_map(args.model_dir, config,
                                            args.label_map)
        nms = nms_kwargs(config)
        nms["score_threshold"] = args.score_threshold
        if args.max_detections is not None:
            nms["max_detections"] = args.max_detections
        settings["max_detections"] = nms["max_detections"]
        detections = inference.run_model_detections(
            model, config, paths, config.data.batch_size, **nms)
        source = str(args.model_dir)
    else:
        label_map = inference.saved_model_label_map(args.saved_model,
                                                    args.label_map)
        # fills settings' max_detections with the SavedModel's own once
        # loaded (before predictions.json is written)
        detections = inference.saved_model_detections(args.saved_model,
                                                      paths, settings)
        source = str(args.saved_model)
    results = ((path, image, inference.image_result(
        path, image, found, args.score_threshold, args.max_detections,
        label_map)) for path, image, found in detections)
    written = inference.write_predictions(results, args.output_dir,
                                          args.overwrite, label_map, source,
                                          settings)
    total = sum(r["num_detections"] for r in written)
    print(f"{len(written)} images, {total} detections (score >= "
          f"{args.score_threshold}): wrote {args.output_dir}/"
          f"{inference.PREDICTIONS} and the drawn images")
    return 0
