"""`keras-boxloss train`: train a detector from a config file.

The config's top-level `detector:` key picks the detector (`ssd` for now;
the Model Garden Faster R-CNN and YOLOv1 plug in here). Training resumes
from `--model-dir` when a previous run there was interrupted.
"""


def add_arguments(parser):
    parser.add_argument("--config", required=True, metavar="YAML",
                        help="detector config, e.g. "
                             "model_garden_configs/ssd/ssd_tiny_generated.yaml")
    parser.add_argument("--model-dir", required=True, metavar="DIR",
                        help="where checkpoints, TensorBoard logs and the "
                             "resolved config go; an interrupted run there "
                             "resumes")
    parser.add_argument("--set", action="append", default=[],
                        metavar="KEY=VALUE", dest="overrides",
                        help="override a config field, e.g. --set "
                             "trainer.steps=100 (repeatable)")
    parser.add_argument("--no-progress", action="store_false",
                        dest="progress", help="one line per epoch instead "
                                              "of a progress bar")


def run(args):
    from keras_boxloss.training.config import load_config
    from keras_boxloss.training.train import train

    config = load_config(args.config, args.overrides)
    _, history = train(config, args.model_dir,
                       verbose=1 if args.progress else 2)
    print(f"Trained {config.trainer.steps} steps into {args.model_dir}: "
          f"final loss {history.history['loss'][-1]:.4f}")
    return 0
