"""A toy box-regression task: features -> one box, for demos and tests.

Each sample's box is a fixed function of 8 random features, in pixels of a
64 x 64 image, so a small MLP can learn it; what a loss makes of the early,
badly overlapping predictions is what the task shows. Pixels, not [0, 1]
coordinates, as detectors regress: the Huber term then has the scale it has
in practice relative to the IoU terms, which lie in [0, 1] or [0, 2].
"""

import keras
import numpy as np

from keras_boxloss import boxes

NUM_FEATURES = 8
IMAGE_SIZE = 64.0


def make_toy_boxes(num_samples, seed=0):
    """Returns `(features [n, 8], boxes [n, 4] xyxy in pixels)`."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(num_samples, NUM_FEATURES)).astype("float32")
    centre = 0.5 + 0.12 * np.tanh(features[:, :2] + 0.5 * features[:, 4:6])
    size = 0.25 * np.exp(0.3 * np.tanh(features[:, 2:4] - features[:, 6:8]))
    xyxy = np.concatenate([centre - size / 2, centre + size / 2], axis=-1)
    return features, (IMAGE_SIZE * xyxy).astype("float32")


def centre_log_size_to_xyxy(outputs):
    """(cx, cy, log w, log h) in units of 1/8 image -> xyxy pixels.

    A positive size by construction, as detector box coders have it: a head
    that regressed raw corners would start with half its boxes inverted,
    where IoU and GIoU have no gradient (the loss reads an inverted box as
    empty).
    """
    unit = IMAGE_SIZE / 8
    centre = unit * outputs[..., :2]
    half = 0.5 * unit * keras.ops.exp(keras.ops.clip(outputs[..., 2:], -8, 4))
    return keras.ops.concatenate([centre - half, centre + half], axis=-1)


def build_toy_model(seed=0):
    """An MLP from the 8 features to an xyxy box in pixels."""
    keras.utils.set_random_seed(seed)
    return keras.Sequential([
        keras.Input((NUM_FEATURES,)),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(4),
        keras.layers.Lambda(centre_log_size_to_xyxy),
    ])


def mean_iou(y_true, y_pred):
    """Mean element-wise IoU of two xyxy box arrays, as a float."""
    return float(np.mean(keras.ops.convert_to_numpy(
        boxes.box_iou(keras.ops.convert_to_tensor(y_true),
                      keras.ops.convert_to_tensor(y_pred)))))


def fit_toy_model(loss, epochs=20, num_train=2048, num_test=512, seed=0,
                  learning_rate=3e-3, jit_compile="auto"):
    """Trains `build_toy_model` with `loss`; returns a dict of results."""
    x_train, y_train = make_toy_boxes(num_train, seed)
    x_test, y_test = make_toy_boxes(num_test, seed + 1)
    model = build_toy_model(seed)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss,
                  jit_compile=jit_compile)
    iou_before = mean_iou(y_test, model.predict(x_test, verbose=0))
    history = model.fit(x_train, y_train, batch_size=64, epochs=epochs,
                        verbose=0, shuffle=True)
    iou_after = mean_iou(y_test, model.predict(x_test, verbose=0))
    return {
        "model": model,
        "loss_history": [float(v) for v in history.history["loss"]],
        "test_iou_before": iou_before,
        "test_iou_after": iou_after,
    }
