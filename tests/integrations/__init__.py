"""Our losses inside the Keras ecosystem's detectors (KerasCV, KerasHub).

`generated_batch` is a few images of the generated dataset
(`keras_boxloss.data.generated`), small enough for a handful of `fit` steps
on a CPU.
"""

import numpy as np


def generated_batch(num_images=2, image_size=64, max_boxes=4, seed=0):
    """`(images float32 [N, S, S, 3], boxes xyxy pixels [N, max_boxes, 4],
    classes [N, max_boxes])`, padded with -1 (the ecosystem's padding);
    classes count from 0 (the generated dataset's ids are 1..3)."""
    from keras_boxloss.data.generated import generate_image

    rng = np.random.default_rng(seed)
    images, boxes, classes = [], [], []
    for _ in range(num_images):
        pixels, image_boxes, image_classes = generate_image(
            rng, image_size, max_objects=max_boxes)
        padded = np.full((max_boxes, 4), -1.0, np.float32)
        padded[:len(image_boxes)] = image_boxes
        labels = np.full((max_boxes,), -1.0, np.float32)
        labels[:len(image_classes)] = image_classes - 1
        images.append(pixels.astype(np.float32))
        boxes.append(padded)
        classes.append(labels)
    return np.stack(images), np.stack(boxes), np.stack(classes)
