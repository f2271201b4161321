"""`keras-boxloss compare`: the Smooth IoU paper's experiment on any data.

One training run per (box loss, seed), identical data order and
initialisation per seed across losses, each evaluated on the held-out split;
then the paper's Tables 2 and 3 as mean +- std over seeds.

- `plan`: the runs and their folders (`<out>/runs/<loss>-seed<k>/`).
- `data`: `--data` (converted records, a VOC folder, CSV files) to splits.
- `runner`: the `Runner` interface (prepare every run, train or resume
  and evaluate one) and `runner_for`, which picks the implementation:
- `keras_runner`: SSD and YOLOv1 runs (`keras_boxloss.training`);
- `garden_runner`: Model Garden Faster R-CNN runs (imports `official`
  when a run is prepared: `keras-boxloss[garden]`).
- `files`: the JSON files (curves, metrics) every part reads and writes.
- `summary`: aggregation, winners and seed noise, JSON and markdown.
- `plots`: metric bars and training curves as PNG.
- `compare`: the loop with its progress bar and resume.
- `leaderboard`: finished comparisons as one table (`--leaderboard`).
"""
