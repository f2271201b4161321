#!/usr/bin/env bash
# Issue 19, item 1: the box-loss weight sweep on BCCD, Faster R-CNN, one
# seed, each loss's weight chosen on the validation split (never on test).
# 15 runs of 1,000 steps, ~21-30 min each on 2 idle CPU cores.
#
#   nice -n 19 bash experiments/sweep_bccd.sh [LOSS...]  # run / resume
#   bash experiments/sweep_bccd.sh save                  # keep finished runs
#
# LOSS: huber, smooth_iou, giou, ciou (default: all, in that order: Huber's
# weight and Smooth IoU's settle the README's main question first). The
# finished runs are kept in experiments/sweep-bccd/ (see lib.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
source experiments/lib.sh
OUT=runs/sweep-bccd
KEPT=experiments/sweep-bccd
if [ "${1:-}" = save ]; then save_kept $OUT $KEPT; exit 0; fi
restore_kept $OUT $KEPT
convert_bccd
trap 'save_kept $OUT $KEPT' EXIT
# An array, not a string: "[600]" must not meet the shell's globbing.
C=(--config model_garden_configs/faster_rcnn/compare_bccd_cpu.yaml
   --data data/bccd --seeds 1 --steps 1000 --curve-every 200 --no-progress
   --evaluate-on validation
   --set "trainer.optimizer_config.learning_rate.stepwise.boundaries=[600]")
# IoU-type losses at {1, 2, 5, 10}; Huber at {0.5, 1, 2}; one output
# folder each (a comparison has one sweep).
for L in ${*:-huber smooth_iou giou ciou}; do
  case $L in
    huber) WEIGHTS=0.5,1,2 ;;
    smooth_iou|giou|ciou) WEIGHTS=1,2,5,10 ;;
    *) echo "Expected losses among huber, smooth_iou, giou, ciou." \
         "Received: $L" >&2
       exit 2 ;;
  esac
  keras-boxloss compare "${C[@]}" --losses $L \
    --sweep task.losses.rpn_box_weight+task.losses.frcnn_box_weight=$WEIGHTS \
    --output-dir $OUT/$L
done
