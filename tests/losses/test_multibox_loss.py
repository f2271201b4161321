import math

import numpy as np
import pytest

from keras_boxloss import CIoU, DIoU, GIoU, HuberBox, MultiBox, SmoothIoU
from keras_boxloss.losses import multibox
from keras_boxloss.losses.multibox_loss import multibox_terms
from tests.losses import reference
from tests.losses.backend_utils import to_numpy, value_and_grads


def log_softmax(logits):
    logits = np.asarray(logits, "float64")
    return logits - np.log(np.sum(np.exp(logits), -1, keepdims=True))


def hand_case():
    """2 images x 6 anchors, 2 classes (3 logits, background first).

    Image 0: anchor 0 is class 1, anchor 1 is ignored (-1), anchors 2-5 are
    background. Image 1: no object, all background.
    """
    classes = np.float32([[1, -1, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]])
    true_deltas = np.zeros((2, 6, 4), "float32")
    true_deltas[0, 0] = [0.5, -0.5, 0.2, 0.1]
    pred_deltas = np.zeros((2, 6, 4), "float32")
    pred_deltas[0, 0] = [0.5, 1.5, 0.2, 0.3]   # errors 0, 2, 0, 0.2
    pred_deltas[0, 1] = [9, 9, 9, 9]           # ignored: must not count
    logits = np.zeros((2, 6, 3), "float32")
    logits[0, 0] = [0, 1, 0]
    logits[0, 1] = [5, -5, 0]                  # ignored
    # background logit low = high loss; negatives ranked 3 > 5 > 2 > 4
    logits[0, 2] = [0, 1, 0]
    logits[0, 3] = [0, 3, 0]
    logits[0, 4] = [2, 0, 0]
    logits[0, 5] = [0, 2, 0]
    logits[1, :] = [[0, 4, 0], [0, 1, 0], [0, 0, 0], [1, 0, 0], [2, 0, 0],
                    [0, 0, 3]]
    y_true = np.concatenate([true_deltas, classes[..., None]], -1)
    y_pred = np.concatenate([pred_deltas, logits], -1)
    return y_true, y_pred, logits


def test_hand_worked_case():
    y_true, y_pred, logits = hand_case()
    ce = -log_softmax(logits)
    # image 0: 1 positive -> 3 hard negatives out of 4: anchors 3, 5, 2
    cls0 = ce[0, 0, 1] + ce[0, 3, 0] + ce[0, 5, 0] + ce[0, 2, 0]
    # Huber (delta 1) of errors 0, 2, 0, 0.2: 1.5 + 0.02
    loc0 = 1.5 + 0.5 * 0.2**2
    # image 1: no positive, no minimum: nothing
    n = 1
    per_image = to_numpy(MultiBox(2, reduction=None)(y_true, y_pred))
    np.testing.assert_allclose(per_image, [(cls0 + loc0) / n, 0.0],
                               rtol=1e-5)
    np.testing.assert_allclose(to_numpy(MultiBox(2)(y_true, y_pred)),
                               (cls0 + loc0) / n, rtol=1e-5)
    # alpha weights the localization term only
    np.testing.assert_allclose(
        to_numpy(MultiBox(2, alpha=3.0)(y_true, y_pred)),
        (cls0 + 3 * loc0) / n, rtol=1e-5)


def test_min_negatives_per_image_mines_images_without_objects():
    y_true, y_pred, logits = hand_case()
    ce = -log_softmax(logits)
    # image 1's two hardest negatives: anchors 0 (bg logit 0 vs 4), 5
    expected = sorted(ce[1, :, 0])[-2:]
    per_image = to_numpy(MultiBox(2, min_negatives_per_image=2,
                                  reduction=None)(y_true, y_pred))
    np.testing.assert_allclose(per_image[1], sum(expected), rtol=1e-5)


