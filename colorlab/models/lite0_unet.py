"""A colorizer on a pretrained encoder: EfficientNet-Lite0, trained on ImageNet, sees the grey
picture and a U-Net decoder turns what it recognised into colour (lessons 09 and 14).

The encoder (``backbones.efficientnet_lite0``) stays frozen: its features at strides 2, 4, 8, 16
and 32 are computed once per picture (``colorlab.transfer.encode``), so only the decoder trains,
in minutes on 2 CPU cores. The decoder climbs back up from stride 32, at each level doubling the
size (bilinear), concatenating the encoder's features of that size (the U-Net's skips) and
applying two conv-BN-ReLU layers; at the top it meets the input's L* itself. Two heads:

* ``"ab"``: a*b* / 128 at full resolution (tanh), trained with L1;
* ``"classes"``: Zhang et al.'s in-gamut a*b* bins at 1/4 resolution (``PaletteSoftmax``), trained
  with cross-entropy and decoded with the annealed mean.

``decoder_model`` is what trains; ``colorizer(encoder, decoder)`` joins them into one model from
L* / 100 that ``train.colorize`` runs like any other (sides are brought to multiples of 32).
"""

from __future__ import annotations

import keras
from keras import layers

from ..backbones import LITE0_TAPS, efficientnet_lite0
from .blocks import conv_bn_act, output_head
from .classifiers import ANNEALED_T, PaletteSoftmax, ab_bins

#: Channels of the encoder's features at strides 2, 4, 8, 16 and 32.
FEATURE_CHANNELS = (16, 24, 40, 112, 320)
#: The decoder's widths at strides 32, 16, 8, 4, 2 and 1.
WIDTHS = (192, 128, 96, 64, 32, 16)
#: Inputs' sides must be multiples of this (the encoder halves them five times).
SIDE_MULTIPLE = max(LITE0_TAPS)
HEADS = ("ab", "classes")
#: The classes head predicts at this stride (as ``ab_classifier`` does).
CLASS_STRIDE = 4


def decoder_model(head: str = "ab", widths=WIDTHS, bn_momentum: float = 0.9, grid: float = 10.0,
                  temperature: float = ANNEALED_T, name: str = "lite0_decoder") -> keras.Model:
    """The decoder, from [L* / 100, features at strides 2, 4, 8, 16, 32] to ``head``'s output."""
    if head not in HEADS:
        raise ValueError(f"head must be one of {HEADS}, got {head!r}")
    L = keras.Input((None, None, 1), name="L")
    features = [keras.Input((None, None, c), name=f"stride{s}") for s, c in zip(sorted(LITE0_TAPS), FEATURE_CHANNELS)]
    w32, *w_up = widths
    x = layers.Conv2D(w32, 1, name="from_stride32")(features[-1])  # 320 -> w32 channels, cheaply
    x = layers.Activation("relu")(layers.BatchNormalization(momentum=bn_momentum)(x))
    # Up from stride 32 to stride 2: double the size, bring the encoder's features of that size.
    for skip, width in zip(reversed(features[:-1]), w_up):
        x = layers.Concatenate()([layers.UpSampling2D(interpolation="bilinear")(x), skip])
        x = conv_bn_act(conv_bn_act(x, width, bn_momentum), width, bn_momentum)
        if head == "classes" and skip is features[sorted(LITE0_TAPS).index(CLASS_STRIDE)]:
            centers = ab_bins(grid)
            logits = layers.Conv2D(len(centers), 1, name="logits")(x)
            return keras.Model([L, *features], PaletteSoftmax(centers, temperature)(logits), name=name)
    x = layers.Concatenate()([layers.UpSampling2D(interpolation="bilinear")(x), L])  # full size
    x = conv_bn_act(x, widths[-1], bn_momentum)
    return keras.Model([L, *features], output_head(x, "ab"), name=name)


def colorizer(encoder: keras.Model, decoder: keras.Model, name: str = "lite0_unet") -> keras.Model:
    """One model from L* / 100: ``encoder``'s features into ``decoder``. Its last layer is the
    decoder's head (``"ab"`` or ``"classes"``), so ``models.predicts`` and ``train.colorize``
    treat it like any colorizer; the layers are shared, not copied."""
    L = keras.Input((None, None, 1), name="L")
    body = keras.Model(decoder.inputs, decoder.layers[-1].input, name=f"{decoder.name}_body")
    head = decoder.layers[-1]
    return keras.Model(L, head(body([L, *encoder(L)])), name=name)


def lite0_unet(head: str = "ab", weights: str | None = "imagenet", **decoder_options) -> keras.Model:
    """A fresh colorizer: Lite0 (``weights``: ImageNet or random), frozen, and a new decoder."""
    encoder = efficientnet_lite0((None, None, 1), weights=weights)
    encoder.trainable = False
    return colorizer(encoder, decoder_model(head, **decoder_options))


def encoder_of(model: keras.Model) -> keras.Model | None:
    """The Lite0 encoder inside ``model`` (built by ``colorizer``), or None."""
    return next((layer for layer in model.layers if layer.name == "lite0_encoder"), None)
