"""Feature extractors shared by the detectors, all offline (random init, or
weights from a local file: nothing is downloaded)."""

import typing

import keras

BACKBONES = ("mobilenet_v2", "mobilenet_v3_small", "tiny")

# MobileNetV3-Small (Howard et al., 2019, Table 2) as KerasCV's base class
# takes it: its presets fetch their configs from the network, so the
# architecture is spelled out here.
MOBILENET_V3_SMALL = dict(
    stackwise_expansion=[1, 72.0 / 16, 88.0 / 24, 4, 6, 6, 3, 3, 6, 6, 6],
    stackwise_filters=[16, 24, 24, 40, 40, 40, 48, 48, 96, 96, 96],
    stackwise_kernel_size=[3, 3, 3, 5, 5, 5, 5, 5, 5, 5, 5],
    stackwise_stride=[2, 2, 1, 2, 1, 1, 1, 1, 2, 1, 1],
    stackwise_se_ratio=[0.25, None, None] + [0.25] * 8,
    stackwise_activation=["relu"] * 3 + ["hard_swish"] * 8,
)


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


def mobilenet_v3_small_features(images, alpha):
    """KerasCV 0.9's MobileNetV3Backbone (random init) at strides 16 and 32
    (its P4 and P5 pyramid levels)."""
    import keras_cv

    backbone = keras_cv.models.MobileNetV3Backbone(
        **MOBILENET_V3_SMALL, include_rescaling=False, input_tensor=images,
        alpha=alpha)
    levels = backbone.pyramid_level_inputs
    return [backbone.get_layer(levels[level]).output for level in
            ("P4", "P5")]


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


def backbone_features(images: keras.KerasTensor, backbone: str,
                      alpha: float = 1.0,
                      weights: typing.Optional[str] = None,
                      ) -> typing.List[keras.KerasTensor]:
    """Feature maps of `images` (already scaled to [-1, 1]), finest first.

    The architecture depends on `backbone` and `alpha` only (random init or
    `weights`), so a saved detector that records the two rebuilds it."""
    if backbone not in BACKBONES:
        raise ValueError(f"Expected `backbone` to be one of {list(BACKBONES)}."
                         f" Received: backbone={backbone!r}")
    if backbone == "mobilenet_v2":
        return mobilenet_v2_features(images, alpha, weights)
    if weights:
        raise ValueError("Expected `backbone_weights` only with the "
                         "mobilenet_v2 backbone. Received: "
                         f"backbone={backbone!r}, backbone_weights={weights!r}")
    if backbone == "mobilenet_v3_small":
        return mobilenet_v3_small_features(images, alpha)
    return tiny_features(images, int(16 * alpha))
