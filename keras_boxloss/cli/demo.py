"""`keras-boxloss demo`: fit the toy box-regression model with each loss."""

import argparse

DEFAULT_LOSSES = "huber,iou,giou,diou,ciou,smooth_iou"


def add_arguments(parser):
    from keras_boxloss.cli.options import add_seed_argument

    parser.add_argument("--losses", default=DEFAULT_LOSSES, metavar="A,B",
                        help=f"box losses, comma-separated (default: "
                             f"{DEFAULT_LOSSES})")
    parser.add_argument("--epochs", type=int, default=20,
                        help="training epochs per loss (default: 20)")
    add_seed_argument(parser, "data and initialisation")


def run(args: argparse.Namespace) -> int:
    from keras_boxloss.losses.registry import get_box_loss
    from keras_boxloss.toy_regression import fit_toy_model

    names = [n.strip() for n in args.losses.split(",") if n.strip()]
    losses = {name: get_box_loss(name) for name in names}  # fail fast
    print(f"Toy box regression, {args.epochs} epochs, seed {args.seed}: "
          "mean IoU of held-out predictions before and after training.\n")
    print(f"{'loss':<12} {'first loss':>11} {'last loss':>11} "
          f"{'IoU before':>11} {'IoU after':>10}")
    for name, loss in losses.items():
        result = fit_toy_model(loss, epochs=args.epochs, seed=args.seed)
        history = result["loss_history"]
        print(f"{name:<12} {history[0]:>11.4f} {history[-1]:>11.4f} "
              f"{result['test_iou_before']:>11.3f} "
              f"{result['test_iou_after']:>10.3f}", flush=True)
    return 0
