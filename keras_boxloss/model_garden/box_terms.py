"""The two box terms of Faster R-CNN with any library box loss.

Both follow Model Garden's `RpnBoxLoss` and `FastrcnnBoxLoss`
(`official/vision/losses/maskrcnn_losses.py`): a SUM over foreground boxes
divided by the replica-mean foreground count (x4 with
`normalizer="coordinates"`, Model Garden's per-coordinate count) + 0.01; the
RPN term normalised per FPN level, then summed. With the Huber loss and
Model Garden's delta this is exactly Model Garden's value.

Huber compares the deltas; IoU, GIoU and Smooth IoU compare the boxes the
deltas decode to (the library's deltas mode: no anchors needed, by IoU
invariance); DIoU and CIoU decode against the real anchors (RPN) or the
sampled RoIs (second stage).
"""

import tensorflow as tf

from keras_boxloss.boxes import DEFAULT_SCALE_FACTORS

# Model Garden's box coders: the RPN one is unscaled; the second stage's is
# `MaskRCNNModel._cascade_layer_to_weights[0]` (a test checks it), the
# library's default coder.
RPN_SCALE_FACTORS = (1.0, 1.0, 1.0, 1.0)
FRCNN_SCALE_FACTORS = DEFAULT_SCALE_FACTORS


def per_box_losses(box_loss, true_deltas, pred_deltas, mask, scale_factors,
                   anchors=None):
    """`[..., 4]` deltas to the `[...]` loss per box of a library loss: its
    `per_box_deltas` with `mask` (bool `[...]`, the foreground), so the
    other boxes are exactly 0 in value and gradient and Smooth IoU's lambda
    is the foreground's mean IoU. `anchors` (yxyx, `[..., 4]`) are passed
    only to the losses that need them (`requires_anchors`)."""
    if not box_loss.requires_anchors:
        anchors = None
    return box_loss.per_box_deltas(true_deltas, pred_deltas, scale_factors,
                                   anchors, "yxyx", mask=mask)


def normalized_sum(per_box, mask, normalizer):
    """Sum over `mask` / (replica-mean count (x4 for "coordinates") + 0.01),
    as Model Garden normalises its box losses."""
    weight = tf.cast(mask, per_box.dtype)
    count = tf.reduce_sum(weight)
    if normalizer == "coordinates":
        count = 4.0 * count
    count = tf.distribute.get_replica_context().all_reduce(
        tf.distribute.ReduceOp.MEAN, count)
    return tf.reduce_sum(per_box * weight) / (count + 0.01)


def _flat_boxes(tensor):
    """`[B, H, W, A * 4]` to `[B, H * W * A, 4]` (static sizes)."""
    _, height, width, channels = tensor.get_shape().as_list()
    return tf.reshape(tensor, [-1, height * width * (channels // 4), 4])


def rpn_box_loss(box_loss, normalizer, rpn_boxes, rpn_box_targets,
                 anchor_boxes=None):
    """The RPN box term: per-level dicts of `[B, H, W, A * 4]` deltas
    (unscaled coder) and anchors. An anchor is foreground where its target
    is non-zero (Model Garden's test). Smooth IoU's lambda is the mean over
    the foreground anchors of all levels."""
    levels = sorted(rpn_boxes)
    targets = [_flat_boxes(rpn_box_targets[level]) for level in levels]
    sizes = [t.get_shape().as_list()[1] for t in targets]
    true_deltas = tf.concat(targets, axis=1)
    pred_deltas = tf.concat([_flat_boxes(rpn_boxes[level])
                             for level in levels], axis=1)
    anchors = None
    if getattr(box_loss, "requires_anchors", False):
        anchors = tf.concat([_flat_boxes(tf.cast(anchor_boxes[level],
                                                 true_deltas.dtype))
                             for level in levels], axis=1)
    mask = tf.reduce_any(tf.abs(true_deltas) > 1e-6, axis=-1)
    per_box = per_box_losses(box_loss, true_deltas, pred_deltas, mask,
                             RPN_SCALE_FACTORS, anchors)
    return tf.add_n([
        normalized_sum(level_loss, level_mask, normalizer)
        for level_loss, level_mask in zip(tf.split(per_box, sizes, axis=1),
                                           tf.split(mask, sizes, axis=1))])


def frcnn_box_loss(box_loss, normalizer, box_outputs, class_targets,
                   box_targets, rois=None, class_agnostic=False):
    """The second-stage box term: `box_outputs` `[B, R, 4 * C]` (or
    `[B, R, 4]` class-agnostic), `class_targets` `[B, R]` (0 is
    background), `box_targets` `[B, R, 4]` deltas (weights 10, 10, 5, 5)
    against the sampled `rois` (yxyx pixels)."""
    class_targets = tf.cast(class_targets, tf.int32)
    if not class_agnostic:
        _, num_rois, channels = box_outputs.get_shape().as_list()
        box_outputs = tf.reshape(box_outputs, [-1, num_rois, channels // 4, 4])
        box_outputs = tf.gather(box_outputs, class_targets, batch_dims=2)
    mask = class_targets > 0
    per_box = per_box_losses(box_loss, box_targets, box_outputs, mask,
                             FRCNN_SCALE_FACTORS, rois)
    return normalized_sum(per_box, mask, normalizer)
