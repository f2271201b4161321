import numpy as np

from keras_boxloss.ssd.matching import encode_targets, match_anchors
from tests.losses import reference
from tests.losses.backend_utils import to_numpy

ANCHORS = np.float32([[0, 0, 0.5, 0.5], [0, 0.5, 0.5, 1], [0.5, 0, 1, 0.5],
                      [0.5, 0.5, 1, 1], [0.2, 0.2, 0.8, 0.8],
                      [0.9, 0.9, 1.0, 1.0]])


def loop_matching(anchors, boxes, classes, threshold=0.5):
    """The SSD paper's matching, one anchor and one box at a time."""
    valid = [g for g in range(len(classes)) if classes[g] > 0]
    out = np.zeros(len(anchors))
    for a, anchor in enumerate(anchors):
        ious = {g: reference.iou(tuple(anchor), tuple(boxes[g]))
                for g in valid}
        if ious and max(ious.values()) >= threshold:
            out[a] = classes[max(ious, key=ious.get)]
    for g in valid:
        ious = [reference.iou(tuple(a), tuple(boxes[g])) for a in anchors]
        out[int(np.argmax(ious))] = classes[g]
    return out


def test_matching_agrees_with_a_loop_reference():
    rng = np.random.default_rng(0)
    for _ in range(20):
        centre = rng.uniform(0.1, 0.9, (4, 2))
        size = rng.uniform(0.05, 0.6, (4, 2))
        boxes = np.concatenate([centre - size / 2, centre + size / 2], -1)
        classes = rng.integers(1, 4, 4).astype("float32")
        classes[3] = -1  # padding
        boxes[3] = -1
        _, got = match_anchors(ANCHORS, boxes[None].astype("float32"),
                               classes[None])
        np.testing.assert_array_equal(
            to_numpy(got)[0], loop_matching(ANCHORS, boxes, classes))


def test_padding_is_never_matched_even_when_it_overlaps_nothing():
    boxes = np.float32([[[-1, -1, -1, -1], [-1, -1, -1, -1]]])
    classes = np.float32([[-1, -1]])
    _, got = match_anchors(ANCHORS, boxes, classes)
    np.testing.assert_array_equal(to_numpy(got), 0.0)


def test_force_match_gives_a_small_box_its_best_anchor():
    # IoU with every anchor < 0.5, still matched to the best one (index 5)
    boxes = np.float32([[[0.92, 0.92, 0.99, 0.99]]])
    _, got = match_anchors(ANCHORS, boxes, np.float32([[2]]))
    np.testing.assert_array_equal(to_numpy(got)[0], [0, 0, 0, 0, 0, 2])


def test_ignore_band_between_thresholds():
    boxes = np.float32([[[0, 0, 0.5, 0.6]]])      # IoU 0.833 with anchor 0
    _, got = match_anchors(ANCHORS, boxes, np.float32([[1]]),
                           matched_threshold=0.9, unmatched_threshold=0.15)
    got = to_numpy(got)[0]
    assert got[0] == 1        # below 0.9, but forced: its best anchor
    # anchor 4: 0.12 / 0.54 = 0.22, in [0.15, 0.9): ignored
    assert got[4] == -1
    # anchor 1: 0.05 / 0.5 = 0.1, below 0.15: background
    assert got[1] == 0


def test_targets_encode_the_matched_box():
    boxes = np.float32([[[0.1, 0.1, 0.45, 0.4], [-1, -1, -1, -1]]])
    targets = to_numpy(encode_targets(ANCHORS, boxes, np.float32([[3, -1]])))
    assert targets.shape == (1, 6, 5)
    positive = targets[0, :, 4] > 0
    assert positive.tolist() == [True, False, False, False, False, False]
    xyxy = boxes[0, :1][:, [1, 0, 3, 2]]
    expected = reference.encode_deltas(xyxy.astype("float64"),
                                       ANCHORS[:1].astype("float64"))
    np.testing.assert_allclose(targets[0, 0, :4], expected[0], rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_array_equal(targets[0, 1:, :4], 0.0)
