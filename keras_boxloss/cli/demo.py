"""`keras-boxloss demo`: fit the toy box-regression model with each loss."""

DEFAULT_LOSSES = "huber,iou,giou,diou,ciou,smooth_iou"


def add_arguments(parser):
    parser.add_argument("--losses", default=DEFAULT_LOSSES,
                        help=f"comma-separated losses (default: "
                             f"{DEFAULT_LOSSES})")
    parser.add_argument("--epochs", type=int, default=20,
                        help="training epochs per loss (default: 20)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed for data and initialisation (default: 0)")


def run(args):
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
