"""The plain convolutional rungs of seed 000's ladder (lessons 03-06).

* ``sequential_rgb`` (model 1): conv, strided conv, conv, strided conv, two upsample + conv
  stages, RGB out. No normalisation, no skips.
* ``simple_cnn`` (model 2): two convs, max-pool, conv, one transposed conv, RGB out.
* ``improved_cnn`` (model 3): three conv-BN-LeakyReLU stages with pooling, two upsampling
  stages, RGB out (the seed named its 3-channel output layer "ab_output").
* ``sequential_lab`` (model 5, seed 002): Zhang/Wallner-style encoder of strided 3x3 convs
  (64 -> 512 channels, 1/8 resolution), a decoder of convs and 2x upsampling, tanh ab out.
"""

from __future__ import annotations

import keras
from keras import layers

from .blocks import TINY_BN_MOMENTUM, configure, conv_bn_act, output_head, width
from .registry import register

SEED_INPUT = (120, 176, 1)  # seed 000's portraits


def _presets(output, tiny_scale=0.25, **extra):
    """Original: the seed's widths at its input size. Tiny: ``tiny_scale`` of the channels, any
    input size, chosen so training runs at >= 200 images/s at 64 x 64 on 2 CPU cores (``make
    bench``)."""
    return {
        "original": {"input_shape": SEED_INPUT, "scale": 1.0, "output": output, **extra},
        "tiny": {"input_shape": (None, None, 1), "scale": tiny_scale, "output": output, **extra},
    }


RGB_PRESETS = _presets("rgb")
IMPROVED_CNN_PRESETS = _presets("rgb", tiny_scale=0.125, bn_momentum=0.99)
IMPROVED_CNN_PRESETS["tiny"]["bn_momentum"] = TINY_BN_MOMENTUM
LAB_PRESETS = _presets("ab")


def _start(presets, preset, options):
    """The configuration and the input layer every builder here begins with."""
    config = configure(presets, preset, options)
    return config, config["scale"], keras.Input(config["input_shape"], name="L")


def _conv(n, scale, strides=1):
    return layers.Conv2D(width(n, scale), 3, strides=strides, padding="same", activation="relu")


@register("sequential_rgb", RGB_PRESETS, source="seed 000, model 1", summary="plain conv stack, predicts RGB")
def sequential_rgb(preset="tiny", **options) -> keras.Model:
    """Seed 000's first model: 352,131 parameters at the original preset. Lesson 03."""
    c, s, inputs = _start(RGB_PRESETS, preset, options)
    x = _conv(64, s)(inputs)
    x = _conv(64, s, strides=2)(x)
    x = _conv(128, s)(x)
    x = _conv(128, s, strides=2)(x)
    x = _conv(64, s)(layers.UpSampling2D()(x))
    x = _conv(32, s)(layers.UpSampling2D()(x))
    return keras.Model(inputs, output_head(x, c["output"]), name=f"sequential_rgb_{preset}")


@register("simple_cnn", RGB_PRESETS, source="seed 000, model 2",
          summary="conv, pool, transposed conv; predicts RGB")
def simple_cnn(preset="tiny", **options) -> keras.Model:
    """Seed 000's second model: 256,643 parameters at the original preset. Lesson 04."""
    c, s, inputs = _start(RGB_PRESETS, preset, options)
    x = _conv(64, s)(inputs)
    x = _conv(128, s)(x)
    x = _conv(128, s)(layers.MaxPooling2D()(x))
    x = layers.Conv2DTranspose(width(64, s), 2, strides=2, padding="same")(x)
    x = layers.ReLU()(x)
    return keras.Model(inputs, output_head(x, c["output"]), name=f"simple_cnn_{preset}")


@register("improved_cnn", IMPROVED_CNN_PRESETS, source="seed 000, model 3",
          summary="conv-BN-LeakyReLU encoder-decoder; predicts RGB")
def improved_cnn(preset="tiny", **options) -> keras.Model:
    """Seed 000's third model, with batch normalisation and LeakyReLU: 742,787 parameters at the
    original preset. Lesson 05."""
    c, s, inputs = _start(IMPROVED_CNN_PRESETS, preset, options)
    m = c["bn_momentum"]
    x = layers.MaxPooling2D()(conv_bn_act(inputs, width(64, s), m, "leaky_relu"))
    x = layers.MaxPooling2D()(conv_bn_act(x, width(128, s), m, "leaky_relu"))
    x = conv_bn_act(x, width(256, s), m, "leaky_relu")
    x = conv_bn_act(layers.UpSampling2D()(x), width(128, s), m, "leaky_relu")
    x = conv_bn_act(layers.UpSampling2D()(x), width(64, s), m, "leaky_relu")
    return keras.Model(inputs, output_head(x, c["output"]), name=f"improved_cnn_{preset}")


#: (channels, stride) of sequential_lab's encoder, then its decoder convs with "up" for 2x upsampling.
_LAB_ENCODER = [(64, 2), (128, 1), (128, 2), (256, 1), (512, 1), (512, 1), (256, 2), (512, 1), (512, 1), (256, 1)]
_LAB_DECODER = [128, "up", 64, "up", 32, 16]


@register("sequential_lab", LAB_PRESETS, source="seed 000, model 5; seed 002",
          summary="Zhang/Wallner encoder-decoder at 1/8 resolution; predicts ab")
def sequential_lab(preset="tiny", **options) -> keras.Model:
    """The LAB encoder-decoder: 10,349,202 parameters at the original preset (inputs divisible by
    8). Lesson 06."""
    c, s, inputs = _start(LAB_PRESETS, preset, options)
    x = inputs
    for channels, strides in _LAB_ENCODER:
        x = _conv(channels, s, strides)(x)
    for step in _LAB_DECODER:
        x = layers.UpSampling2D()(x) if step == "up" else _conv(step, s)(x)
    x = output_head(x, c["output"], name=f"{c['output']}_half")
    outputs = layers.UpSampling2D(name=c["output"])(x)  # the seed upsamples last: its output is 2x2 blocky
    return keras.Model(inputs, outputs, name=f"sequential_lab_{preset}")
