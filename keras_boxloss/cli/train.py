"""`keras-boxloss train`: train a detector from a config file.

The config's top-level `detector:` key picks the detector (`ssd`,
`yolo_v1`). In a `--model-dir` that holds a run: an interrupted one
resumes; a finished one is left as it is, unless `trainer.steps` is larger
(it continues from its final weights; not a run that early stopping
ended, which is refused); another config is refused, naming
the differing keys; `--overwrite` removes the old run and starts again.
It evaluates on the validation split while it trains
(`training.validation`: TensorBoard, `best/`, early stopping).
"""

import argparse


def add_arguments(parser):
    from keras_boxloss.cli.options import (add_overwrite_argument,
                                           add_progress_argument,
                                           add_set_argument)

    parser.add_argument("--config", required=True,
                        metavar="YAML|PIPELINE_CONFIG",
                        help="detector config, e.g. "
                             "model_garden_configs/ssd/ssd_tiny_generated.yaml"
                             ", or a TF OD API SSD pipeline.config (read by "
                             "its content; --set then takes its dotted "
                             "names, e.g. train_config.batch_size=8)")
    parser.add_argument("--model-dir", required=True, metavar="DIR",
                        help="where checkpoints (the last, and best/: the "
                             "best validation evaluation's), TensorBoard "
                             "logs and the resolved config go; an "
                             "interrupted run there "
                             "resumes, a finished one continues to a larger "
                             "trainer.steps")
    add_set_argument(parser, "override a config field, e.g. --set "
                             "trainer.steps=100")
    add_overwrite_argument(parser, "the run in --model-dir (its weights, "
                                   "config, logs and the predictions and "
                                   "metrics made from it): train again; done "
                                   "once the config and the data have been "
                                   "checked")
    add_progress_argument(parser, "one line per epoch instead of a progress "
                                  "bar")


def run(args: argparse.Namespace) -> int:
    from keras_boxloss.training.determinism import fix_thread_pools

    fix_thread_pools()  # before any TensorFlow op: they are fixed at start
    from keras_boxloss.training.config import load_config
    from keras_boxloss.training.run_state import plan_run, stopped_early_at
    from keras_boxloss.training.train import train

    config = load_config(args.config, args.overrides)
    plan = plan_run(config, args.model_dir, args.overwrite)
    steps = config.trainer.steps
    if plan.complete:
        early = stopped_early_at(args.model_dir)
        if early is not None:
            print(f"The run in {args.model_dir} is complete: early stopping "
                  f"ended it at step {early} (of trainer.steps={steps}); "
                  f"nothing changed. It is not continued: to train again, "
                  f"pass --overwrite or choose a new --model-dir.")
        else:
            print(f"The run in {args.model_dir} is complete ({steps} steps);"
                  f" nothing changed. To train on, raise trainer.steps (--set"
                  f" trainer.steps=N); to start again, pass --overwrite.")
        return 0
    _, history = train(config, args.model_dir,
                       verbose=1 if args.progress else 2,
                       overwrite=args.overwrite)
    losses = history.history.get("loss") if history else None
    # early stopping ends a run before trainer.steps (it is finished)
    end = stopped_early_at(args.model_dir) or steps
    trained = end - plan.start_step
    resumed = f" (from step {plan.start_step})" if plan.start_step else ""
    final = f": final loss {losses[-1]:.4f}" if losses else ""
    early = " (stopped early)" if end != steps else ""
    print(f"Trained {trained} steps{resumed}, {end} in all{early}, into "
          f"{args.model_dir}{final}")
    return 0
