"""The detectors, and the objects a saved detector's file names, registered
with `keras.saving` when imported: `import keras_boxloss` imports this
module, so `keras.saving.load_model("model.keras")` (safe mode) finds the
detector class, its losses and its learning-rate schedule. Keras only.
"""

from keras_boxloss.ssd.model import SSD
from keras_boxloss.training.schedules import (CosineWithWarmup,
                                              ExponentialWithBurnin,
                                              ManualStep)
from keras_boxloss.yolo.model import YOLOv1Detector

__all__ = ["SSD", "CosineWithWarmup", "ExponentialWithBurnin", "ManualStep",
           "YOLOv1Detector"]
