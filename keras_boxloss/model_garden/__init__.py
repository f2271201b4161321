"""Model Garden (`official.vision`) Faster R-CNN with the library's box losses.

The only package of keras_boxloss that imports `official` or `tf_keras`;
`import keras_boxloss` never imports it. Importing
`keras_boxloss.model_garden.registry_imports` registers:

- the experiment `fasterrcnn_resnetfpn_boxloss` (`configs.py`): Model
  Garden's `fasterrcnn_resnetfpn_coco` with a task config that adds
  `task.rpn_box_loss` and `task.frcnn_box_loss`;
- its task (`task.py`), which replaces only the two box terms of
  `MaskRCNNTask.build_losses` by `box_terms.py`, and reads records with
  `decoder.py`'s decoders (any `image/source_id`: a file name, empty or
  missing; stable int64 COCO image ids; unique over the validation data);
- a model that also outputs the sampled RoIs (`model.py`), used when the
  second stage needs them (DIoU, CIoU).

`train.py` and `export.py` wrap Model Garden's own trainer and exporter.
"""