@pytest.mark.parametrize("positives, negatives, ratio, minimum, expected", [
    (1, 10, 3.0, 0, 3),
    (2, 10, 3.0, 0, 6),
    (4, 10, 3.0, 0, 10),     # capped by the negatives there are
    (0, 10, 3.0, 0, 0),
    (0, 10, 3.0, 4, 4),      # the per-image minimum
    (1, 10, 0.5, 0, 0),      # floor(0.5 * 1)
    (3, 2, 3.0, 5, 2),
])
def test_hard_negative_counts(positives, negatives, ratio, minimum,
                              expected):
    anchors = positives + negatives + 1           # one ignored anchor
    classes = np.zeros((1, anchors), "float32")
    classes[0, :positives] = 1
    classes[0, -1] = -1
    y_true = np.concatenate([np.zeros((1, anchors, 4)), classes[..., None]],
                            -1).astype("float32")
    rng = np.random.default_rng(0)
    y_pred = np.concatenate([np.zeros((1, anchors, 4)),
                             rng.normal(size=(1, anchors, 2))], -1)
    y_pred = y_pred.astype("float32")
    # d(loss)/d(logit) is non-zero exactly on the counted anchors
    _, (grad,) = value_and_grads(
        lambda p: multibox_terms(y_true, p, 1, neg_pos_ratio=ratio,
                                 min_negatives_per_image=minimum)[0], y_pred)
    counted = np.any(grad[0, :, 4:] != 0, axis=-1)
    assert counted[:positives].all()
    assert counted[positives:-1].sum() == expected
    assert not counted[-1]
    # and the mined ones are the hardest negatives
    ce = -log_softmax(y_pred[0, positives:-1, 4:])[:, 0]
    mined = counted[positives:-1]
    if 0 < expected < negatives:
        assert ce[mined].min() >= ce[~mined].max()


def test_ranking_takes_no_gradient():
    y_true, y_pred, logits = hand_case()
    _, (grad,) = value_and_grads(lambda p: MultiBox(2)(y_true, p), y_pred)
    # the unmined negative (anchor 4) and the ignored anchor get nothing;
    # the mined ones get exactly the softmax cross-entropy gradient
    np.testing.assert_array_equal(grad[0, 4], 0.0)
    np.testing.assert_array_equal(grad[0, 1], 0.0)
    softmax = np.exp(log_softmax(logits[0, 3]))
    np.testing.assert_allclose(grad[0, 3, 4:], softmax - [1, 0, 0],
                               rtol=1e-5)


def test_no_positive_in_the_batch_gives_zero():
    y_true, y_pred, _ = hand_case()
    y_true[..., 4] = np.where(y_true[..., 4] > 0, 0, y_true[..., 4])
    value, (grad,) = value_and_grads(lambda p: MultiBox(2)(y_true, p),
                                     y_pred)
    assert value == 0.0 and np.all(grad == 0)


def test_ignored_anchors_change_nothing():
    y_true, y_pred, _ = hand_case()
    changed = y_pred.copy()
    changed[0, 1] = np.nan
    np.testing.assert_allclose(to_numpy(MultiBox(2)(y_true, changed)),
                               to_numpy(MultiBox(2)(y_true, y_pred)))


