"""`keras-boxloss evaluate`: COCO metrics and the Smooth IoU paper's mean-IoU
metric of a predictions file against TFRecords' ground truth.

Predictions: `.json` or `.npz` as described in
`keras_boxloss.evaluation.predictions` (per image: source_id, normalised
yxyx boxes, scores, classes). They are checked before anything is computed
(`keras_boxloss.evaluation.checks`): boxes outside [0, 1], inverted,
non-finite, in pixels or in xyxy order are an error naming the image.
`--model-dir` without `--data` evaluates on the run's own validation
records and label map (from its config.yaml); `--checkpoint best` runs
the weights of its best validation evaluation while training (`best/`)
instead of its last ones. Tables and drawings use the label map's display
names.

Beside the metrics JSON (`<stem>.metrics.json`) it writes, all from one
COCOeval pass: `<stem>.per_class.csv` (AP, AP50, AP75, AR@100 and the
paper's mean IoUs per class; also printed), `<stem>.pr_curves.png` and
`.json` (precision-recall per class at IoU 0.5 and 0.75) and
`<stem>.confusion.png` and `.json` (IoU 0.5, predictions scored at least
`--score-threshold`, with a background row and column).
"""

import argparse
import os

from keras_boxloss.cli.options import (add_checkpoint_argument,
                                       add_data_arguments,
                                       add_progress_argument)


def add_arguments(parser):
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--predictions", metavar="FILE",
                        help="predictions .json or .npz (per image: "
                             "source_id, normalised yxyx boxes, scores, "
                             "classes)")
    source.add_argument("--model-dir", metavar="DIR",
                        help="a `keras-boxloss train` output folder: run "
                             "its model on the data (predictions written to "
                             "DIR/predictions.json; with --checkpoint best, "
                             "DIR/best/predictions.json)")
    add_checkpoint_argument(parser)
    add_data_arguments(parser, "ground truth (default: with --model-dir, "
                               "the run's data.validation and label map; "
                               "else the generated dataset's val split)")
    parser.add_argument("--config", metavar="YAML|PIPELINE_CONFIG",
                        help="a detector config or TF OD API pipeline."
                             "config: its validation records "
                             "(eval_input_reader) and label map are the "
                             "defaults of --data and --label-map; with "
                             "--model-dir its postprocess (post_processing)"
                             " sets the NMS")
    parser.add_argument("--output", metavar="FILE",
                        help="metrics JSON (default: <predictions>"
                             ".metrics.json)")
    parser.add_argument("--iou-threshold", type=float, default=0.5,
                        help="least IoU of a matched detection for "
                             "mean_iou_matched_detections (default: 0.5)")
    parser.add_argument("--visualize", type=int, default=0, metavar="N",
                        help="draw ground truth and predictions on the first"
                             " N images as PNG (default: 0)")
    parser.add_argument("--visualize-dir", metavar="DIR",
                        help="folder of the PNGs (default: "
                             "<predictions>_visualize/)")
    parser.add_argument("--score-threshold", type=float, default=0.3,
                        help="least score of a prediction in the confusion "
                             "matrix and the drawings (default: 0.3)")
    add_progress_argument(parser)


def run_data(args, config):
    """`(records glob, label map)` of `evaluate --model-dir`: `--data` and
    `--label-map` when given, else the run's own (its stored config.yaml:
    `data.validation` and `data.label_map`, else the label map beside the
    records), else, for a run on the generated data, its val split. With
    `--data` but no `--label-map`, the run's `data.label_map` names the
    classes: it is what the model's class ids mean."""
    from keras_boxloss.cli.options import resolve_data
    from keras_boxloss.data.label_map import find_label_map, read_label_map

    if args.data:
        if args.label_map or not config.data.label_map:
            return resolve_data(args, "val")
        return args.data, read_label_map(config.data.label_map)
    if config.data.validation:
        label_map, _ = find_label_map(
            config.data.validation, args.label_map or config.data.label_map)
        return config.data.validation, label_map
    if config.data.train:
        raise ValueError(
            f"Expected data.validation in the run's config "
            f"({os.path.join(args.model_dir, 'config.yaml')}) or --data. "
            f"Received: the run trained on {config.data.train} and names no "
            f"validation records")
    from keras_boxloss.data.resolve import resolve_records

    pattern, label_map_path = resolve_records(
        None, "val", args.label_map or config.data.label_map or None,
        args.cache_dir)
    return pattern, read_label_map(label_map_path)


def read_ground_truth(pattern, progress):
    """The `DetectionRecord`s of `pattern`, as a list."""
    from keras_boxloss.data.records import read_records

    records = read_records(pattern)
    if progress:
        from tqdm import tqdm
        records = tqdm(records, desc="read ground truth", unit="image")
    return list(records)


