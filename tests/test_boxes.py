import math

import numpy as np
import pytest
from keras import ops

from keras_boxloss import boxes
from tests.losses import reference
from tests.losses.backend_utils import to_numpy

XYXY = np.float32([[0, 0, 10, 20], [2, 3, 12, 5], [-4, -4, 4, 4]])


@pytest.mark.parametrize("box_format", boxes.BOX_FORMATS)
def test_to_xyxy_inverts_the_format_definitions(box_format):
    converted = reference.from_xyxy(XYXY, box_format).astype("float32")
    np.testing.assert_allclose(
        to_numpy(boxes.to_xyxy(converted, box_format)), XYXY, atol=1e-6)


def test_yxhw_is_the_papers_y1_x1_h_w():
    np.testing.assert_allclose(
        to_numpy(boxes.to_xyxy(np.float32([[1, 2, 30, 40]]), "yxhw")),
        [[2, 1, 42, 31]])


def test_decode_inverts_an_independent_encoder():
    anchors = np.float32([[0, 0, 10, 10], [5, 5, 25, 15], [-3, 2, 3, 10]])
    deltas = reference.encode_deltas(XYXY.astype("float64"),
                                     anchors.astype("float64"))
    decoded = boxes.decode_deltas(deltas.astype("float32"), anchors)
    np.testing.assert_allclose(to_numpy(decoded), XYXY, atol=1e-5)
    encoded = boxes.encode_deltas(XYXY, anchors)
    np.testing.assert_allclose(to_numpy(encoded), deltas, atol=1e-4)


def test_ssd_variances_are_inverse_scale_factors():
    anchors = np.float32([[0, 0, 10, 10]])
    deltas = np.float32([[0.1, -0.2, 0.3, 0.05]])
    with_scale = boxes.decode_deltas(deltas, anchors, (10, 10, 5, 5))
    # SSD: centre = d * variance * anchor size, size = exp(d * variance)
    ya = 5 + 0.1 * 0.1 * 10
    xa = 5 - 0.2 * 0.1 * 10
    h, w = 10 * math.exp(0.3 * 0.2), 10 * math.exp(0.05 * 0.2)
    np.testing.assert_allclose(to_numpy(with_scale),
                               [[xa - w / 2, ya - h / 2, xa + w / 2,
                                 ya + h / 2]], rtol=1e-5)


def test_decoding_clips_huge_log_sizes():
    decoded = to_numpy(boxes.decode_deltas(np.float32([[0, 0, 1e4, 1e4]])))
    assert np.all(np.isfinite(decoded))
    np.testing.assert_allclose(decoded[0, 2] - decoded[0, 0], 1000 / 16,
                               rtol=1e-5)


def test_pairwise_iou_is_the_elementwise_iou_of_every_pair():
    a, b = XYXY, XYXY[::-1] + 1.0
    matrix = to_numpy(boxes.pairwise_iou(a, b))
    assert matrix.shape == (3, 3)
    for i in range(3):
        for j in range(3):
            assert matrix[i, j] == pytest.approx(
                reference.iou(tuple(a[i]), tuple(b[j])), rel=1e-5)


def test_inverted_boxes_are_empty():
    assert float(to_numpy(boxes.box_area(np.float32([10, 10, 0, 0])))) == 0.0
    inter, union = boxes.intersection_union(np.float32([0, 0, 10, 10]),
                                            np.float32([10, 10, 0, 0]))
    assert float(to_numpy(inter)) == 0.0
    assert float(to_numpy(union)) == 100.0
    assert ops.shape(boxes.enclosing_box(XYXY, XYXY)) == (3, 4)
