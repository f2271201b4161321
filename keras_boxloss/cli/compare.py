"""`keras-boxloss compare`: train the same detector once per box loss and
seed, evaluate each on the held-out split, and print the Smooth IoU
paper's Tables 2 and 3 side by side (mean +- std over seeds, the winner and
whether its lead exceeds seed noise), with JSON, markdown and PNG plots.

Without arguments: the bundled SSD on the generated shapes dataset, four
losses, two seeds (about 12 minutes on 2 CPU cores); two seeds give no
verdict on seed noise (a paired t-test with one degree of freedom): pass
`--seeds 3` or more for one. Re-running a command resumes the runs it had
not finished. `--leaderboard DIR ...` trains nothing: it prints finished
comparisons as one table (`keras_boxloss.compare.leaderboard`).
"""

import argparse

DEFAULT_LOSSES = "huber,smooth_iou,giou,ciou"


def default_config():
    from importlib import resources

    return str(resources.files("keras_boxloss.compare") / "default.yaml")


def add_arguments(parser):
    from keras_boxloss.cli.options import (add_cache_dir_argument,
                                           add_deprecated_alias,
                                           add_progress_argument,
                                           add_set_argument)

    parser.add_argument(
        "--config", metavar="YAML|PIPELINE_CONFIG",
        help="detector config: an SSD/YOLOv1 config (model_garden_configs/"
             "ssd, yolo), a Model Garden Faster R-CNN experiment "
             "(model_garden_configs/faster_rcnn) or a TF OD API "
             "pipeline.config (SSD or Faster R-CNN; imported to "
             "OUTPUT_DIR/imported_config.yaml) (default: a small SSD on "
             "the generated shapes dataset)")
    parser.add_argument("--losses", default=DEFAULT_LOSSES, metavar="A,B",
                        help=f"box losses to compare, or `all` (every "
                             f"registered box loss; YOLOv1 takes the IoU "
                             f"family only) (default: {DEFAULT_LOSSES})")
    parser.add_argument("--seeds", default="2", metavar="N|S1,S2",
                        help="a number of seeds (0..N-1) or a list "
                             "(default: 2; whether a lead exceeds seed "
                             "noise is judged from 3 seeds up)")
    parser.add_argument(
        "--data", metavar="PATH",
        help="a folder of TFRecords from `keras-boxloss convert` (evaluated "
             "on test-*, else val-*), a Pascal VOC folder of .xml files, CSV "
             "files (comma-separated), or a TFRecord glob with --eval-data "
             "(default: the config's data, else the generated dataset)")
    parser.add_argument("--images", metavar="DIR",
                        help="the images of VOC or CSV --data (default: a "
                             "sibling images/ or JPEGImages/ folder)")
    parser.add_argument("--eval-data", metavar="GLOB",
                        help="held-out TFRecords when --data is a glob")
    output_dir = parser.add_argument(
        "--output-dir", metavar="DIR",
        help="the comparison's folder; an existing one resumes (default: "
             "runs/compare-<config name>)")
    add_deprecated_alias(parser, "--out", output_dir)
    parser.add_argument("--steps", type=int, metavar="N",
                        help="training steps per run (default: the "
                             "config's)")
    parser.add_argument("--curve-every", type=int, metavar="N",
                        help="Faster R-CNN: steps between validation points "
                             "(default: a quarter of the steps); SSD and "
                             "YOLOv1 evaluate every epoch")
    parser.add_argument(
        "--sweep", metavar="KEY[+KEY2]=V1,V2",
        help="also run every loss at each value of a config field (set on "
             "every key, after --set), e.g. task.losses.rpn_box_weight+"
             "task.losses.frcnn_box_weight=1,2,5,10; runs are named "
             "<loss>-w<value>-seed<k> and the summary picks each loss's "
             "value by mAP@.5 on the evaluation split")
    parser.add_argument(
        "--evaluate-on", choices=("test", "validation"), default="test",
        help="the split the runs are evaluated and the tables made on: "
             "test (the held-out split; val-* when there is no test-*) or "
             "validation (val-*: choose a sweep's values there, never on "
             "test) (default: test)")
    parser.add_argument(
        "--leaderboard", nargs="+", metavar="DIR",
        help="train nothing: print the leaderboard of comparison folders "
             "(with compare.json and summary.json) as markdown, one row "
             "per loss and (dataset, detector, steps), p-values against "
             "huber, and Tables 2 and 3 of a setting joined from several "
             "folders; sweeps, validation-split comparisons and unfinished "
             "ones (no summary.json) are skipped, and named")
    add_set_argument(parser, "override a config field for every run, e.g. "
                             "--set trainer.steps_per_epoch=25 (Model "
                             "Garden: its dotted keys)")
    add_cache_dir_argument(parser)
    add_progress_argument(parser)


