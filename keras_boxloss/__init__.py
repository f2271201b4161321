"""keras-boxloss: the bounding-box losses of the literature as Keras 3 losses.

`import keras_boxloss` stays light: it imports Keras only. The Model Garden
plug-in (`keras_boxloss.model_garden`) and the SSD (`keras_boxloss.ssd`) import
their heavy dependencies themselves.

Importing the package registers every loss and detector (`keras.saving`
finds them by name when a model loads), except under the `keras-boxloss`
command's entry point (`keras_boxloss_cli`), which defers those imports so
that `--help` answers without Keras; the command imports them before it
runs (`REGISTERING`).
"""

import sys as _sys

__version__ = "0.1.0"

__all__ = ["AlphaIoU", "BalancedL1", "CIoU", "DIoU", "EIoU", "FocalEIoU",
           "GIoU", "HuberBox", "InnerIoU", "IoU", "MPDIoU", "MultiBox", "NWD",
           "SIoU", "ShapeIoU", "SmoothIoU", "WIoU", "YOLOv1", "SSD",
           "YOLOv1Detector", "boxes", "losses"]

# The modules whose import registers what a saved model names.
REGISTERING = ("keras_boxloss.losses", "keras_boxloss.detectors")

if getattr(_sys.modules.get("keras_boxloss_cli"), "DEFER_LOSSES", False):
    def __getattr__(name: str):
        # The command line's deferred import: the first name asked for
        # imports (and registers) the losses and detectors.
        if name not in __all__:
            raise AttributeError(
                f"module 'keras_boxloss' has no attribute {name!r}")
        import importlib

        loss_module, detectors = (importlib.import_module(module)
                                  for module in REGISTERING)
        if name in ("boxes", "losses"):
            return importlib.import_module(f"keras_boxloss.{name}")
        return getattr(detectors if name in detectors.__all__ else
                       loss_module, name)
else:
    from keras_boxloss import boxes, losses
    from keras_boxloss.losses import (NWD, AlphaIoU, BalancedL1, CIoU,
                                      DIoU, EIoU, FocalEIoU, GIoU, HuberBox,
                                      InnerIoU, IoU, MPDIoU, MultiBox, SIoU,
                                      ShapeIoU, SmoothIoU, WIoU, YOLOv1)
    from keras_boxloss.detectors import SSD, YOLOv1Detector
