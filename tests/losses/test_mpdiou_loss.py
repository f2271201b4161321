import numpy as np
import pytest
from hypothesis import given

from keras_boxloss import MPDIoU
from keras_boxloss.losses import iou, mpdiou
from tests.losses import reference
from tests.losses.backend_utils import to_numpy, value_and_grads
from tests.losses.test_deltas_mode import (ANCHORS, PRED_BOXES,
                                           TRUE_BOXES)
from tests.losses.test_properties import SETTINGS, any_side, box_pairs


@pytest.mark.parametrize("target, prediction, image_size, expected", [
    # IoU 25 / 175; d1^2 = d2^2 = 50; w^2 + h^2 = 800
    ([0, 0, 10, 10], [5, 5, 15, 15], (20, 20), 1 - 1 / 7 + 100 / 800),
    # disjoint: IoU 0, d1^2 = d2^2 = 800
    ([0, 0, 10, 10], [20, 20, 30, 30], (20, 20), 3.0),
    # same corners but for the bottom-right x: d2^2 = 4; image 30 x 40
    ([0, 0, 10, 10], [0, 0, 12, 10], (30, 40), 1 - 100 / 120 + 4 / 2500),
    # nested: IoU 4 / 100, d1^2 = 8, d2^2 = 72; image 10 x 10
    ([0, 0, 10, 10], [2, 2, 4, 4], (10, 10), 0.96 + 80 / 200),
    ([0, 0, 10, 10], [0, 0, 10, 10], (1, 1), 0.0),
])
def test_values_match_the_paper(target, prediction, image_size, expected):
    value = to_numpy(mpdiou(np.float32([target]), np.float32([prediction]),
                            image_size=image_size))
    np.testing.assert_allclose(value, [expected], rtol=1e-6, atol=1e-7)


def test_image_size_is_height_then_width():
    t = np.float32([[0, 0, 10, 10]])
    p = np.float32([[2, 0, 12, 10]])
    # w^2 + h^2 is symmetric, so swapping gives the same: the corner
    # distances are over the whole diagonal, as in the paper
    np.testing.assert_allclose(to_numpy(mpdiou(t, p, image_size=(30, 40))),
                               to_numpy(mpdiou(t, p, image_size=(40, 30))))


def test_scaling_boxes_and_image_together_changes_nothing():
    t = np.float32([[0, 0, 10, 20], [3, 4, 9, 9]])
    p = np.float32([[2, 1, 12, 15], [1, 5, 8, 12]])
    small = to_numpy(mpdiou(t, p, image_size=(48, 64)))
    np.testing.assert_allclose(
        to_numpy(mpdiou(t * 8, p * 8, image_size=(384, 512))), small,
        rtol=1e-5)
    # but the image size matters: not scale invariant on its own
    assert not np.allclose(to_numpy(mpdiou(t, p, image_size=(1, 1))), small)


def test_matches_float64_reference_and_its_gradient():
    rng = np.random.default_rng(4)
    t = np.concatenate([rng.uniform(0, 5, (8, 2)),
                        rng.uniform(6, 10, (8, 2))], -1)
    p = t + rng.uniform(-3, 3, t.shape)
    kwargs = {"image_size": (12.0, 16.0)}
    value = to_numpy(mpdiou(t.astype("float32"), p.astype("float32"),
                            **kwargs))
    np.testing.assert_allclose(
        value, [reference.mpdiou_loss(a, b, **kwargs) for a, b in zip(t, p)],
        rtol=1e-5, atol=1e-6)
    _, (grad,) = value_and_grads(
        lambda a: mpdiou(t.astype("float32"), a, **kwargs),
        p.astype("float32"))
    numeric = reference.numeric_grad(lambda a: sum(
        reference.mpdiou_loss(x, y, **kwargs) for x, y in zip(t, a)), p)
    np.testing.assert_allclose(grad, numeric, rtol=1e-3, atol=1e-4)


def test_deltas_decode_against_the_anchors_and_need_them():
    true_deltas = reference.encode_deltas(TRUE_BOXES, ANCHORS)
    pred_deltas = reference.encode_deltas(PRED_BOXES, ANCHORS)
    # the image is the anchors' frame: here pixels of a 320 x 320 image
    on_boxes = to_numpy(mpdiou(TRUE_BOXES.astype("float32"),
                               PRED_BOXES.astype("float32"),
                               image_size=(320, 320)))
    on_deltas = to_numpy(mpdiou(true_deltas.astype("float32"),
                                pred_deltas.astype("float32"),
                                image_size=(320, 320), box_format="deltas",
                                anchors=ANCHORS))
    np.testing.assert_allclose(on_deltas, on_boxes, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="Expected `anchors` for MPDIoU"):
        MPDIoU(box_format="deltas")


def test_config_keeps_image_size():
    loss = MPDIoU(image_size=(480, 640))
    config = loss.get_config()
    assert config["image_size"] == [480.0, 640.0]
    assert MPDIoU.from_config(config).get_config()["image_size"] == [480.0,
                                                                  640.0]


@pytest.mark.parametrize("image_size", [(0, 1), (1,), (1, 2, 3), "hw", 5.0,
                                        (1, float("nan")), (True, 1), None])
def test_bad_image_size_is_a_clear_error(image_size):
    with pytest.raises(ValueError,
                       match="Expected `image_size`.*Received: image_size="):
        MPDIoU(image_size=image_size)


@SETTINGS
@given(box_pairs(sides=any_side))
def test_never_below_the_iou_loss_and_symmetric(pair):
    t, p = pair
    value = to_numpy(mpdiou(t, p, image_size=(50, 80)))
    assert np.all(value >= to_numpy(iou(t, p)) - 1e-6)
    np.testing.assert_allclose(to_numpy(mpdiou(p, t, image_size=(50, 80))),
                               value, rtol=1e-6, atol=1e-6)
