"""The docstrings' examples run, so they cannot rot."""

import doctest
import importlib

import pytest

MODULES = ["huber_box_loss", "iou_loss", "giou_loss", "diou_loss", "multibox_loss",
           "yolo_v1_loss",
           "ciou_loss", "smooth_iou_loss",
           "balanced_l1_loss", "nwd_loss", "mpdiou_loss", "inner_iou_loss",
           "shape_iou_loss",
           "eiou_loss", "alpha_iou_loss", "siou_loss", "wiou_loss"]


@pytest.mark.parametrize("name", MODULES)
def test_examples(name):
    module = importlib.import_module(f"keras_boxloss.losses.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
