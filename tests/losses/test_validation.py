"""Bad input is a ValueError naming the argument, raised at build or trace."""

import keras
import numpy as np
import pytest

from keras_boxloss import CIoU, DIoU, GIoU, HuberBox, IoU, SmoothIoU
from keras_boxloss.losses import giou, huber_box

BOX_LOSSES = [IoU, GIoU, DIoU, CIoU, SmoothIoU]


@pytest.mark.parametrize("cls", BOX_LOSSES + [HuberBox])
def test_wrong_last_dimension(cls):
    with pytest.raises(ValueError,
                       match=r"y_true.*shape \(\.\.\., 4\).*y_true.shape"):
        cls()(np.zeros((3, 5)), np.zeros((3, 5)))


@pytest.mark.parametrize("cls", BOX_LOSSES + [HuberBox])
def test_mismatched_shapes(cls):
    with pytest.raises(ValueError, match="same shape.*y_pred.shape=\\(2, 4\\)"):
        cls()(np.zeros((3, 4)), np.zeros((2, 4)))


@pytest.mark.parametrize("cls", BOX_LOSSES)
def test_unknown_box_format(cls):
    with pytest.raises(ValueError,
                       match="box_format.*Received: box_format='xyzw'"):
        cls(box_format="xyzw")


@pytest.mark.parametrize("cls", BOX_LOSSES)
@pytest.mark.parametrize("eps", [-1e-7, 0.0, float("inf")])
def test_bad_eps(cls, eps):
    with pytest.raises(ValueError, match="Expected `eps`.*Received: eps="):
        cls(eps=eps)


def test_bad_scale_factors_and_misplaced_delta_arguments():
    with pytest.raises(ValueError, match="Received: scale_factors=\\(10, 10\\)"):
        GIoU(box_format="deltas", scale_factors=(10, 10))
    with pytest.raises(ValueError, match="Expected `scale_factors`"):
        GIoU(box_format="deltas", scale_factors=(10, 10, -5, 5))
    with pytest.raises(ValueError, match="only with box_format='deltas'"):
        GIoU(scale_factors=(10, 10, 5, 5))
    with pytest.raises(ValueError, match="anchors.shape"):
        DIoU(box_format="deltas", anchors=np.zeros((3, 3)))
    with pytest.raises(ValueError, match="broadcastable"):
        DIoU(box_format="deltas", anchors=np.zeros((3, 4)))(
            np.zeros((2, 4)), np.zeros((2, 4)))


def test_functions_validate_too():
    with pytest.raises(ValueError, match="Received: delta=-1"):
        huber_box(np.zeros((1, 4)), np.zeros((1, 4)), delta=-1)
    with pytest.raises(ValueError, match="box_format"):
        giou(np.zeros((1, 4)), np.zeros((1, 4)), box_format="ltrb")


def test_shape_errors_are_raised_when_a_model_is_traced():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(3)])
    model.compile(loss=GIoU())
    with pytest.raises(ValueError, match="shape \\(\\.\\.\\., 4\\)"):
        model.fit(np.zeros((4, 3)), np.zeros((4, 3)), verbose=0)


def test_bad_sample_weight_shape():
    with pytest.raises(ValueError, match="sample_weight.shape"):
        GIoU()(np.zeros((2, 3, 4)), np.zeros((2, 3, 4)),
               sample_weight=np.ones((2, 3, 5)))
