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

from .blocks import TINY_BN_MOMENTUM, configure, output_head, widths
from .registry import register

PRESETS = {
    "original": {"input_shape": (256, 256, 1), "scale": 1.0, "output": "ab", "bn_momentum": 0.99},
    "tiny": {"input_shape": (None, None, 1), "scale": 0.125, "output": "ab", "bn_momentum": TINY_BN_MOMENTUM},
}


def residual_block(x, momentum):
    """conv-BN-ReLU-conv-BN, with ``x`` added to the result."""
    channels = x.shape[-1]
    y = layers.Conv2D(channels, 3, padding="same")(x)
    y = layers.ReLU()(layers.BatchNormalization(momentum=momentum)(y))
    y = layers.Conv2D(channels, 3, padding="same")(y)
    y = layers.BatchNormalization(momentum=momentum)(y)
    return layers.Add()([x, y])


def conv_block(x, channels, momentum):
    """conv-BN-ReLU, then a residual block."""
    x = layers.Conv2D(channels, 3, padding="same")(x)
    x = layers.ReLU()(layers.BatchNormalization(momentum=momentum)(x))
    return residual_block(x, momentum)


def residual_unet_model(input_shape, widths, output="ab", bn_momentum=0.9, name="residual_unet") -> keras.Model:
    """Seed 004's residual U-Net, inputs divisible by 4. ``widths``: the channels at full, 1/2 and
    1/4 size, (32, 64, 128) in the seed."""
    w1, w2, w3 = widths
    inputs = keras.Input(input_shape, name="L")
    stage1 = conv_block(inputs, w1, bn_momentum)
    stage2 = conv_block(layers.MaxPooling2D()(stage1), w2, bn_momentum)  # 1/2 size
    x = conv_block(layers.MaxPooling2D()(stage2), w3, bn_momentum)  # 1/4 size
    x = residual_block(x, bn_momentum)
    x = layers.Conv2DTranspose(w2, 2, strides=2, padding="same")(x)  # 1/2 size
    x = conv_block(layers.Concatenate()([x, stage2]), w2, bn_momentum)
    x = layers.Conv2DTranspose(w1, 2, strides=2, padding="same")(x)  # full size
    x = conv_block(layers.Concatenate()([x, stage1]), w1, bn_momentum)
    return keras.Model(inputs, output_head(x, output), name=name)


def residual_unet_arguments(preset="tiny", **options) -> dict:
    """``residual_unet_model``'s arguments at ``preset``, ``options`` overriding it."""
    config = configure(PRESETS, preset, options)
    return {"input_shape": config["input_shape"], "widths": widths(config["scale"], 32, 64, 128),
            "output": config["output"], "bn_momentum": config["bn_momentum"], "name": f"residual_unet_{preset}"}


residual_unet = register("residual_unet", PRESETS, residual_unet_model, residual_unet_arguments,
                         source="seed 004, Table I", summary="U-Net with residual blocks; predicts ab")
