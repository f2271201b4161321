"""Time and peak memory of one 4000 x 3000 image through an SSD export.

    python benchmarks/export_large_image.py \
        model_garden_configs/ssd/ssd_tiny_generated.yaml image_tensor

Builds the config's (untrained) detector, exports it with the given input
type into a temporary folder, calls it once on a model-size image to warm
up, then on a random uint8 4000 x 3000 x 3 image (as a JPEG for the string
input types); prints the times and the peak RSS (`getrusage`) before and
after the large call.
"""

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import tensorflow as tf

from keras_boxloss.training.config import load_config
from keras_boxloss.training.export import INPUT_TYPES, export_saved_model
from keras_boxloss.training.train import build_model


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("config")
    parser.add_argument("input_type", choices=INPUT_TYPES)
    args = parser.parse_args()
    config = load_config(args.config, [])
    size = config.model.image_size
    with tempfile.TemporaryDirectory() as folder:
        path = export_saved_model(build_model(config), config,
                                  Path(folder) / "1",
                                  input_type=args.input_type)
        detect_fn = tf.saved_model.load(path)

        def feed(images):
            if args.input_type == "image_tensor":
                return tf.constant(images)
            if args.input_type == "float_image_tensor":
                return tf.constant(images, tf.float32)
            encoded = tf.io.encode_jpeg(images[0]).numpy()
            if args.input_type == "tf_example":
                encoded = tf.train.Example(features=tf.train.Features(
                    feature={"image/encoded": tf.train.Feature(
                        bytes_list=tf.train.BytesList(value=[encoded]))})
                ).SerializeToString()
            return tf.constant([encoded])

        small = feed(np.zeros((1, size, size, 3), np.uint8))
        detect_fn(small)
        start = time.perf_counter()
        detect_fn(small)
        small_s = time.perf_counter() - start
        large = feed(np.random.default_rng(0).integers(
            0, 256, (1, 3000, 4000, 3), dtype=np.uint8))
        before = peak_mb()
        times = []
        for _ in range(2):
            start = time.perf_counter()
            detect_fn(large)
            times.append(time.perf_counter() - start)
        print(f"{args.config} {args.input_type} ({size} px): model-size "
              f"image {small_s:.2f} s; 4000x3000 {times[0]:.2f} s, again "
              f"{times[1]:.2f} s; peak RSS {before:.0f} MB before the large "
              f"calls, {peak_mb():.0f} MB after")


if __name__ == "__main__":
    main()
