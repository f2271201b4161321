"""One non-finite box does not poison Smooth IoU's lambda (issue 15).

lambda, the batch mean IoU, counts only boxes whose IoU and Huber terms are
finite: the other boxes' losses and gradients equal those of the same batch
without the bad box, and the bad box's own loss stays NaN.
"""

import keras
import numpy as np
import pytest

from keras_boxloss import MultiBox, SmoothIoU
from keras_boxloss.losses import smooth_iou
from keras_boxloss.losses.multibox_loss import multibox_terms
from tests.losses.backend_utils import to_numpy, value_and_grads

# Boxes that overlap partly, so lambda is strictly between 0 and 1 and the
# lambda_gradient=True path has a non-zero gradient of its own.
TARGETS = np.float32([[0, 0, 10, 10], [0, 0, 10, 20], [5, 5, 9, 9]])
PREDICTIONS = np.float32([[1, 1, 11, 10], [2, 2, 12, 12], [4, 6, 9, 10]])
BAD_ROW = 1  # the position of the bad box in the batch


def with_bad_box(targets, predictions, bad_value, coordinate=2):
    """The batch with one more box at BAD_ROW, its prediction holding
    `bad_value` at `coordinate`."""
    bad_target = np.float32([[3, 3, 8, 8]])
    bad_prediction = np.float32([[3, 3, 8, 8]])
    bad_prediction[0, coordinate] = bad_value
    return (np.insert(targets, BAD_ROW, bad_target, axis=0),
            np.insert(predictions, BAD_ROW, bad_prediction, axis=0))


def others(x):
    return np.delete(x, BAD_ROW, axis=0)


@pytest.mark.parametrize("lambda_gradient", [False, True])
@pytest.mark.parametrize("bad_value, coordinate", [
    (np.nan, 2), (np.inf, 2), (-np.inf, 0), (np.nan, 0)])
def test_bad_box_leaves_the_others_as_without_it(lambda_gradient, bad_value,
                                                 coordinate):
    t, p = with_bad_box(TARGETS, PREDICTIONS, bad_value, coordinate)

    def fn(a):
        return smooth_iou(t, a, lambda_gradient=lambda_gradient)

    def clean_fn(a):
        return smooth_iou(TARGETS, a, lambda_gradient=lambda_gradient)

    value = to_numpy(fn(p))
    clean = to_numpy(clean_fn(PREDICTIONS))
    # NaN, or inf for an infinite coordinate the IoU maps to 0
    assert not np.isfinite(value[BAD_ROW])
    np.testing.assert_allclose(others(value), clean, rtol=1e-6)
    # the batch loss is not finite: training notices the bad box
    total, (grad,) = value_and_grads(fn, p)
    _, (clean_grad,) = value_and_grads(clean_fn, PREDICTIONS)
    assert not np.isfinite(total)
    assert np.all(np.isfinite(others(grad)))
    np.testing.assert_allclose(others(grad), clean_grad, rtol=1e-5,
                               atol=1e-7)


def test_lambda_gradient_is_really_coupled_in_the_bad_box_batch():
    # Guards the test above: with lambda_gradient=True the other boxes'
    # gradient differs from the frozen-lambda one, so equality with the
    # clean batch checks the gradient through the mean, not just per box.
    t, p = with_bad_box(TARGETS, PREDICTIONS, np.nan)
    _, (coupled,) = value_and_grads(
        lambda a: smooth_iou(t, a, lambda_gradient=True), p)
    _, (frozen,) = value_and_grads(lambda a: smooth_iou(t, a), p)
    assert not np.allclose(others(coupled), others(frozen), rtol=1e-3)


def test_lambda_is_the_mean_over_finite_boxes_by_hand():
    # one box, IoU 1 (lambda 1 over it alone), beside a NaN box: the good
    # box's loss is 1 - IoU = 0, not NaN; with the NaN box counted it was NaN
    t = np.float32([[0, 0, 4, 4], [0, 0, 4, 4]])
    p = np.float32([[0, 0, 4, 4], [0, 0, np.nan, 4]])
    value = to_numpy(smooth_iou(t, p))
    assert value[0] == 0.0 and np.isnan(value[1])
    # and a half-overlap box: lambda = 1/2 over it alone,
    # loss = 0.5 (1 - 0.5) + 0.5 * Huber(0, 0, 0, 4 -> 2: 1.5)
    t = np.float32([[0, 0, 4, 4], [0, 0, 4, 4]])
    p = np.float32([[0, 0, 4, 2], [np.inf, 0, 4, 4]])
    value = to_numpy(smooth_iou(t, p))
    np.testing.assert_allclose(value[0], 0.25 + 0.75, rtol=1e-6)
    assert not np.isfinite(value[1])


