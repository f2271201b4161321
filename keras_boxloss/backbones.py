"""Feature extractors shared by the detectors, all offline (random init, or
weights from a local file: nothing is downloaded)."""

import keras

BACKBONES = ("mobilenet_v2", "tiny")


def conv_bn(x, filters, kernel, strides, name):
    x = keras.layers.Conv2D(filters, kernel, strides=strides, padding="same",
                            use_bias=False, name=f"{name}_conv")(x)
    x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
    return keras.layers.ReLU(6.0, name=f"{name}_relu")(x)


def mobilenet_v2_features(images, alpha, weights=None):
    """MobileNetV2 at strides 16 and 32, as `ssd_mobilenet_v2` takes them
    (expansion of block 13, and the last layer). Random init, or a local
    weights file of a MobileNetV2 without its top."""
    backbone = keras.applications.MobileNetV2(
        input_tensor=images, alpha=alpha, include_top=False,
        weights=weights or None)
    return [backbone.get_layer("block_13_expand_relu").output,
            backbone.get_layer("out_relu").output]


def tiny_features(images, width):
    """A small plain-conv backbone for CPU configs: strides 8 and 16.
    Plain convolutions, because XLA on CPU is slow for depthwise ones."""
    x = images
    for i, filters in enumerate([width, 2 * width, 4 * width]):
        x = conv_bn(x, filters, 3, 2, f"tiny_{i}a")
        x = conv_bn(x, filters, 3, 1, f"tiny_{i}b")
    stride8 = x
    x = conv_bn(x, 8 * width, 3, 2, "tiny_3a")
    x = conv_bn(x, 8 * width, 3, 1, "tiny_3b")
    return [stride8, x]


def backbone_features(images, backbone, alpha=1.0, weights=None):
    """Feature maps of `images` (already scaled to [-1, 1]), finest first."""
    if backbone not in BACKBONES:
        raise ValueError(f"Expected `backbone` to be one of {list(BACKBONES)}."
                         f" Received: backbone={backbone!r}")
    if backbone == "mobilenet_v2":
        return mobilenet_v2_features(images, alpha, weights)
    if weights:
        raise ValueError("Expected `backbone_weights` only with the "
                         "mobilenet_v2 backbone (the tiny one has no "
                         f"pretrained form). Received: backbone={backbone!r}, "
                         f"backbone_weights={weights!r}")
    return tiny_features(images, int(16 * alpha))
