"""A YOLOv1-style detector (Redmon et al., 2016) trained with `YOLOv1`."""