@pytest.mark.parametrize("lambda_gradient", [False, True])
def test_bad_box_in_deltas_mode(lambda_gradient):
    rng = np.random.default_rng(3)
    t = rng.uniform(-0.3, 0.3, (5, 4)).astype("float32")
    p = (t + rng.uniform(-0.2, 0.2, t.shape)).astype("float32")
    bad_t, bad_p = np.insert(t, BAD_ROW, t[0], axis=0), np.insert(
        p, BAD_ROW, [0.1, np.nan, 0.0, 0.0], axis=0)

    def fn(targets):
        return lambda a: smooth_iou(targets, a, box_format="deltas",
                                    lambda_gradient=lambda_gradient)

    value = to_numpy(fn(bad_t)(bad_p))
    assert np.isnan(value[BAD_ROW])
    np.testing.assert_allclose(others(value), to_numpy(fn(t)(p)), rtol=1e-6)
    _, (grad,) = value_and_grads(fn(bad_t), bad_p)
    _, (clean_grad,) = value_and_grads(fn(t), p)
    np.testing.assert_allclose(others(grad), clean_grad, rtol=1e-5,
                               atol=1e-7)


@pytest.mark.parametrize("lambda_gradient", [False, True])
def test_bad_box_through_the_loss_class_with_sample_weight(lambda_gradient):
    # weight > 0 on the bad box: it is not padding, so it is not masked
    # away; it is left out of lambda only. Same numbers as giving it weight 0.
    t, p = with_bad_box(TARGETS, PREDICTIONS, np.nan)
    loss = SmoothIoU(lambda_gradient=lambda_gradient, reduction=None)
    kept = to_numpy(loss(t, p, sample_weight=np.float32([1, 1, 1, 1])))
    dropped = to_numpy(loss(t, p, sample_weight=np.float32([1, 0, 1, 1])))
    assert np.isnan(kept[BAD_ROW]) and dropped[BAD_ROW] == 0.0
    np.testing.assert_allclose(others(kept), others(dropped), rtol=1e-6)
    assert np.isnan(to_numpy(SmoothIoU()(t, p)))


def multibox_case(bad):
    """2 images x 4 anchors, 1 class: image 0 has positives 0, 1 (1 the bad
    one when `bad`, else ignored), image 1 positives 0, 2."""
    rng = np.random.default_rng(5)
    true_deltas = rng.uniform(-0.2, 0.2, (2, 4, 4)).astype("float32")
    pred_deltas = (true_deltas
                   + rng.uniform(-0.1, 0.1, (2, 4, 4))).astype("float32")
    classes = np.float32([[1, 1, 0, 0], [1, 0, 1, 0]])
    if bad:
        pred_deltas[0, 1, 2] = np.nan
    else:
        classes[0, 1] = -1  # the same batch without that box
    logits = rng.normal(size=(2, 4, 2)).astype("float32")
    return (np.concatenate([true_deltas, classes[..., None]], -1),
            np.concatenate([pred_deltas, logits], -1))


@pytest.mark.parametrize("lambda_gradient", [False, True])
def test_bad_positive_inside_multibox(lambda_gradient):
    box_loss = SmoothIoU(lambda_gradient=lambda_gradient)

    def localization(y_true):
        return lambda y_pred: multibox_terms(y_true, y_pred, 1, box_loss)[1]

    bad_true, bad_pred = multibox_case(bad=True)
    clean_true, clean_pred = multibox_case(bad=False)
    value = to_numpy(localization(bad_true)(bad_pred))
    clean = to_numpy(localization(clean_true)(clean_pred))
    # image 0 holds the bad box: NaN; image 1 as without it (before the fix
    # the batch lambda made it NaN too)
    assert np.isnan(value[0])
    np.testing.assert_allclose(value[1], clean[1], rtol=1e-6)
    _, (grad,) = value_and_grads(localization(bad_true), bad_pred)
    _, (clean_grad,) = value_and_grads(localization(clean_true), clean_pred)
    assert not np.all(np.isfinite(grad[0, 1, :4]))
    grad[0, 1, :4] = clean_grad[0, 1, :4] = 0.0
    np.testing.assert_allclose(grad, clean_grad, rtol=1e-5, atol=1e-7)
    # the whole MultiBox loss: the clean image's share stays finite
    per_image = to_numpy(MultiBox(1, box_loss=box_loss, reduction=None)(
        bad_true, bad_pred))
    assert np.isnan(per_image[0]) and np.isfinite(per_image[1])


@pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                    reason="the Model Garden box terms are TensorFlow code")
def test_model_garden_box_terms_use_the_same_lambda():
    # `per_box_losses` runs Smooth IoU's own function with the foreground as
    # its mask: a NaN foreground box leaves the others as without it.
    from keras_boxloss.model_garden.box_terms import per_box_losses

    rng = np.random.default_rng(7)
    t = rng.uniform(-0.3, 0.3, (1, 5, 4)).astype("float32")
    p = (t + rng.uniform(-0.2, 0.2, t.shape)).astype("float32")
    mask = np.array([[True, True, False, True, True]])
    p[0, 1, 3] = np.nan
    clean_mask = mask.copy()
    clean_mask[0, 1] = False  # the same batch without the bad box
    loss = SmoothIoU(lambda_gradient=True)
    value = to_numpy(per_box_losses(loss, t, p, mask, (10, 10, 5, 5)))
    clean = to_numpy(per_box_losses(loss, t, p, clean_mask, (10, 10, 5, 5)))
    assert np.isnan(value[0, 1])
    np.testing.assert_allclose(value[0, [0, 2, 3, 4]],
                               clean[0, [0, 2, 3, 4]], rtol=1e-6)
