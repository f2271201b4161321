"""`keras-boxloss export`: a trained detector as a SavedModel for serving."""


def add_arguments(parser):
    parser.add_argument("--model-dir", required=True, metavar="DIR",
                        help="a `keras-boxloss train` output folder")
    parser.add_argument("--output", required=True, metavar="DIR",
                        help="SavedModel folder, e.g. saved_models/<name>/1")
    parser.add_argument("--score-threshold", type=float, default=0.01,
                        help="least score of a returned detection "
                             "(default: 0.01)")
    parser.add_argument("--max-detections", type=int, default=100,
                        help="detections per image (default: 100)")


def run(args):
    from keras_boxloss.training.export import export_saved_model
    from keras_boxloss.training.train import load_trained

    config, model = load_trained(args.model_dir)
    path = export_saved_model(model, config, args.output,
                              score_threshold=args.score_threshold,
                              max_detections=args.max_detections)
    print(f"Exported {args.model_dir} to {path}: signatures serving_default "
          "(uint8 images) and serving_encoded (JPEG/PNG strings)")
    return 0
