#!/usr/bin/env bash
# Issue 19's runs in the order that settles the README's question soonest
# (does Smooth IoU beat Huber once both have their own box-loss weight?),
# then GIoU and CIoU. Every step resumes; run it again after an
# interruption (a session's processes end when it stops):
#
#   nice -n 19 bash experiments/evidence.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash experiments/sweep_bccd.sh huber smooth_iou
bash experiments/chosen_weights.sh bccd huber smooth_iou
bash experiments/chosen_weights.sh raccoon huber smooth_iou
bash experiments/sweep_bccd.sh giou ciou
bash experiments/chosen_weights.sh bccd giou ciou
bash experiments/chosen_weights.sh raccoon giou ciou
