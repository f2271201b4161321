# Sourced by the experiment scripts. Issue 19 (sweep_bccd.sh,
# chosen_weights.sh):
# runs/ is not kept between machines, so finished runs' small result files
# (not their checkpoints) are kept under experiments/ and restored from
# there before compare resumes; a study spread over several sessions skips
# what an earlier one finished. Both functions take OUT (runs/...) and KEPT
# (experiments/...), one comparison per sub-folder.

save_kept() {  # finished runs (metrics.json is written last): their JSON
  # files and the comparison's outputs, no checkpoints (a checkpoint index
  # without its data would be read as a checkpoint)
  local out=$1 kept=$2 cmp run dest
  for cmp in "$out"/*/; do
    [ -f "$cmp/compare.json" ] || continue
    dest="$kept/$(basename "$cmp")"
    mkdir -p "$dest"
    find "$cmp" -maxdepth 1 -type f -size -2M \
      \( -name '*.json' -o -name '*.md' -o -name '*.png' \) \
      -exec cp {} "$dest/" \;
    for run in "$cmp"runs/*/; do
      [ -f "$run/metrics.json" ] || continue
      mkdir -p "$dest/runs/$(basename "$run")"
      find "$run" -maxdepth 1 -type f -size -2M -name '*.json' \
        -exec cp {} "$dest/runs/$(basename "$run")/" \;
    done
  done
  return 0
}

restore_kept() {  # what earlier sessions finished, where compare looks
  local out=$1 kept=$2 saved cmp run dest
  for saved in "$kept"/*/; do
    [ -f "$saved/compare.json" ] || continue
    cmp="$out/$(basename "$saved")"
    mkdir -p "$cmp/runs"
    [ -f "$cmp/compare.json" ] || cp "$saved/compare.json" "$cmp/"
    for run in "$saved"runs/*/; do
      [ -d "$run" ] || continue
      dest="$cmp/runs/$(basename "$run")"
      [ -f "$dest/metrics.json" ] || { mkdir -p "$dest"; cp "$run"* "$dest/"; }
    done
  done
  return 0
}

convert_bccd() {  # ../shared's BCCD -> data/bccd (train, val, test)
  [ -f data/bccd/label_map.pbtxt ] && return 0
  local b=../shared/datasets/bccd/BCCD
  keras-boxloss convert --annotations $b/Annotations --images $b/JPEGImages \
    --split train=$b/ImageSets/Main/train.txt \
    --split val=$b/ImageSets/Main/val.txt \
    --split test=$b/ImageSets/Main/test.txt --output-dir data/bccd \
    --no-progress
}

convert_raccoon() {  # ../shared's raccoon -> data/raccoon (train, test)
  [ -f data/raccoon/label_map.pbtxt ] && return 0
  local r=../shared/datasets/raccoon
  keras-boxloss convert --annotations $r/data/train_labels.csv \
    $r/data/test_labels.csv --images $r/images \
    --split train=$r/data/train_labels.csv \
    --split test=$r/data/test_labels.csv --output-dir data/raccoon \
    --no-progress
}
