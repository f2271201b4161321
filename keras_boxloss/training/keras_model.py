"""`model.keras`: a trained detector as one Keras file.

`train` writes it at the end of every run that trains (a new, resumed or
continued one), after the final `model.weights.h5` and before the run is
marked finished, so a finished run's `model.keras` holds its final weights;
a continued run rewrites it. After `import keras_boxloss`,
`keras.saving.load_model(path)` (safe mode) rebuilds the detector from its
config (backbone, default boxes, matcher and loss settings), loads its
weights and, compiled, its optimizer with its state.
"""

import os
from pathlib import Path

import keras

from keras_boxloss.training.run_state import KERAS_MODEL


def save_keras_model(model: keras.Model, model_dir) -> Path:
    """Saves `model` as `model_dir/model.keras`, whole or not at all: to a
    temporary file in the same folder, then renamed over the old one."""
    model_dir = Path(model_dir)
    path = model_dir / KERAS_MODEL
    # `Model.save` wants the .keras suffix, so the prefix marks it partial.
    partial = model_dir / ("partial." + KERAS_MODEL)
    model.save(partial)
    os.replace(partial, path)
    return path
