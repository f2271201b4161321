"""Anchor matching and target encoding for SSD, in fixed shapes (XLA-ready).

An anchor is matched to the ground-truth box it overlaps most when that IoU
is >= `matched_threshold`; every ground-truth box is also matched to its best
anchor (the SSD paper's bipartite step, the TF OD API's `force_match`).
Padded ground truth (class < 0, boxes -1) is never matched: its IoU is set
below every threshold before either step. Anchors whose best IoU lies in
`[unmatched_threshold, matched_threshold)` are ignored (class -1); with the
two thresholds equal (SSD's 0.5 / 0.5) there are none.
"""

from keras import ops

from keras_boxloss import boxes as box_ops
from keras_boxloss.boxes import DEFAULT_SCALE_FACTORS


def match_anchors(anchors, gt_boxes, gt_classes, matched_threshold=0.5,
                  unmatched_threshold=0.5):
    """Returns `(matched_gt [B, A] int32, classes [B, A] float32)`.

    Args:
        anchors: `(A, 4)` yxyx.
        gt_boxes: `(B, G, 4)` yxyx, padded with -1.
        gt_classes: `(B, G)` classes 1..C, padded with -1.

    `classes` is the target class per anchor: the matched box's class, 0 for
    background, -1 for ignore; `matched_gt` the index of the matched box
    (0 where there is none: read it only where `classes > 0`).
    """
    gt_classes = ops.cast(gt_classes, "float32")
    valid = gt_classes > 0                                       # B, G
    # IoU is the same whatever the axis order, so yxyx goes in as it is.
    iou = box_ops.pairwise_iou(ops.expand_dims(anchors, 0), gt_boxes)
    iou = ops.where(ops.expand_dims(valid, 1), iou, -1.0)        # B, A, G
    best_gt = ops.argmax(iou, axis=-1)                           # B, A
    best_iou = ops.max(iou, axis=-1)
    # Force-match every real box to its best anchor (later boxes win ties).
    best_anchor = ops.argmax(iou, axis=1)                        # B, G
    num_anchors = ops.shape(anchors)[0]
    forced = ops.one_hot(best_anchor, num_anchors, axis=1)       # B, A, G
    forced = forced * ops.cast(ops.expand_dims(valid, 1), forced.dtype)
    is_forced = ops.max(forced, axis=-1) > 0                     # B, A
    last_forcing = ops.argmax(
        forced * ops.arange(1, forced.shape[-1] + 1, dtype=forced.dtype),
        axis=-1)
    matched_gt = ops.where(is_forced, last_forcing, best_gt)
    matched = is_forced | (best_iou >= matched_threshold)
    ignored = (~matched) & (best_iou >= unmatched_threshold)
    gt_class = ops.take_along_axis(gt_classes, matched_gt, axis=1)
    classes = ops.where(matched, gt_class, ops.where(ignored, -1.0, 0.0))
    return ops.cast(matched_gt, "int32"), classes


def encode_targets(anchors, gt_boxes, gt_classes, matched_threshold=0.5,
                   unmatched_threshold=0.5,
                   scale_factors=DEFAULT_SCALE_FACTORS):
    """MultiBox targets `(B, A, 5)`: `[ty, tx, th, tw, class]` per anchor.

    Deltas are the faster_rcnn box coder's against each anchor (zeros where
    the anchor is not matched).
    """
    matched_gt, classes = match_anchors(anchors, gt_boxes, gt_classes,
                                       matched_threshold, unmatched_threshold)
    boxes = ops.take_along_axis(
        gt_boxes, ops.expand_dims(matched_gt, -1), axis=1)       # B, A, 4
    positive = ops.expand_dims(classes > 0, -1)
    # Unmatched anchors encode against themselves: finite, then zeroed.
    anchors_b = ops.broadcast_to(anchors, ops.shape(boxes))
    boxes = ops.where(positive, boxes, anchors_b)
    deltas = box_ops.encode_deltas(boxes, anchors_b, scale_factors,
                                   box_format="yxyx", anchor_format="yxyx")
    deltas = ops.where(positive, deltas, 0.0)
    return ops.concatenate([deltas, ops.expand_dims(classes, -1)], axis=-1)
