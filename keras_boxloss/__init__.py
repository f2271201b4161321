"""keras-boxloss: the bounding-box losses of the literature as Keras 3 losses.

`import keras_boxloss` stays light: it imports Keras only. The Model Garden
plug-in (`keras_boxloss.model_garden`) and the SSD (`keras_boxloss.ssd`) import
their heavy dependencies themselves.

Importing the package registers every loss (`keras.saving` finds them by
name when a model loads), except under the `keras-boxloss` command's entry
point (`keras_boxloss_cli`), which defers that import so that `--help`
answers without Keras; the command imports the losses before it runs.
"""

import sys as _sys

__version__ = "0.1.0"

__all__ = ["BalancedL1", "CIoU", "DIoU", "EIoU", "FocalEIoU", "GIoU",
           "HuberBox", "InnerIoU", "IoU",
           "MPDIoU", "MultiBox", "NWD", "ShapeIoU", "SmoothIoU", "YOLOv1",
           "boxes", "losses"]

if getattr(_sys.modules.get("keras_boxloss_cli"), "DEFER_LOSSES", False):
    def __getattr__(name: str):
        # The command line's deferred import: the first name asked for
        # imports (and registers) the losses.
        if name not in __all__:
            raise AttributeError(
                f"module 'keras_boxloss' has no attribute {name!r}")
        import importlib

        if name in ("boxes", "losses"):
            return importlib.import_module(f"keras_boxloss.{name}")
        return getattr(importlib.import_module("keras_boxloss.losses"), name)
else:
    from keras_boxloss import boxes, losses
    from keras_boxloss.losses import (BalancedL1, CIoU, DIoU, EIoU,
                                      FocalEIoU, GIoU,
                                      HuberBox, InnerIoU, IoU, MPDIoU,
                                      MultiBox, NWD, ShapeIoU, SmoothIoU,
                                      YOLOv1)
