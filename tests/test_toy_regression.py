import numpy as np

from keras_boxloss import SmoothIoU
from keras_boxloss.toy_regression import fit_toy_model, make_toy_boxes


def test_toy_boxes_are_valid_and_deterministic():
    x, y = make_toy_boxes(100, seed=3)
    assert x.shape == (100, 8) and y.shape == (100, 4)
    assert np.all(y[:, 2:] > y[:, :2]) and np.all((y >= 0) & (y <= 64))
    np.testing.assert_array_equal(make_toy_boxes(100, seed=3)[1], y)


def test_a_model_compiled_with_smooth_iou_learns():
    result = fit_toy_model(SmoothIoU(), epochs=8)
    history = result["loss_history"]
    assert history[-1] < 0.5 * history[0]
    # from no overlap at all to clearly overlapping held-out boxes
    assert result["test_iou_before"] < 0.1
    assert result["test_iou_after"] > 0.5
