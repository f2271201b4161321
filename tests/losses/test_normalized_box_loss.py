"""`get_normalized_box_loss`: SSD and YOLOv1 (boxes normalised to [0, 1])
get NWD's constant in the paper's pixels."""

import numpy as np
import pytest

from keras_boxloss.losses import nwd
from keras_boxloss.losses.registry import (get_box_loss,
                                           get_normalized_box_loss)
from tests.losses.backend_utils import to_numpy


def test_nwd_default_constant_is_12_8_pixels_of_the_image():
    loss = get_normalized_box_loss("nwd", 320)
    assert loss.get_config()["constant"] == pytest.approx(12.8 / 320)
    # (h, w): the geometric mean, 12.8 / sqrt(200 * 800) = 0.032
    loss = get_normalized_box_loss("nwd", (200, 800))
    assert loss.get_config()["constant"] == pytest.approx(0.032)


def test_normalised_boxes_give_the_pixel_loss():
    # 4 x 4 pixel boxes, centres 3 and 4 pixels apart on a 320 image:
    # W_2 = 5 pixels, 1 - exp(-5 / 12.8) as in pixels
    pixels_t, pixels_p = np.float32([[0, 0, 4, 4]]), np.float32([[3, 4, 7, 8]])
    loss = get_normalized_box_loss("nwd", 320, reduction=None)
    np.testing.assert_allclose(
        to_numpy(loss(pixels_t / 320, pixels_p / 320)),
        [1 - np.exp(-5 / 12.8)], rtol=1e-5)
    np.testing.assert_allclose(to_numpy(nwd(pixels_t, pixels_p)),
                               [1 - np.exp(-5 / 12.8)], rtol=1e-5)


def test_a_given_constant_and_other_losses_are_as_given():
    loss = get_normalized_box_loss("nwd", 320, constant=0.5)
    assert loss.get_config()["constant"] == 0.5
    for name in ("giou", "mpdiou", "huber"):
        assert (get_normalized_box_loss(name, 320).get_config()
                == get_box_loss(name).get_config())


@pytest.mark.parametrize("image_size", [0, (10,), (10, -1), "320"])
def test_bad_image_size_is_a_clear_error(image_size):
    with pytest.raises(ValueError, match=r"Expected `image_size`.*"
                       r"Received: image_size="):
        get_normalized_box_loss("nwd", image_size)
