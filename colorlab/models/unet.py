"""U-Net (Ronneberger et al. 2015) as in seed 000, model 4: two down blocks of two conv-BN-ReLU
layers, a conv-BN-ReLU bottleneck, two up blocks (2x2 transposed conv, skip concatenation,
conv-BN-ReLU) and a 3x3 output convolution. The skip connections carry edges straight to the
decoder, so detail survives the bottleneck."""

from __future__ import annotations

import functools

import keras
from keras import layers

from .registry import register

PRESETS = {
    # Seed 000's table: 120 x 176 input, widths 64/128/256, RGB sigmoid output: 1,092,099 parameters.
    "seed": {"input_shape": (120, 176, 1), "widths": (64, 128, 256), "output": "rgb", "bn_momentum": 0.99},
    # Same topology, a quarter of the channels, any input size divisible by 4, ab output. A
    # faster BatchNorm momentum: a one-minute run has too few steps to settle Keras's default 0.99,
    # and a model whose running statistics are still off predicts badly in inference mode.
    "tiny": {"input_shape": (None, None, 1), "widths": (16, 32, 64), "output": "ab", "bn_momentum": 0.9},
}
OUTPUTS = {"ab": (2, "tanh"), "rgb": (3, "sigmoid")}


def _conv_bn_relu(x, width, momentum):
    x = layers.Conv2D(width, 3, padding="same")(x)
    x = layers.BatchNormalization(momentum=momentum)(x)
    return layers.ReLU()(x)


@register("unet", source="seed 000, model 4 (and seed 004)", summary="encoder-decoder with skip connections")
def unet(preset="tiny", **options) -> keras.Model:
    """Build the U-Net; ``options`` (``input_shape``, ``widths``, ``output``, ``bn_momentum``)
    override the preset."""
    config = {**PRESETS[preset], **options}
    channels, activation = OUTPUTS[config["output"]]
    w1, w2, w3 = config["widths"]
    block = functools.partial(_conv_bn_relu, momentum=config["bn_momentum"])
    inputs = keras.Input(config["input_shape"], name="L")
    down1 = block(block(inputs, w1), w1)
    down2 = block(block(layers.MaxPooling2D()(down1), w2), w2)
    bottleneck = block(layers.MaxPooling2D()(down2), w3)
    up2 = layers.Conv2DTranspose(w2, 2, strides=2, padding="same")(bottleneck)
    up2 = block(layers.Concatenate()([up2, down2]), w2)
    up1 = layers.Conv2DTranspose(w1, 2, strides=2, padding="same")(up2)
    up1 = block(layers.Concatenate()([up1, down1]), w1)
    outputs = layers.Conv2D(channels, 3, padding="same", activation=activation, name=config["output"])(up1)
    return keras.Model(inputs, outputs, name=f"unet_{preset}")
