import numpy as np
import pytest

from keras_boxloss import InnerIoU, MultiBox
from keras_boxloss.losses import ciou, eiou, giou, inner_iou, iou
from tests.losses import reference
from tests.losses.backend_utils import to_numpy, value_and_grads
from tests.losses.test_deltas_mode import (ANCHORS, PRED_BOXES,
                                           TRUE_BOXES)


@pytest.mark.parametrize("target, prediction, ratio, expected", [
    # inner boxes [2.5, 2.5, 7.5, 7.5] and [5.5, 5.5, 9.5, 9.5]: 4 / 37
    ([0, 0, 10, 10], [3.5, 3.5, 11.5, 11.5], 0.5, 1 - 4 / 37),
    # ratio 1.5: [-2.5, -2.5, 12.5, 12.5] and [5, -2.5, 20, 12.5]: 7.5 / 15
    # of each side overlaps: 112.5 / (450 - 112.5)
    ([0, 0, 10, 10], [7.5, 0, 17.5, 10], 1.5, 1 - 112.5 / 337.5),
    # disjoint boxes whose inner boxes (ratio 2), [-5, -5, 15, 15] and
    # [10, -5, 30, 15], overlap 5 x 20 of 400 + 400 - 100
    ([0, 0, 10, 10], [15, 0, 25, 10], 2.0, 1 - 100 / 700),
    ([0, 0, 10, 10], [0, 0, 10, 10], 0.75, 0.0),
])
def test_values_match_the_paper(target, prediction, ratio, expected):
    value = to_numpy(inner_iou(np.float32([target]), np.float32([prediction]),
                               ratio=ratio))
    np.testing.assert_allclose(value, [expected], rtol=1e-6, atol=1e-7)


T = np.float32([[0, 0, 10, 10], [0, 0, 10, 20], [3, 1, 8, 9]])
P = np.float32([[5, 5, 15, 15], [2, 2, 12, 12], [20, 20, 30, 30]])


@pytest.mark.parametrize("base, fn", [("iou", iou), ("giou", giou),
                                      ("ciou", ciou), ("eiou", eiou)])
def test_ratio_one_is_the_base_loss(base, fn):
    np.testing.assert_allclose(to_numpy(inner_iou(T, P, 1.0, base)),
                               to_numpy(fn(T, P)), rtol=1e-6, atol=1e-7)


def test_the_base_penalty_is_kept_and_1_minus_iou_replaced():
    # L_GIoU + IoU - IoU_inner, with IoU_inner of the ratio-0.5 inner boxes
    inner_t = np.float32([[2.5, 2.5, 7.5, 7.5], [2.5, 5, 7.5, 15],
                          [4.25, 3, 6.75, 7]])
    inner_p = np.float32([[7.5, 7.5, 12.5, 12.5], [4.5, 4.5, 9.5, 9.5],
                          [22.5, 22.5, 27.5, 27.5]])
    plain_iou = 1 - to_numpy(iou(T, P))
    inner = 1 - to_numpy(iou(inner_t, inner_p))
    expected = to_numpy(giou(T, P)) + plain_iou - inner
    np.testing.assert_allclose(to_numpy(inner_iou(T, P, 0.5, "giou")),
                               expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("base", ["iou", "giou", "diou", "ciou", "eiou",
                                  "siou", "shape_iou"])
def test_matches_float64_reference_and_its_gradient(base):
    rng = np.random.default_rng(6)
    # proper boxes only (x1 <= 5.5 <= x2): the EIoU and SIoU references
    # take signed sizes, the library clamps inverted boxes to empty
    t = np.concatenate([rng.uniform(0, 4, (8, 2)),
                        rng.uniform(7, 10, (8, 2))], -1)
    p = t + rng.uniform(-1.5, 1.5, t.shape)
    kwargs = {"ratio": 0.7, "base": base}
    value = to_numpy(inner_iou(t.astype("float32"), p.astype("float32"),
                               **kwargs))
    expected = [reference.inner_iou_loss(a, b, **kwargs)
                for a, b in zip(t, p)]
    np.testing.assert_allclose(value, expected, rtol=1e-5, atol=1e-6)
    if base in ("ciou", "siou"):
        # CIoU's alpha is held constant, the reference's is not; SIoU's
        # angle cost has its own gradient tests
        return
    _, (grad,) = value_and_grads(
        lambda a: inner_iou(t.astype("float32"), a, **kwargs),
        p.astype("float32"))
    numeric = reference.numeric_grad(lambda a: sum(
        reference.inner_iou_loss(x, y, **kwargs) for x, y in zip(t, a)), p)
    np.testing.assert_allclose(grad, numeric, rtol=1e-3, atol=1e-4)


def test_deltas_need_anchors_exactly_when_the_base_does():
    true_deltas = reference.encode_deltas(TRUE_BOXES, ANCHORS)
    pred_deltas = reference.encode_deltas(PRED_BOXES, ANCHORS)
    for base, anchors in (("giou", None), ("ciou", ANCHORS)):
        on_boxes = to_numpy(inner_iou(TRUE_BOXES.astype("float32"),
                                      PRED_BOXES.astype("float32"), 0.8,
                                      base))
        on_deltas = to_numpy(inner_iou(
            true_deltas.astype("float32"), pred_deltas.astype("float32"),
            0.8, base, box_format="deltas", anchors=anchors))
        np.testing.assert_allclose(on_deltas, on_boxes, rtol=1e-4, atol=1e-5)
    assert InnerIoU(base="ciou").requires_anchors
    assert not InnerIoU(base="giou").requires_anchors
    with pytest.raises(ValueError, match="Expected `anchors` for InnerIoU"):
        InnerIoU(base="diou", box_format="deltas")
    with pytest.raises(ValueError, match="Expected `anchors` for InnerIoU"):
        MultiBox(2, box_loss=InnerIoU(base="ciou"))
    MultiBox(2, box_loss=InnerIoU(base="giou"))  # no anchors needed


def test_config_keeps_ratio_and_base():
    loss = InnerIoU(ratio=1.2, base="diou")
    config = loss.get_config()
    assert (config["ratio"], config["base"]) == (1.2, "diou")
    rebuilt = InnerIoU.from_config(config)
    assert rebuilt.requires_anchors and rebuilt.get_config() == config


@pytest.mark.parametrize("kwargs, arg", [
    ({"ratio": 0}, "ratio"), ({"ratio": -0.5}, "ratio"),
    ({"ratio": "0.75"}, "ratio"), ({"base": "smooth_iou"}, "base"),
    ({"base": "GIoU"}, "base"), ({"base": None}, "base"),
    ({"base": "focal_eiou"}, "base"),
])
def test_bad_arguments_are_clear_errors(kwargs, arg):
    with pytest.raises(ValueError,
                       match=f"Expected `{arg}`.*Received: {arg}="):
        InnerIoU(**kwargs)
