import math

import numpy as np
import pytest

from keras_boxloss.ssd.anchors import (boxes_per_location, layer_box_shapes,
                                       ssd_default_boxes)

SSD300 = [(19, 19), (10, 10), (5, 5), (3, 3), (2, 2), (1, 1)]


def torchvision_style_boxes(sizes, scales, ratios):
    """Default boxes built the other way round, loop by loop, as
    torchvision's DefaultBoxGenerator and the SSD paper describe them:
    for each cell, for each (scale, ratio): w = s sqrt(r), h = s / sqrt(r)."""
    out = []
    for k, (h_cells, w_cells) in enumerate(sizes):
        for i in range(h_cells):
            for j in range(w_cells):
                cy, cx = (i + 0.5) / h_cells, (j + 0.5) / w_cells
                for s, r in scales[k]:
                    w, h = s * math.sqrt(r), s / math.sqrt(r)
                    out.append([cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2])
    return np.array(out)


def test_ssd_mobilenet_v2_has_1917_default_boxes():
    assert ssd_default_boxes(SSD300).shape == (1917, 4)
    assert boxes_per_location() == [3, 6, 6, 6, 6, 6]


def test_matches_a_loop_by_loop_construction():
    s = [0.2 + 0.75 * i / 5 for i in range(6)] + [1.0]
    ratios = [1, 2, 0.5, 3, 1 / 3]
    scales = [[(0.1, 1.0), (s[0], 2.0), (s[0], 0.5)]]
    for k in range(1, 6):
        scales.append([(s[k], r) for r in ratios]
                      + [(math.sqrt(s[k] * s[k + 1]), 1.0)])
    expected = torchvision_style_boxes(SSD300, scales, ratios)
    np.testing.assert_allclose(ssd_default_boxes(SSD300), expected,
                               atol=1e-6)


def test_scales_are_interpolated_between_min_and_max():
    shapes = layer_box_shapes(num_layers=6)
    # aspect ratio 1 box of layer k has side s_k
    for k, expected in enumerate([0.35, 0.5, 0.65, 0.8, 0.95], start=1):
        assert shapes[k][0] == pytest.approx((expected, expected))


@pytest.mark.parametrize("kwargs, name", [
    ({"num_layers": 0}, "num_layers"),
    ({"min_scale": 0.9, "max_scale": 0.2}, "min_scale"),
])
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        layer_box_shapes(**kwargs)
