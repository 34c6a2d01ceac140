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
L* / 100 that ``inference.colorize`` runs like any other (sides are brought to multiples of 32).
"""

from __future__ import annotations

import keras
from keras import layers

from ..backbones import LITE0_TAPS, efficientnet_lite0
from .blocks import conv_bn_act, output_head
from .classifiers import ANNEALED_T, PaletteSoftmax, ab_bins
from .hints import PRESETS as HINT_PRESETS
from .hints import HintBlend

#: Channels of the encoder's features at strides 2, 4, 8, 16 and 32.
FEATURE_CHANNELS = (16, 24, 40, 112, 320)
#: The decoder's widths at strides 32, 16, 8, 4, 2 and 1.
WIDTHS = (192, 128, 96, 64, 32, 16)
#: Inputs' sides must be multiples of this (the encoder halves them five times).
SIDE_MULTIPLE = max(LITE0_TAPS)
HEADS = ("ab", "classes")
#: The classes head predicts at this stride (as ``ab_classifier`` does).
CLASS_STRIDE = 4
#: A hint decoder spreads each hint over this many pixels a side, as the tiny ``hint_unet`` does.
HINT_SPREAD = HINT_PRESETS["tiny"]["spread"]


def decoder_model(head: str = "ab", widths=WIDTHS, bn_momentum: float = 0.9, grid: float = 10.0,
                  temperature: float = ANNEALED_T, hints: bool = False, name: str = "lite0_decoder") -> keras.Model:
    """The decoder, from [L* / 100, features at strides 2, 4, 8, 16, 32] to ``head``'s output.

    ``hints=True`` (a*b* head only; lesson 15): two more inputs, colour hints as ``hint_unet``
    takes them (a*b* / 128 and a mask, at the input's size). The encoder is frozen and never sees
    them, so they enter the decoder: averaged down to each level's size and concatenated with its
    features, so a hint can reach the whole region around it, and at full size through
    ``hint_unet``'s 9 x 9 spread and learned gate (``HintBlend``)."""
    if head not in HEADS:
        raise ValueError(f"head must be one of {HEADS}, got {head!r}")
    if hints and head != "ab":
        raise ValueError("hints go with the a*b* head")
    L = keras.Input((None, None, 1), name="L")
    features = [keras.Input((None, None, c), name=f"stride{s}") for s, c in zip(sorted(LITE0_TAPS), FEATURE_CHANNELS)]
    given = [keras.Input((None, None, 2), name="hint_ab"), keras.Input((None, None, 1), name="hint_mask")] if hints else []
    hint_maps = layers.Concatenate()(given) if hints else None  # the hint ab is already 0 where there is none
    w32, *w_up = widths
    x = layers.Conv2D(w32, 1, name="from_stride32")(features[-1])  # 320 -> w32 channels, cheaply
    x = layers.Activation("relu")(layers.BatchNormalization(momentum=bn_momentum)(x))
    # Up from stride 32 to stride 2: double the size, bring the encoder's features of that size.
    for stride, skip, width in zip((16, 8, 4, 2), reversed(features[:-1]), w_up):
        level = [layers.UpSampling2D(interpolation="bilinear")(x), skip]
        if hints:
            level.append(layers.AveragePooling2D(stride, name=f"hints_at_stride{stride}")(hint_maps))
        x = conv_bn_act(conv_bn_act(layers.Concatenate()(level), width, bn_momentum), width, bn_momentum)
        if head == "classes" and stride == CLASS_STRIDE:
            centers = ab_bins(grid)
            logits = layers.Conv2D(len(centers), 1, name="logits")(x)
            return keras.Model([L, *features], PaletteSoftmax(centers, temperature)(logits), name=name)
    x = layers.Concatenate()([layers.UpSampling2D(interpolation="bilinear")(x), L, *given])  # full size
    if not hints:
        return keras.Model([L, *features], output_head(conv_bn_act(x, widths[-1], bn_momentum), "ab"), name=name)
    hint_ab, hint_mask = given
    window = layers.AveragePooling2D(HINT_SPREAD, strides=1, padding="same")
    share = window(hint_mask)
    spread_ab = window(hint_ab * hint_mask) / keras.ops.maximum(share, 1e-6)
    x = conv_bn_act(layers.Concatenate()([x, spread_ab, share]), widths[-1], bn_momentum)
    own_ab = output_head(x, "ab", name="own_ab")
    gate = layers.Conv2D(1, 3, padding="same", activation="sigmoid", name="hint_gate")(x)
    return keras.Model([L, *features, *given], HintBlend(name="ab")([own_ab, gate, spread_ab, share]), name=name)


def colorizer(encoder: keras.Model, decoder: keras.Model, name: str = "lite0_unet") -> keras.Model:
    """One model from L* / 100 (and the hints, for a decoder that takes them): ``encoder``'s
    features into ``decoder``. Its last layer is the decoder's head (``"ab"`` or ``"classes"``),
    so ``models.predicts`` and ``inference.colorize`` treat it like any colorizer; the layers are
    shared, not copied."""
    L = keras.Input((None, None, 1), name="L")
    hints = [keras.Input(t.shape[1:], name=t.name) for t in decoder.inputs[1 + len(FEATURE_CHANNELS):]]
    head = decoder.layers[-1]
    body = keras.Model(decoder.inputs, head.input, name=f"{decoder.name}_body")
    return keras.Model([L, *hints] if hints else L, head(body([L, *encoder(L), *hints])), name=name)


def lite0_unet(head: str = "ab", weights: str | None = "imagenet", **decoder_options) -> keras.Model:
    """A fresh colorizer: Lite0 (``weights``: ImageNet or random), frozen, and a new decoder."""
    encoder = efficientnet_lite0((None, None, 1), weights=weights)
    encoder.trainable = False
    return colorizer(encoder, decoder_model(head, **decoder_options))


def encoder_of(model: keras.Model) -> keras.Model | None:
    """The Lite0 encoder inside ``model`` (built by ``colorizer``), or None."""
    return next((layer for layer in model.layers if layer.name == "lite0_encoder"), None)
