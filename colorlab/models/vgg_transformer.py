"""Seed 000's model 6 (lesson 09): a frozen VGG16 encoder (ImageNet weights, up to block3_conv3,
1/4 resolution, 256 channels), one transformer encoder block over the feature map's positions,
and a convolutional decoder back to RGB.

The seed's decoder upsamples three times (to twice the input size) and then crops the centre
back to the input size, so its output shows the middle of the scene, magnified 2x: one reason
its results were "nearly impossible to interpret". ``decoder="seed"`` keeps that; ``"aligned"``
upsamples twice and needs no crop.
"""

from __future__ import annotations

import keras
from keras import layers

from ..backbones import GrayToVGG, vgg16_features
from .blocks import TINY_BN_MOMENTUM, configure, output_head, widths
from .registry import register

PRESETS = {
    "original": {"input_shape": (120, 176, 1), "heads": 4, "key_dim": 256, "ff_dim": 512, "scale": 1.0,
                 "decoder": "seed", "weights": "imagenet", "output": "rgb", "bn_momentum": 0.99},
    "tiny": {"input_shape": (64, 64, 1), "heads": 1, "key_dim": 32, "ff_dim": 64, "scale": 0.0625,
             "decoder": "seed", "weights": "imagenet", "output": "rgb", "bn_momentum": TINY_BN_MOMENTUM},
}


def transformer_encoder(x, heads, key_dim, ff_dim):
    """Pre-norm transformer block over a sequence: attention and a two-layer MLP, each with a
    residual."""
    attended = layers.MultiHeadAttention(heads, key_dim)(*[layers.LayerNormalization()(x)] * 2)
    x = layers.Add()([x, attended])
    y = layers.Dense(ff_dim, activation="relu")(layers.LayerNormalization()(x))
    return layers.Add()([x, layers.Dense(x.shape[-1])(y)])


def vgg_transformer_model(input_shape, widths, heads, key_dim, ff_dim, decoder="seed", weights="imagenet",
                          output="rgb", bn_momentum=0.99, name="vgg_transformer") -> keras.Model:
    """Frozen VGG16 to block3_conv3, a transformer encoder over its feature map's positions and a
    conv-BN-ReLU decoder of ``widths`` ((256, 128, 64, 32) in the seed); input size divisible by 4.
    4,031,491 parameters at the original preset, 1,736,448 of them frozen."""
    height, width_px, _ = input_shape
    inputs = keras.Input(input_shape, name="L")
    vgg_input = GrayToVGG()(inputs)
    features = vgg16_features(vgg_input.shape[1:], weights)(vgg_input)  # (H/4, W/4, 256)
    h, w, channels = features.shape[1:]
    x = layers.Reshape((h * w, channels))(features)  # a sequence of H/4 * W/4 positions
    x = transformer_encoder(x, heads, key_dim, ff_dim)
    x = layers.Reshape((h, w, channels))(x)
    seed_decoder = decoder == "seed"
    for n, upsample in zip(widths, [True, True, seed_decoder, False]):
        if upsample:
            x = layers.UpSampling2D()(x)
        x = layers.Conv2D(n, 3, padding="same")(x)
        x = layers.Activation("relu")(layers.BatchNormalization(momentum=bn_momentum)(x))
    if not seed_decoder:
        return keras.Model(inputs, output_head(x, output), name=name)
    x = output_head(x, output, name=f"{output}_2x")  # twice the input size...
    x = layers.CenterCrop(height, width_px, name=output)(x)  # ...cropped to its centre
    return keras.Model(inputs, x, name=name)


def vgg_transformer_arguments(preset="tiny", **options) -> dict:
    """``vgg_transformer_model``'s arguments at ``preset``, ``options`` overriding it (``scale``
    sets the decoder's widths)."""
    config = configure(PRESETS, preset, options)
    return {"input_shape": config.pop("input_shape"), "widths": widths(config.pop("scale"), 256, 128, 64, 32),
            **config, "name": f"vgg_transformer_{preset}"}


vgg_transformer = register("vgg_transformer", PRESETS, vgg_transformer_model, vgg_transformer_arguments,
                           source="seed 000, model 6",
                           summary="frozen VGG16 + transformer encoder + conv decoder; predicts RGB")
