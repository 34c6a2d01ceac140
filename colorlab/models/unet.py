"""U-Net (Ronneberger et al. 2015) as in seed 000, model 4: two down blocks of two conv-BN-ReLU
layers, a conv-BN-ReLU bottleneck, two up blocks (2x2 transposed conv, skip concatenation,
conv-BN-ReLU) and a 3x3 output convolution. The skip connections carry edges straight to the
decoder, so detail survives the bottleneck. Lesson 07."""

from __future__ import annotations

import keras
from keras import layers

from .blocks import TINY_BN_MOMENTUM, configure, conv_bn_act, output_head, widths
from .registry import register

PRESETS = {
    # Seed 000's table: 120 x 176 input, widths 64/128/256, RGB sigmoid output: 1,092,099 parameters.
    "original": {"input_shape": (120, 176, 1), "scale": 1.0, "output": "rgb", "bn_momentum": 0.99},
    # Same topology, an eighth of the channels (>= 200 images/s at 64 x 64 on 2 CPU cores), any
    # input size divisible by 4, ab output.
    "tiny": {"input_shape": (None, None, 1), "scale": 0.125, "output": "ab", "bn_momentum": TINY_BN_MOMENTUM},
}


def unet_layers(x, widths, bn_momentum=0.9):
    """The U-Net's encoder and decoder on the tensor ``x`` (any number of channels, size divisible
    by 4); returns the full-size features its output head reads. ``widths``: the channels at
    full, 1/2 and 1/4 size, (64, 128, 256) in the seed."""
    w1, w2, w3 = widths
    # Encoder: two conv-BN-ReLU per level, then max-pooling halves the size.
    down1 = conv_bn_act(conv_bn_act(x, w1, bn_momentum), w1, bn_momentum)
    x = layers.MaxPooling2D()(down1)  # 1/2 size
    down2 = conv_bn_act(conv_bn_act(x, w2, bn_momentum), w2, bn_momentum)
    x = layers.MaxPooling2D()(down2)  # 1/4 size
    bottleneck = conv_bn_act(x, w3, bn_momentum)
    # Decoder: a transposed convolution doubles the size, the skip brings the encoder's detail.
    x = layers.Conv2DTranspose(w2, 2, strides=2, padding="same")(bottleneck)  # 1/2 size
    x = conv_bn_act(layers.Concatenate()([x, down2]), w2, bn_momentum)
    x = layers.Conv2DTranspose(w1, 2, strides=2, padding="same")(x)  # full size
    return conv_bn_act(layers.Concatenate()([x, down1]), w1, bn_momentum)


def unet_model(input_shape, widths, output="ab", bn_momentum=0.9, name="unet") -> keras.Model:
    """The U-Net (``unet_layers``) from L* / 100 to ``output``, inputs divisible by 4."""
    inputs = keras.Input(input_shape, name="L")
    return keras.Model(inputs, output_head(unet_layers(inputs, widths, bn_momentum), output), name=name)


def unet_arguments(preset="tiny", **options) -> dict:
    """``unet_model``'s arguments at ``preset``; ``options`` (``input_shape``, ``scale``,
    ``output``, ``bn_momentum``) override it."""
    config = configure(PRESETS, preset, options)
    return {"input_shape": config["input_shape"], "widths": widths(config["scale"], 64, 128, 256),
            "output": config["output"], "bn_momentum": config["bn_momentum"], "name": f"unet_{preset}"}


unet = register("unet", PRESETS, unet_model, unet_arguments, source="seed 000, model 4",
                summary="encoder-decoder with skip connections")
