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

from ..backbones import GreyToVGG, vgg16_features
from .blocks import TINY_BN_MOMENTUM, configure, output_head, width
from .registry import register

PRESETS = {
    "original": {"input_shape": (120, 176, 1), "heads": 4, "key_dim": 256, "ff_dim": 512, "scale": 1.0,
                 "decoder": "seed", "weights": "imagenet", "output": "rgb", "bn_momentum": 0.99},
    "tiny": {"input_shape": (64, 64, 1), "heads": 1, "key_dim": 32, "ff_dim": 64, "scale": 0.0625,
             "decoder": "seed", "weights": "imagenet", "output": "rgb", "bn_momentum": TINY_BN_MOMENTUM},
}


def _transformer_encoder(x, heads, key_dim, ff_dim):
    """Pre-norm transformer block: attention and a two-layer MLP, each with a residual."""
    attended = layers.MultiHeadAttention(heads, key_dim)(*[layers.LayerNormalization()(x)] * 2)
    x = layers.Add()([x, attended])
    y = layers.Dense(ff_dim, activation="relu")(layers.LayerNormalization()(x))
    return layers.Add()([x, layers.Dense(x.shape[-1])(y)])


@register("vgg_transformer", PRESETS, source="seed 000, model 6",
          summary="frozen VGG16 + transformer encoder + conv decoder; predicts RGB")
def vgg_transformer(preset="tiny", **options) -> keras.Model:
    """4,031,491 parameters at the original preset, 1,736,448 of them frozen (input size divisible by 4)."""
    c = configure(PRESETS, preset, options)
    height, width_px, _ = c["input_shape"]
    inputs = keras.Input(c["input_shape"], name="L")
    vgg_input = GreyToVGG()(inputs)
    features = vgg16_features(vgg_input.shape[1:], c["weights"])(vgg_input)  # (H/4, W/4, 256)
    h, w, channels = features.shape[1:]
    x = layers.Reshape((h * w, channels))(features)
    x = _transformer_encoder(x, c["heads"], c["key_dim"], c["ff_dim"])
    x = layers.Reshape((h, w, channels))(x)
    seed_decoder = c["decoder"] == "seed"
    for n, upsample in [(256, True), (128, True), (64, seed_decoder), (32, False)]:
        if upsample:
            x = layers.UpSampling2D()(x)
        x = layers.Conv2D(width(n, c["scale"]), 3, padding="same")(x)
        x = layers.Activation("relu")(layers.BatchNormalization(momentum=c["bn_momentum"])(x))
    if not seed_decoder:
        return keras.Model(inputs, output_head(x, c["output"]), name=f"vgg_transformer_{preset}")
    x = output_head(x, c["output"], name=f"{c['output']}_2x")  # twice the input size...
    x = layers.CenterCrop(height, width_px, name=c["output"])(x)  # ...cropped to its centre
    return keras.Model(inputs, x, name=f"vgg_transformer_{preset}")
