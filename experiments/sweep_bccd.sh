#!/usr/bin/env bash
# Issue 19, item 1: the box-loss weight sweep on BCCD, Faster R-CNN, one
# seed, each loss's weight chosen on the validation split (never on test).
# 15 runs of 1,000 steps, ~30 min each on 2 idle CPU cores (~7.5 h).
#
#   nice -n 19 bash experiments/sweep_bccd.sh          # run / resume
#   bash experiments/sweep_bccd.sh save                # keep finished runs
#
# runs/ is not kept between machines, so finished runs' small result files
# (not their checkpoints) are saved in experiments/sweep-bccd/ and restored
# from there before compare resumes: a sweep spread over several sessions
# skips what an earlier one finished.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=runs/sweep-bccd
KEPT=experiments/sweep-bccd
save() {  # finished runs (metrics.json is written last): their JSON files
  # and the comparison's outputs, no checkpoints (a checkpoint index
  # without its data would be read as a checkpoint)
  for cmp in "$OUT"/*/; do
    [ -f "$cmp/compare.json" ] || continue
    kept="$KEPT/$(basename "$cmp")"
    mkdir -p "$kept"
    find "$cmp" -maxdepth 1 -type f -size -2M \
      \( -name '*.json' -o -name '*.md' -o -name '*.png' \) \
      -exec cp {} "$kept/" \;
    for run in "$cmp"runs/*/; do
      [ -f "$run/metrics.json" ] || continue
      mkdir -p "$kept/runs/$(basename "$run")"
      find "$run" -maxdepth 1 -type f -size -2M -name '*.json' \
        -exec cp {} "$kept/runs/$(basename "$run")/" \;
    done
  done
  return 0
}
if [ "${1:-}" = save ]; then save; exit 0; fi
for kept in "$KEPT"/*/; do  # restore what earlier sessions finished
  [ -f "$kept/compare.json" ] || continue
  cmp="$OUT/$(basename "$kept")"
  mkdir -p "$cmp/runs"
  [ -f "$cmp/compare.json" ] || cp "$kept/compare.json" "$cmp/"
  for run in "$kept"runs/*/; do
    [ -d "$run" ] || continue
    dest="$cmp/runs/$(basename "$run")"
    [ -f "$dest/metrics.json" ] || { mkdir -p "$dest"; cp "$run"* "$dest/"; }
  done
done
if [ ! -f data/bccd/label_map.pbtxt ]; then
  B=../shared/datasets/bccd/BCCD
  keras-boxloss convert --annotations $B/Annotations --images $B/JPEGImages \
    --split train=$B/ImageSets/Main/train.txt --split val=$B/ImageSets/Main/val.txt \
    --split test=$B/ImageSets/Main/test.txt --output-dir data/bccd --no-progress
fi
trap save EXIT
C="--config model_garden_configs/faster_rcnn/compare_bccd_cpu.yaml --data data/bccd --seeds 1
   --steps 1000 --curve-every 200 --no-progress --evaluate-on validation
   --set trainer.optimizer_config.learning_rate.stepwise.boundaries=[600]"
# IoU-type losses at {1, 2, 5, 10}; Huber at {0.5, 1, 2}; one output
# folder each (a comparison has one sweep), Smooth IoU first.
for LOSS in smooth_iou giou ciou; do
  keras-boxloss compare $C --losses $LOSS \
    --sweep task.losses.rpn_box_weight+task.losses.frcnn_box_weight=1,2,5,10 \
    --output-dir $OUT/$LOSS
done
keras-boxloss compare $C --losses huber \
  --sweep task.losses.rpn_box_weight+task.losses.frcnn_box_weight=0.5,1,2 \
  --output-dir $OUT/huber
