"""The TF2 OD API tutorial's inference code, run on our exports (Keras
detectors in tests/training, Model Garden's in tests/model_garden)."""

import numpy as np
import tensorflow as tf


def example_of(encoded):
    """A serialized tf.train.Example holding `encoded` as image/encoded."""
    feature = tf.train.Feature(bytes_list=tf.train.BytesList(
        value=[encoded]))
    return tf.train.Example(features=tf.train.Features(
        feature={"image/encoded": feature})).SerializeToString()


def run_tutorial_snippet(PATH_TO_SAVED_MODEL, image_np):
    # The TF2 OD API tutorial ("Object Detection From TF2 Saved Model"),
    # as written there but for one line: its `int(detections.pop(
    # 'num_detections'))` is a TypeError from NumPy 2.4 on (no int() of a
    # shape [1] array), for the OD API's own exports as well, whose
    # num_detections is [batch] too. `[0]` is the fix for both.
    detect_fn = tf.saved_model.load(PATH_TO_SAVED_MODEL)
    input_tensor = tf.convert_to_tensor(image_np)
    input_tensor = input_tensor[tf.newaxis, ...]
    detections = detect_fn(input_tensor)
    num_detections = int(detections.pop('num_detections')[0])
    detections = {key: value[0, :num_detections].numpy()
                  for key, value in detections.items()}
    detections['num_detections'] = num_detections
    detections['detection_classes'] = \
        detections['detection_classes'].astype(np.int64)
    return detections
