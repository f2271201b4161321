#!/usr/bin/env bash
# Issue 19, item 2: each loss at the box-loss weight its BCCD sweep chose
# (validation mAP@.5, experiments/sweep-bccd/LOSS/summary.json), 3 seeds,
# Faster R-CNN, evaluated on test, at the README's settled budgets: BCCD
# 1,000 steps (LR drop at 600), raccoon 1,500 (drop at 1,000). Raccoon has
# no validation split: it takes BCCD's weights. ~21-30 min a BCCD run and
# ~30-45 a raccoon run on 2 CPU cores.
#
#   nice -n 19 bash experiments/chosen_weights.sh DATASET LOSS...  # run
#   bash experiments/chosen_weights.sh save            # keep finished runs
#
# DATASET: bccd or raccoon. One output folder per (dataset, loss), kept in
# experiments/chosen-weights/ (see lib.sh); `keras-boxloss compare
# --leaderboard` pairs each with Huber's folder of the same dataset.
set -euo pipefail
cd "$(dirname "$0")/.."
source experiments/lib.sh
OUT=runs/chosen-weights
KEPT=experiments/chosen-weights
if [ "${1:-}" = save ]; then save_kept $OUT $KEPT; exit 0; fi
DATASET=${1:?Expected a dataset, bccd or raccoon, then losses}
shift
# Arrays, not strings: "[600]" must not meet the shell's globbing.
case $DATASET in
  bccd) convert_bccd
        S=(--config model_garden_configs/faster_rcnn/compare_bccd_cpu.yaml
           --data data/bccd --steps 1000 --curve-every 200
           --set "trainer.optimizer_config.learning_rate.stepwise.boundaries=[600]") ;;
  raccoon) convert_raccoon
        S=(--config model_garden_configs/faster_rcnn/compare_raccoon_cpu.yaml
           --data data/raccoon --steps 1500 --curve-every 250
           --set "trainer.optimizer_config.learning_rate.stepwise.boundaries=[1000]") ;;
  *) echo "Expected a dataset, bccd or raccoon. Received: $DATASET" >&2
     exit 2 ;;
esac
if [ $# -eq 0 ]; then
  echo "Expected losses after the dataset (huber, smooth_iou, giou," \
       "ciou). Received: none" >&2
  exit 2
fi
restore_kept $OUT $KEPT
trap 'save_kept $OUT $KEPT' EXIT
for L in "$@"; do
  SUMMARY=experiments/sweep-bccd/$L/summary.json
  if [ ! -f "$SUMMARY" ]; then
    echo "Expected $L's finished sweep in $SUMMARY (run" \
         "experiments/sweep_bccd.sh $L first). Received: no such file" >&2
    exit 2
  fi
  W=$(python -c 'import json, sys
choice = json.load(open(sys.argv[1])).get("sweep", {}).get("choices", {})
print(choice.get(sys.argv[2], {}).get("value") or "")' "$SUMMARY" "$L")
  if [ -z "$W" ]; then
    echo "Expected a chosen weight for $L in $SUMMARY (its sweep" \
         "unfinished?). Received: none" >&2
    exit 2
  fi
  echo "$DATASET $L: box-loss weight $W (chosen on BCCD validation)"
  keras-boxloss compare "${S[@]}" --losses $L --seeds 3 --no-progress \
    --set task.losses.rpn_box_weight=$W --set task.losses.frcnn_box_weight=$W \
    --output-dir $OUT/$DATASET-$L
done
