"""Loading a saved `.keras` detector in a fresh Python process, as a user
would: `import keras_boxloss` and `keras.saving.load_model` in safe mode,
nothing else of the library imported by hand, no custom-object scope."""

import json
import subprocess
import sys

import keras
import numpy as np

FRESH_LOAD = """
import json, sys
import numpy as np
import keras
import keras_boxloss

model = keras.saving.load_model(sys.argv[1], safe_mode=True, compile=True)
# the raw head outputs (the detectors' own `predict` returns detections)
np.save(sys.argv[3], np.asarray(keras.Model.predict(
    model, np.load(sys.argv[2]), verbose=0)))
loss = model.multibox if hasattr(model, "multibox") else model.yolo_loss
print(json.dumps({
    "class": type(model).__module__ + "." + type(model).__name__,
    "config": model.get_config(),
    "loss": keras.saving.serialize_keras_object(loss),
    "optimizer": keras.saving.serialize_keras_object(model.optimizer),
    "iterations": int(model.optimizer.iterations),
}))
"""


def load_in_fresh_process(path, images, tmp_path):
    """`(predictions, facts)` of the model at `path` loaded in a new
    process; `facts` as FRESH_LOAD prints them."""
    np.save(tmp_path / "images.npy", images)
    out = tmp_path / "fresh_predictions.npy"
    result = subprocess.run(
        [sys.executable, "-c", FRESH_LOAD, str(path),
         str(tmp_path / "images.npy"), str(out)],
        capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    facts = json.loads(result.stdout.strip().splitlines()[-1])
    return np.load(out), facts


def as_json(value):
    """`value` as the fresh process' JSON gives it back (tuples as lists)."""
    return json.loads(json.dumps(value))


def serialized(obj):
    return as_json(keras.saving.serialize_keras_object(obj))