def test_iou_losses_act_on_decoded_boxes():
    rng = np.random.default_rng(5)
    anchors = np.float32([[0, 0, 10, 10], [5, 5, 25, 15], [-3, 2, 3, 10],
                          [10, 10, 30, 50]])
    true_boxes = reference.from_xyxy(  # xyxy boxes near the anchors
        np.float32([[1, 0, 9, 11], [4, 6, 16, 26], [2, -2, 11, 4],
                    [12, 8, 48, 31]]), "xyxy")
    pred_boxes = true_boxes + rng.normal(0, 1, true_boxes.shape)
    t = reference.encode_deltas(true_boxes, anchors)
    p = reference.encode_deltas(pred_boxes, anchors)
    classes = np.float32([1, 1, 0, 1])
    y_true = np.concatenate([t, classes[:, None]], -1)[None].astype("float32")
    y_pred = np.concatenate([p, np.zeros((4, 3))], -1)[None].astype("float32")
    positives = classes > 0
    expected_giou = np.array([reference.giou_loss(tuple(a), tuple(b))
                              for a, b in zip(true_boxes, pred_boxes)])
    loc = multibox_terms(y_true, y_pred, 2, box_loss=GIoU())[1]
    np.testing.assert_allclose(to_numpy(loc),
                               [expected_giou[positives].sum()], rtol=1e-4)
    expected_ciou = np.array([reference.ciou_loss(tuple(a), tuple(b))
                              for a, b in zip(true_boxes, pred_boxes)])
    loc = multibox_terms(y_true, y_pred, 2, box_loss=CIoU(),
                         anchors=anchors)[1]
    np.testing.assert_allclose(to_numpy(loc),
                               [expected_ciou[positives].sum()], rtol=1e-4)
    # Smooth IoU's lambda is the mean IoU over the positives only
    ious = np.array([reference.iou(tuple(a), tuple(b))
                     for a, b in zip(true_boxes, pred_boxes)])[positives]
    lam = ious.mean()
    huber = np.array([reference.huber_box(tuple(a), tuple(b))
                      for a, b in zip(t, p)])[positives]
    loc = multibox_terms(y_true, y_pred, 2, box_loss=SmoothIoU())[1]
    np.testing.assert_allclose(
        to_numpy(loc), [np.sum(lam * (1 - ious) + (1 - lam) * huber)],
        rtol=1e-4)


def test_sigmoid_focal_worked_by_hand():
    # one anchor of class 2 (of 2), one background, one ignored
    y_true = np.float32([[[0, 0, 0, 0, 2], [0, 0, 0, 0, 0],
                          [0, 0, 0, 0, -1]]])
    y_pred = np.float32([[[0, 0, 0, 0, 1.0, -1.0], [0, 0, 0, 0, 2.0, 0.0],
                          [0, 0, 0, 0, 9.0, 9.0]]])

    def focal(z, x, alpha=0.25, gamma=2.0):
        p = 1 / (1 + math.exp(-x))
        p_t = p if z else 1 - p
        a_t = alpha if z else 1 - alpha
        return -a_t * (1 - p_t) ** gamma * math.log(p_t)

    expected = (focal(0, 1.0) + focal(1, -1.0)      # the positive
                + focal(0, 2.0) + focal(0, 0.0))    # the background
    value = to_numpy(MultiBox(2, classification="sigmoid_focal")(y_true,
                                                                 y_pred))
    np.testing.assert_allclose(value, expected, rtol=1e-5)


def test_function_and_class_agree():
    y_true, y_pred, _ = hand_case()
    np.testing.assert_allclose(
        to_numpy(multibox(y_true, y_pred, 2, box_loss=HuberBox(delta=0.5))),
        to_numpy(MultiBox(2, box_loss=HuberBox(delta=0.5),
                          reduction=None)(y_true, y_pred)))


def test_clear_errors():
    y_true, y_pred, _ = hand_case()
    with pytest.raises(ValueError,
                       match=r"y_pred.*\(batch, anchors, 8\).*\(2, 6, 7\)"):
        MultiBox(3)(y_true, y_pred)
    with pytest.raises(ValueError, match=r"y_true.*Received: y_true.shape"):
        MultiBox(2)(y_true[..., :4], y_pred)
    with pytest.raises(ValueError, match="Expected `anchors` for DIoU"):
        MultiBox(2, box_loss=DIoU())
    with pytest.raises(ValueError, match="Received: classification='l2'"):
        MultiBox(2, classification="l2")
    with pytest.raises(ValueError, match="Received: num_classes=0"):
        MultiBox(0)
    with pytest.raises(ValueError, match="box_loss"):
        MultiBox(2, box_loss="huber")
    with pytest.raises(ValueError, match="min_negatives_per_image"):
        MultiBox(2, min_negatives_per_image=-1)
