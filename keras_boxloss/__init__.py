"""keras-boxloss: the bounding-box losses of the literature as Keras 3 losses.

`import keras_boxloss` stays light: it imports Keras only. The Model Garden
plug-in (`keras_boxloss.model_garden`) and the SSD (`keras_boxloss.ssd`) import
their heavy dependencies themselves.
"""

from keras_boxloss import boxes, losses
from keras_boxloss.losses import (CIoU, DIoU, GIoU, HuberBox, IoU, MultiBox,
                                  SmoothIoU, YOLOv1)

__version__ = "0.1.0"

__all__ = ["CIoU", "DIoU", "GIoU", "HuberBox", "IoU", "MultiBox", "SmoothIoU",
           "YOLOv1", "boxes", "losses"]
