"""Seed 004's U-Net with residual blocks (its Table I, 256 x 256 input), lesson 07.

A *residual block* is conv-BN-ReLU-conv-BN with its input added to the result (same channels).
A *convolutional block* is conv-BN-ReLU followed by a residual block. The table:

    conv block 32 | pool | conv block 64 | pool | conv block 128 | residual block 128 |
    transposed conv 64, concat with stage 2 | conv block 64 |
    transposed conv 32, concat with stage 1 | conv block 32 | conv 2 | tanh

The table gives output sizes, not kernels: we use 3x3 convolutions and 2x2 stride-2 transposed
convolutions, as the seed's figure suggests; the parameter count follows from that choice.
"""

from __future__ import annotations

import keras
from keras import layers

from .blocks import TINY_BN_MOMENTUM, configure, output_head, width
from .registry import register

PRESETS = {
    "original": {"input_shape": (256, 256, 1), "scale": 1.0, "output": "ab", "bn_momentum": 0.99},
    "tiny": {"input_shape": (None, None, 1), "scale": 0.125, "output": "ab", "bn_momentum": TINY_BN_MOMENTUM},
}


def _residual_block(x, momentum):
    channels = x.shape[-1]
    y = layers.Conv2D(channels, 3, padding="same")(x)
    y = layers.ReLU()(layers.BatchNormalization(momentum=momentum)(y))
    y = layers.Conv2D(channels, 3, padding="same")(y)
    y = layers.BatchNormalization(momentum=momentum)(y)
    return layers.Add()([x, y])


def _conv_block(x, channels, momentum):
    x = layers.Conv2D(channels, 3, padding="same")(x)
    x = layers.ReLU()(layers.BatchNormalization(momentum=momentum)(x))
    return _residual_block(x, momentum)


@register("residual_unet", PRESETS, source="seed 004, Table I", summary="U-Net with residual blocks; predicts ab")
def residual_unet(preset="tiny", **options) -> keras.Model:
    """Build seed 004's residual U-Net (inputs divisible by 4)."""
    c = configure(PRESETS, preset, options)
    w1, w2, w3 = (width(n, c["scale"]) for n in (32, 64, 128))
    m = c["bn_momentum"]
    inputs = keras.Input(c["input_shape"], name="L")
    stage1 = _conv_block(inputs, w1, m)
    stage2 = _conv_block(layers.MaxPooling2D()(stage1), w2, m)
    bottom = _residual_block(_conv_block(layers.MaxPooling2D()(stage2), w3, m), m)
    up2 = layers.Conv2DTranspose(w2, 2, strides=2, padding="same")(bottom)
    up2 = _conv_block(layers.Concatenate()([up2, stage2]), w2, m)
    up1 = layers.Conv2DTranspose(w1, 2, strides=2, padding="same")(up2)
    up1 = _conv_block(layers.Concatenate()([up1, stage1]), w1, m)
    return keras.Model(inputs, output_head(up1, c["output"]), name=f"residual_unet_{preset}")
