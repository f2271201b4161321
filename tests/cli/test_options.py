import argparse

import pytest

from keras_boxloss.cli.options import (add_data_arguments,
                                       add_input_arguments,
                                       add_seed_argument,
                                       make_dataset_from_args, resolve_data)
from keras_boxloss.data.generated import CLASSES, write_generated_dataset


def _parser():
    parser = argparse.ArgumentParser()
    add_data_arguments(parser)
    add_seed_argument(parser)
    add_input_arguments(parser)
    return parser


def test_input_flags_build_the_dataset(tmp_path):
    paths = write_generated_dataset(str(tmp_path), splits={"train": 3})
    args = _parser().parse_args(["--data", paths["train"], "--image-size",
                                 "48x64", "--batch-size", "2",
                                 "--max-boxes", "5"])
    assert args.image_size == (48, 64)
    pattern, label_map = resolve_data(args, "train")
    assert pattern == paths["train"] and label_map == CLASSES
    batch = next(iter(make_dataset_from_args(args, pattern, augment=True)))
    assert batch["images"].shape == (2, 48, 64, 3)
    assert batch["bounding_boxes"]["classes"].shape == (2, 5)


def test_image_size_forms():
    parser = _parser()
    assert parser.parse_args(["--image-size", "96"]).image_size == (96, 96)
    assert parser.parse_args([]).image_size == (128, 128)
    with pytest.raises(SystemExit):
        parser.parse_args(["--image-size", "0x5"])