def _config_data(config):
    """A keras_boxloss config's own train/validation data as `--data`."""
    import yaml

    with open(config) as file:
        values = yaml.safe_load(file) or {}
    data = values.get("data", {}) if isinstance(values, dict) else {}
    if isinstance(data, dict) and data.get("train"):
        return data["train"], data.get("validation")
    # A Model Garden experiment naming its records (an imported Faster
    # R-CNN pipeline.config's input readers): those, as --data/--eval-data.
    task = values.get("task", {}) if isinstance(values, dict) else {}
    paths = [(task.get(split) or {}).get("input_path") if isinstance(
        task, dict) else None for split in ("train_data", "validation_data")]
    if all(paths):
        return tuple(",".join(p) if isinstance(p, list) else p
                     for p in paths)
    return None, None


def _import_pipeline(path, overrides, out):
    """A pipeline.config -> `OUTPUT_DIR/imported_config.yaml` (the `--set`
    overrides, in the pipeline's dotted names or ours, applied there), so
    every run reads one project config. Returns `(yaml path, [])`."""
    import os

    from keras_boxloss.atomic_files import write_text
    from keras_boxloss.cli.errors import CommandError
    from keras_boxloss.odapi.convert import (detector_config, import_pipeline,
                                             imported_yaml, print_report)

    imported = import_pipeline(path, overrides)
    if imported.kind == "ssd":  # it must load before any run starts
        detector_config(imported, path)
    print_report(imported.report)
    text = imported_yaml(imported)
    target = os.path.join(out, "imported_config.yaml")
    if os.path.exists(target):
        with open(target, encoding="utf-8") as file:
            if file.read() != text:
                raise CommandError(
                    f"{out} holds a comparison imported from a different "
                    f"config or --set ({target}); use another --output-dir")
    write_text(target, text, overwrite=True)
    print(f"Imported {path} as {target}")
    return target, []


def _print_leaderboard(args):
    from keras_boxloss.cli.errors import CommandError
    from keras_boxloss.compare.leaderboard import leaderboard

    # options that would name or shape a comparison to train: refused
    # rather than ignored
    given = [flag for flag, value in (
        ("--sweep", args.sweep), ("--output-dir", args.output_dir),
        ("--config", args.config), ("--data", args.data),
        ("--images", args.images), ("--eval-data", args.eval_data),
        ("--steps", args.steps), ("--curve-every", args.curve_every),
        ("--set", args.overrides), ("--cache-dir", args.cache_dir),
        ("--losses", args.losses != DEFAULT_LOSSES),
        ("--seeds", args.seeds != "2"),
        ("--evaluate-on", args.evaluate_on != "test")) if value]
    if given:
        raise CommandError(f"--leaderboard trains nothing: it reads "
                           f"finished comparisons; drop {', '.join(given)}")
    print(leaderboard(args.leaderboard), end="")
    return 0


def run(args: argparse.Namespace) -> int:
    import os

    if args.leaderboard:
        return _print_leaderboard(args)
    from keras_boxloss.training.determinism import fix_thread_pools

    fix_thread_pools()  # before any TensorFlow op: they are fixed at start
    from keras_boxloss.cli.errors import CommandError
    from keras_boxloss.compare.compare import compare
    from keras_boxloss.compare.runner import detector_of, read_config
    from keras_boxloss.compare.plan import (parse_losses, parse_seeds,
                                            parse_sweep)

    config = args.config or default_config()
    if not os.path.isfile(config):
        raise CommandError(f"no such config file {config}")
    if args.steps is not None and args.steps < 1:
        raise CommandError(f"--steps must be positive, got {args.steps}")
    losses, seeds = parse_losses(args.losses), parse_seeds(args.seeds)
    sweep = parse_sweep(args.sweep) if args.sweep else None
    name = os.path.splitext(os.path.basename(config))[0]
    out = args.output_dir or os.path.join("runs", f"compare-{name}")
    overrides = args.overrides
    from keras_boxloss.odapi.pipeline import is_pipeline_file

    if is_pipeline_file(config):  # a TF OD API pipeline.config, by content
        config, overrides = _import_pipeline(config, overrides, out)
    if args.losses.strip() == "all" and detector_of(
            read_config(config)) == "yolo_v1":
        # YOLOv1's own coordinate term is the paper's; it takes the IoU
        # family only, so `all` means all of those there.
        from keras_boxloss.losses.box_loss import IoUFamilyLoss
        from keras_boxloss.losses.registry import BOX_LOSSES

        losses = [name for name in losses
                  if issubclass(BOX_LOSSES[name], IoUFamilyLoss)]
    data, eval_data = args.data, args.eval_data
    if not data:
        data, eval_data = _config_data(config)
    compare(config, losses, seeds, out, data=data, eval_data=eval_data,
            overrides=overrides, steps=args.steps,
            curve_every=args.curve_every, progress=args.progress,
            cache_dir=args.cache_dir, images_dir=args.images, sweep=sweep,
            evaluate_on=args.evaluate_on)
    return 0
