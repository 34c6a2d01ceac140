"""Pieces every architecture shares: preset handling (``configure``, ``widths``) and the Keras
blocks the networks are made of (``conv_bn_act``, ``output_head``)."""

from __future__ import annotations

from keras import layers

from .registry import preset_name

#: Output kind -> (channels, activation). The final layer of every model is named after its kind,
#: which is how ``predicts(model)`` knows what a model outputs.
OUTPUTS = {"ab": (2, "tanh"), "rgb": (3, "sigmoid")}

#: Tiny presets train for about a minute: too few steps to settle BatchNorm's running statistics at
#: Keras's default momentum of 0.99, and a model whose statistics are still off predicts badly in
#: inference mode (training=False). 0.9 settles in a few dozen steps.
TINY_BN_MOMENTUM = 0.9


def configure(presets: dict, preset: str, options: dict) -> dict:
    """The preset's settings with ``options`` applied; an unknown option is a clear error."""
    config = dict(presets[preset_name(preset)])
    unknown = set(options) - set(config)
    if unknown:
        raise TypeError(f"unknown option(s) {sorted(unknown)}; this model takes {sorted(config)}")
    config.update(options)
    return config


def width(channels: int, scale: float) -> int:
    """``channels`` scaled for a preset, never below 4."""
    return max(4, int(round(channels * scale)))


def widths(scale: float, *channels: int) -> tuple[int, ...]:
    """Each of ``channels`` scaled for a preset (``width``)."""
    return tuple(width(n, scale) for n in channels)


def conv_bn_act(x, channels, momentum, activation="relu"):
    """3x3 convolution, batch normalisation, activation (ReLU or LeakyReLU)."""
    x = layers.Conv2D(channels, 3, padding="same")(x)
    x = layers.BatchNormalization(momentum=momentum)(x)
    return layers.LeakyReLU()(x) if activation == "leaky_relu" else layers.Activation(activation)(x)


def output_head(x, kind: str, name: str | None = None):
    """The final 3x3 convolution: ab (tanh) or RGB (sigmoid), named after what it predicts."""
    if kind not in OUTPUTS:
        raise ValueError(f"output must be one of {tuple(OUTPUTS)}, got {kind!r}")
    channels, activation = OUTPUTS[kind]
    return layers.Conv2D(channels, 3, padding="same", activation=activation, name=name or kind)(x)
