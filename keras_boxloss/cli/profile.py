"""`keras-boxloss profile`: the Smooth IoU paper's loss profiles (Figures
1-3) and their gradients, as PNG files."""

import argparse


def add_arguments(parser):
    parser.add_argument("--output-dir", default="profiles", metavar="DIR",
                        help="folder of the PNGs (default: profiles/)")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from keras_boxloss.profiles import plot_profiles

    folder = Path(args.output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    for name, ratio in (("profile_same_size.png", 1.0),
                        ("profile_size_mismatch.png", 0.5)):
        print(f"Wrote {plot_profiles(folder / name, size_ratio=ratio)}")
    return 0
