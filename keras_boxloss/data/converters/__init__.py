"""Readers of annotation formats into `cleaning.Annotation`s.

Each reader only parses; `keras_boxloss.data.conversion.convert_annotations`
cleans, splits and writes the records.
"""

from keras_boxloss.data.converters.coco import read_coco_annotations
from keras_boxloss.data.converters.csv import read_csv_annotations
from keras_boxloss.data.converters.voc import read_voc_annotations

__all__ = ["read_coco_annotations", "read_csv_annotations",
           "read_voc_annotations"]
