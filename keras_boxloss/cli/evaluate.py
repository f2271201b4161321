"""`keras-boxloss evaluate`: COCO metrics and the Smooth IoU paper's mean-IoU
metric of a predictions file against TFRecords' ground truth.

Predictions: `.json` or `.npz` as described in
`keras_boxloss.evaluation.predictions` (per image: source_id, normalised
yxyx boxes, scores, classes).
"""

import os

from keras_boxloss.cli.options import (add_data_arguments,
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
                             "DIR/predictions.json)")
    add_data_arguments(parser, "ground truth (default: the generated "
                               "dataset's val split)")
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
                        help="least score of a drawn prediction "
                             "(default: 0.3)")
    add_progress_argument(parser)


def run(args):
    from keras_boxloss.cli.options import resolve_data
    from keras_boxloss.data.records import read_records
    from keras_boxloss.evaluation.evaluate import (evaluate_detections,
                                                   format_metrics_table,
                                                   write_metrics_json)
    from keras_boxloss.evaluation.predictions import load_predictions

    pattern, label_map = resolve_data(args, "val")
    if args.model_dir:
        from keras_boxloss.evaluation.predictions import save_predictions
        from keras_boxloss.training.predict import predict_records
        from keras_boxloss.training.train import load_trained

        config, model = load_trained(args.model_dir)
        if not args.data and config.data.validation:
            pattern = config.data.validation
        args.predictions = os.path.join(args.model_dir, "predictions.json")
        save_predictions(predict_records(model, config, pattern),
                         args.predictions)
    predictions = load_predictions(args.predictions)
    records = read_records(pattern)
    if args.progress:
        from tqdm import tqdm
        records = tqdm(records, desc="read ground truth", unit="image")
    ground_truth = list(records)
    results = evaluate_detections(ground_truth, predictions, label_map,
                                  args.iou_threshold)
    stem = os.path.splitext(args.predictions)[0]
    output = args.output or f"{stem}.metrics.json"
    write_metrics_json(results, output)
    print(f"{len(ground_truth)} images of {pattern}, {len(predictions)} with "
          f"predictions\n")
    print(format_metrics_table(results))
    print(f"\nWrote {output}")
    if args.visualize > 0:
        from keras_boxloss.evaluation.visualize import save_visualizations

        folder = args.visualize_dir or f"{stem}_visualize"
        paths = save_visualizations(ground_truth, predictions, folder,
                                    args.visualize, label_map,
                                    args.score_threshold)
        print(f"Wrote {len(paths)} images to {folder}")
    return 0
