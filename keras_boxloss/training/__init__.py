"""Detector-independent training: configs, `train`, prediction, export.

A config's `detector:` picks the model (`ssd`, `yolo_v1`); every detector
offers `compute_loss` (its loss in the graph) and `decode` (raw outputs to
normalised yxyx boxes and per-class scores), and shares the rest.
"""
