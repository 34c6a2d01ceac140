"""The plain convolutional rungs of seed 000's ladder (lessons 03-06).

* ``sequential_rgb`` (model 1): conv, strided conv, conv, strided conv, two upsample + conv
  stages, RGB out. No normalisation, no skips.
* ``simple_cnn`` (model 2): two convs, max-pool, conv, one transposed conv, RGB out.
* ``improved_cnn`` (model 3): three conv-BN-LeakyReLU stages with pooling, two upsampling
  stages, RGB out (the seed named its 3-channel output layer "ab_output").
* ``sequential_lab`` (model 5, seed 002): Zhang/Wallner-style encoder of strided 3x3 convs
  (64 -> 512 channels, 1/8 resolution), a decoder of convs and 2x upsampling, tanh ab out.

Each ``*_model`` function is the network in plain Keras, its widths as arguments; the
architecture's builder (``sequential_rgb(preset)``, ...) gives it a preset's widths.
"""

from __future__ import annotations

import keras
from keras import layers

from .blocks import TINY_BN_MOMENTUM, configure, conv_bn_act, output_head, widths
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


def _arguments(name, presets, channels):
    """The ``arguments(preset, **options)`` of a network whose widths are the seed's ``channels``
    scaled by the preset's ``scale``."""

    def arguments(preset="tiny", **options) -> dict:
        config = configure(presets, preset, options)
        return {"input_shape": config.pop("input_shape"), "widths": widths(config.pop("scale"), *channels),
                **config, "name": f"{name}_{preset}"}

    arguments.__name__ = f"{name}_arguments"
    return arguments


def sequential_rgb_model(input_shape, widths, output="rgb", name="sequential_rgb") -> keras.Model:
    """Seed 000's first model (lesson 03): 3x3 convolutions with ReLU, two of them strided (each
    halves the size), then two upsampling stages back to full size. ``widths``: the channels of
    the four stages, (64, 128, 64, 32) in the seed."""
    w1, w2, w3, w4 = widths
    inputs = keras.Input(input_shape, name="L")
    x = layers.Conv2D(w1, 3, padding="same", activation="relu")(inputs)
    x = layers.Conv2D(w1, 3, strides=2, padding="same", activation="relu")(x)  # 1/2 size
    x = layers.Conv2D(w2, 3, padding="same", activation="relu")(x)
    x = layers.Conv2D(w2, 3, strides=2, padding="same", activation="relu")(x)  # 1/4 size
    x = layers.UpSampling2D()(x)  # 1/2 size
    x = layers.Conv2D(w3, 3, padding="same", activation="relu")(x)
    x = layers.UpSampling2D()(x)  # full size
    x = layers.Conv2D(w4, 3, padding="same", activation="relu")(x)
    return keras.Model(inputs, output_head(x, output), name=name)