def run(args: argparse.Namespace) -> int:
    from keras_boxloss.cli.options import resolve_data
    from keras_boxloss.data.records import check_record_labels, image_keys
    from keras_boxloss.evaluation.confusion import confusion_matrix
    from keras_boxloss.evaluation.evaluate import (evaluate_detections,
                                                   format_metrics_table,
                                                   format_per_class_table,
                                                   write_metrics_json,
                                                   write_per_class_outputs)
    from keras_boxloss.evaluation.predictions import load_predictions

    if args.checkpoint and not args.model_dir:
        raise ValueError("Expected --model-dir with --checkpoint (it picks "
                         "the run's weights). Received: --checkpoint "
                         f"{args.checkpoint} with --predictions")
    settings = None
    if args.config:
        from keras_boxloss.training.config import load_config

        settings = load_config(args.config, for_training=False)
        if not args.data:
            if not settings.data.validation:
                raise ValueError(
                    f"Expected --data, or validation records in --config "
                    f"{args.config} (data.validation / eval_input_reader). "
                    "Received: neither")
            args.data = settings.data.validation
        if not args.label_map and settings.data.label_map:
            args.label_map = settings.data.label_map
    if args.model_dir:
        from keras_boxloss.evaluation.predictions import save_predictions
        from keras_boxloss.training.predict import predict_records
        from keras_boxloss.training.train import checkpoint_dir, load_trained

        from keras_boxloss.training.config import load_config

        # best/ is a run folder of its own: its predictions go there
        folder = checkpoint_dir(args.model_dir, args.checkpoint or "last")
        # The data first: a run without validation records, or records
        # that fail their checks (a repeated key, labels against the label
        # map), fail before its model is built and its predictions.json
        # is replaced.
        pattern, label_map = run_data(args, load_config(
            os.path.join(args.model_dir, "config.yaml")))
        ground_truth = read_ground_truth(pattern, args.progress)
        image_keys(ground_truth)
        check_record_labels(ground_truth, label_map)
        config, model = load_trained(folder)
        args.predictions = os.path.join(folder, "predictions.json")
        from keras_boxloss.training.config import nms_kwargs

        save_predictions(predict_records(model, config, pattern,
                                         **nms_kwargs(settings or config)),
                         args.predictions)
    else:
        pattern, label_map = resolve_data(args, "val")
        ground_truth = None
    def image_sizes():
        # a COCO results list has pixel boxes: the records' sizes normalise
        # them; read here, once, only after the predictions file parsed
        nonlocal ground_truth
        if ground_truth is None:
            ground_truth = read_ground_truth(pattern, args.progress)
        return {key: (record.height, record.width) for key, record in
                zip(image_keys(ground_truth), ground_truth)}

    predictions = load_predictions(args.predictions, image_sizes)
    if ground_truth is None:
        ground_truth = read_ground_truth(pattern, args.progress)
    results = evaluate_detections(ground_truth, predictions, label_map,
                                  args.iou_threshold, per_class=True)
    confusion = confusion_matrix(ground_truth, predictions, label_map,
                                 args.score_threshold)
    stem = os.path.splitext(args.predictions)[0]
    output = args.output or f"{stem}.metrics.json"
    # --output may name a folder not made yet, as the other commands'
    # outputs may
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    write_metrics_json(results, output)
    # The other files share the metrics JSON's name: x.metrics.json ->
    # x.per_class.csv, x.confusion.png, ...
    base = (output[:-len(".metrics.json")] if output.endswith(
        ".metrics.json") else os.path.splitext(output)[0])
    written = write_per_class_outputs(results, confusion, base)
    print(f"{len(ground_truth)} images of {pattern}, {len(predictions)} with "
          f"predictions\n")
    print(format_metrics_table(results))
    outside = results["num_predictions_outside_label_map"]
    if outside:
        print(f"\nNote: {outside} predicted boxes have a class the label "
              f"map lacks (ids {sorted(label_map)}); no class scores them, "
              f"the mean IoU counts them as misses.")
    print("\n" + format_per_class_table(results))
    print(f"\nWrote {output}, " + ", ".join(written.values()))
    if args.visualize > 0:
        from keras_boxloss.evaluation.visualize import save_visualizations

        folder = args.visualize_dir or f"{stem}_visualize"
        paths = save_visualizations(ground_truth, predictions, folder,
                                    args.visualize, label_map,
                                    args.score_threshold)
        print(f"Wrote {len(paths)} images to {folder}")
    return 0