def simple_cnn_model(input_shape, widths, output="rgb", name="simple_cnn") -> keras.Model:
    """Seed 000's second model (lesson 04): two 3x3 convolutions, a 2x2 max-pool (half size), a
    convolution and a 2x2 transposed convolution back to full size. ``widths``: (64, 128) in
    the seed."""
    w1, w2 = widths
    inputs = keras.Input(input_shape, name="L")
    x = layers.Conv2D(w1, 3, padding="same", activation="relu")(inputs)
    x = layers.Conv2D(w2, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D()(x)  # 1/2 size
    x = layers.Conv2D(w2, 3, padding="same", activation="relu")(x)
    x = layers.Conv2DTranspose(w1, 2, strides=2, padding="same")(x)  # full size
    x = layers.ReLU()(x)
    return keras.Model(inputs, output_head(x, output), name=name)


def improved_cnn_model(input_shape, widths, output="rgb", bn_momentum=0.99, name="improved_cnn") -> keras.Model:
    """Seed 000's third model (lesson 05): conv-BN-LeakyReLU stages, down twice with max-pooling
    and up twice with upsampling. ``widths``: (64, 128, 256) in the seed."""
    w1, w2, w3 = widths
    inputs = keras.Input(input_shape, name="L")
    x = conv_bn_act(inputs, w1, bn_momentum, "leaky_relu")
    x = layers.MaxPooling2D()(x)  # 1/2 size
    x = conv_bn_act(x, w2, bn_momentum, "leaky_relu")
    x = layers.MaxPooling2D()(x)  # 1/4 size
    x = conv_bn_act(x, w3, bn_momentum, "leaky_relu")
    x = layers.UpSampling2D()(x)  # 1/2 size
    x = conv_bn_act(x, w2, bn_momentum, "leaky_relu")
    x = layers.UpSampling2D()(x)  # full size
    x = conv_bn_act(x, w1, bn_momentum, "leaky_relu")
    return keras.Model(inputs, output_head(x, output), name=name)


def sequential_lab_model(input_shape, encoder, decoder, output="ab", name="sequential_lab") -> keras.Model:
    """The LAB encoder-decoder of seeds 000 (model 5) and 002 (lesson 06), inputs divisible by 8.
    ``encoder``: (channels, stride) of each 3x3 convolution (stride 2 halves the size);
    ``decoder``: the channels of each 3x3 convolution, ``"up"`` for 2x upsampling. The a*b* head
    predicts at half size and the last layer upsamples: the seed's output is 2x2 blocky."""
    x = inputs = keras.Input(input_shape, name="L")
    for channels, strides in encoder:
        x = layers.Conv2D(channels, 3, strides=strides, padding="same", activation="relu")(x)
    for step in decoder:
        if step == "up":
            x = layers.UpSampling2D()(x)
        else:
            x = layers.Conv2D(step, 3, padding="same", activation="relu")(x)
    x = output_head(x, output, name=f"{output}_half")
    outputs = layers.UpSampling2D(name=output)(x)
    return keras.Model(inputs, outputs, name=name)


#: sequential_lab's (channels, stride) per encoder convolution, and its decoder's convolutions
#: with "up" for 2x upsampling, in the seed.
LAB_ENCODER = ((64, 2), (128, 1), (128, 2), (256, 1), (512, 1), (512, 1), (256, 2), (512, 1), (512, 1), (256, 1))
LAB_DECODER = (128, "up", 64, "up", 32, 16)


def sequential_lab_arguments(preset="tiny", **options) -> dict:
    """``sequential_lab_model``'s arguments at ``preset``, ``options`` overriding it."""
    config = configure(LAB_PRESETS, preset, options)
    scale = config["scale"]
    return {"input_shape": config["input_shape"],
            "encoder": tuple((*widths(scale, n), stride) for n, stride in LAB_ENCODER),
            "decoder": tuple(step if step == "up" else widths(scale, step)[0] for step in LAB_DECODER),
            "output": config["output"], "name": f"sequential_lab_{preset}"}


sequential_rgb = register("sequential_rgb", RGB_PRESETS, sequential_rgb_model,
                          _arguments("sequential_rgb", RGB_PRESETS, (64, 128, 64, 32)),
                          source="seed 000, model 1", summary="plain conv stack, predicts RGB")
simple_cnn = register("simple_cnn", RGB_PRESETS, simple_cnn_model, _arguments("simple_cnn", RGB_PRESETS, (64, 128)),
                      source="seed 000, model 2", summary="conv, pool, transposed conv; predicts RGB")
improved_cnn = register("improved_cnn", IMPROVED_CNN_PRESETS, improved_cnn_model,
                        _arguments("improved_cnn", IMPROVED_CNN_PRESETS, (64, 128, 256)),
                        source="seed 000, model 3", summary="conv-BN-LeakyReLU encoder-decoder; predicts RGB")
sequential_lab = register("sequential_lab", LAB_PRESETS, sequential_lab_model, sequential_lab_arguments,
                          source="seed 000, model 5; seed 002",
                          summary="Zhang/Wallner encoder-decoder at 1/8 resolution; predicts ab")
