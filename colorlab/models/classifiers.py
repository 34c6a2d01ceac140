"""Colorization as classification (lesson 08): predict, per pixel, one colour out of a set.

* ``palette_classifier`` (seed 001): k colours from k-means on the training pixels' a*b*
  (``fit_palette``), five 3x3 convs and three per-pixel dense layers, softmax over k. Its best
  possible result is the image painted with its nearest palette colours: the quantization ceiling.
* ``ab_classifier`` (Zhang, Isola & Efros 2016): the a*b* plane cut into 10 x 10 bins, keeping
  those a screen can show (``ab_bins``), predicted at 1/4 resolution; rare, saturated bins are
  weighted up in the loss (``class_weights``, "class rebalancing"), and predictions are decoded
  with the annealed mean at T = 0.38 (``colorlab.color.annealed_mean``), between the safe but dull
  mean and the vivid but noisy mode. Its trunk is ours (documented choice): the U-Net encoder of
  lesson 07 down to 1/4 resolution and three more conv blocks, instead of Zhang's VGG-16-sized net.

The final ``PaletteSoftmax`` layer carries the model's ab colours and decoding temperature, so
``colorlab.inference.colorize`` can decode any classifier without being told its palette.
"""

from __future__ import annotations

import functools

import keras
import numpy as np
from keras import layers

from .. import color
from .blocks import TINY_BN_MOMENTUM, configure, conv_bn_act, widths
from .registry import register


@keras.saving.register_keras_serializable(package="colorlab")
class PaletteSoftmax(layers.Layer):
    """Softmax over colour classes; remembers the classes' a*b* ``centers``, the decoding
    ``temperature`` (``None``: the most likely class) and ``boost`` (``None``, or ``(gain, low,
    high)``: see ``color.annealed_mean``) for whoever decodes the output."""

    def __init__(self, centers, temperature=None, boost=None, **kwargs):
        kwargs.setdefault("name", "classes")
        super().__init__(**kwargs)
        self.centers = np.asarray(centers, np.float32)
        self.temperature = temperature
        self.boost = None if boost is None else tuple(float(v) for v in boost)

    def call(self, logits):
        return keras.ops.softmax(logits, axis=-1)

    def get_config(self):
        return {**super().get_config(), "centers": self.centers.tolist(), "temperature": self.temperature,
                "boost": self.boost}


def classes_of(model: keras.Model) -> tuple[np.ndarray, float | None]:
    """A classifier's ab ``centers`` and decoding temperature (its head's ``boost`` too, if any,
    is read by ``decoding_of``)."""
    return decoding_of(model)[:2]


def decoding_of(model: keras.Model) -> tuple[np.ndarray, float | None, tuple | None]:
    """A classifier's ab ``centers``, decoding temperature and ``boost``: ``color.annealed_mean``'s
    arguments."""
    head = model.layers[-1]
    if not isinstance(head, PaletteSoftmax):
        raise ValueError(f"{model.name} is not a colour classifier (its last layer is {head.name!r})")
    return head.centers, head.temperature, head.boost


def fit_palette(images: np.ndarray, k: int, n_pixels: int = 20_000, seed: int = 0) -> np.ndarray:
    """k a*b* colours that best summarise ``images``' pixels (k-means on a random sample), sorted
    by chroma. Seed 001 used k = 4, 12, 24 and 32."""
    from sklearn.cluster import KMeans

    pixels = np.asarray(images).reshape(-1, 3)
    rng = np.random.default_rng(seed)
    sample = pixels[rng.choice(len(pixels), size=min(n_pixels, len(pixels)), replace=False)]
    ab = color.rgb_to_lab(sample)[:, 1:]
    centers = KMeans(n_clusters=k, n_init=3, random_state=seed).fit(ab).cluster_centers_
    return centers[np.argsort(np.hypot(*centers.T))].astype(np.float32)


@functools.cache
def ab_bins(grid: float = 10.0) -> np.ndarray:
    """Centres of the grid x grid a*b* bins that hold at least one sRGB colour: 261 at grid 10.
    (Zhang et al. 2016 kept 313, testing gamut per bin rather than per colour.)"""
    steps = np.arange(-110.0, 110.0 + grid, grid)
    a, b = np.meshgrid(steps, steps, indexing="ij")
    centers = np.stack([a.ravel(), b.ravel()], axis=-1)
    levels = np.linspace(0.0, 1.0, 48)  # a regular grid of 48^3 sRGB colours covers the gamut
    rgb = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1).reshape(-1, 3)
    ab = color.rgb_to_lab(rgb)[:, 1:]
    seen = np.unique(np.concatenate([color.quantize_ab(part, centers) for part in np.array_split(ab, 32)]))
    result = centers[seen].astype(np.float32)
    result.setflags(write=False)
    return result


def class_weights(indices: np.ndarray, centers: np.ndarray, mix: float = 0.5, sigma: float = 5.0) -> np.ndarray:
    """Zhang et al.'s class-rebalancing weights: the empirical bin distribution, smoothed with a
    Gaussian of ``sigma`` ab units, mixed with the uniform distribution (``mix`` = lambda), then
    inverted and normalised so the expected weight over the data is 1."""
    counts = np.bincount(np.asarray(indices).ravel(), minlength=len(centers)).astype(np.float64)
    distance2 = ((centers[:, None, :] - centers[None, :, :]) ** 2).sum(-1)
    # Summed by NumPy, not a BLAS matrix product: BLAS kernels differ between CPUs in their last
    # bits, and a shipped run's recipe (shipped.fit_or_load) records these weights' digest.
    p = (np.exp(-distance2 / (2 * sigma**2)) * (counts / counts.sum())[None, :]).sum(axis=1)
    p /= p.sum()
    weights = 1.0 / ((1 - mix) * p + mix / len(centers))
    weights /= (weights * counts / counts.sum()).sum()
    return weights.astype(np.float32)


def placeholder_palette(k: int) -> np.ndarray:
    """A placeholder palette: grey plus k - 1 hues at chroma 30. Fit a real one with fit_palette."""
    angles = np.linspace(0, 2 * np.pi, k - 1, endpoint=False)
    return np.concatenate([[[0.0, 0.0]], 30 * np.stack([np.cos(angles), np.sin(angles)], -1)]).astype(np.float32)


PALETTE_PRESETS = {
    "original": {"input_shape": (32, 32, 1), "scale": 1.0, "centers": None, "k": 32},
    "tiny": {"input_shape": (None, None, 1), "scale": 0.125, "centers": None, "k": 32},
}


def palette_classifier_model(input_shape, conv_widths, dense_widths, k=32, centers=None,
                             name="palette_classifier") -> keras.Model:
    """Seed 001's network (450,752 parameters at 32 x 32, k = 32): 3x3 convolutions of
    ``conv_widths`` channels ((64, 128, 128, 128, 64) in the seed), dense layers of
    ``dense_widths`` ((64, 32)) that act on each pixel, then a softmax over the palette's k a*b*
    ``centers`` (``fit_palette``; None: ``placeholder_palette(k)``)."""
    centers = placeholder_palette(k) if centers is None else np.asarray(centers, np.float32)
    inputs = keras.Input(input_shape, name="L")
    x = inputs
    for channels in conv_widths:
        x = layers.Conv2D(channels, 3, padding="same", activation="relu")(x)
    for units in dense_widths:
        x = layers.Dense(units, activation="relu")(x)  # on each pixel's channels
    logits = layers.Dense(len(centers))(x)
    return keras.Model(inputs, PaletteSoftmax(centers)(logits), name=name)


def palette_classifier_arguments(preset="tiny", **options) -> dict:
    """``palette_classifier_model``'s arguments at ``preset``; ``options``: ``input_shape``,
    ``scale``, ``centers`` (a fitted palette, or None), ``k`` (the placeholder palette's size)."""
    config = configure(PALETTE_PRESETS, preset, options)
    k = config["k"] if config["centers"] is None else len(config["centers"])
    # No per-pixel dense layer is narrower than the palette: scaled down to 4 ReLUs for 32
    # colours, the second died in some runs, all four, and the model painted one colour.
    return {"input_shape": config["input_shape"],
            "conv_widths": widths(config["scale"], 64, 128, 128, 128, 64),
            "dense_widths": tuple(max(units, k) for units in widths(config["scale"], 64, 32)),
            "k": config["k"], "centers": config["centers"], "name": f"palette_classifier_{preset}"}


palette_classifier = register("palette_classifier", PALETTE_PRESETS, palette_classifier_model,
                              palette_classifier_arguments, source="seed 001",
                              summary="k-means palette, 5 conv + 3 dense, softmax over k")


#: Zhang et al.'s annealed-mean temperature.
ANNEALED_T = 0.38


AB_CLASSIFIER_PRESETS = {
    # Zhang et al.'s input size, with our trunk at full width.
    "original": {"input_shape": (224, 224, 1), "scale": 1.0, "grid": 10.0, "temperature": ANNEALED_T,
                 "bn_momentum": 0.99},
    "tiny": {"input_shape": (None, None, 1), "scale": 0.125, "grid": 10.0, "temperature": ANNEALED_T,
             "bn_momentum": TINY_BN_MOMENTUM},
}


def ab_classifier_model(input_shape, widths, grid=10.0, temperature=ANNEALED_T, bn_momentum=0.99,
                        name="ab_classifier") -> keras.Model:
    """Per-pixel classification over the in-gamut a*b* bins of a ``grid``-unit grid, output at 1/4
    of the input size. ``widths``: the conv-BN-ReLU channels at full, 1/2 and 1/4 size, (64, 128,
    256) at full width."""
    w1, w2, w3 = widths
    centers = ab_bins(grid)
    inputs = keras.Input(input_shape, name="L")
    x = conv_bn_act(conv_bn_act(inputs, w1, bn_momentum), w1, bn_momentum)
    x = layers.MaxPooling2D()(x)  # 1/2 size
    x = conv_bn_act(conv_bn_act(x, w2, bn_momentum), w2, bn_momentum)
    x = layers.MaxPooling2D()(x)  # 1/4 size
    for _ in range(3):
        x = conv_bn_act(x, w3, bn_momentum)
    logits = layers.Conv2D(len(centers), 1)(x)
    return keras.Model(inputs, PaletteSoftmax(centers, temperature)(logits), name=name)


def ab_classifier_arguments(preset="tiny", **options) -> dict:
    """``ab_classifier_model``'s arguments at ``preset``, ``options`` overriding it."""
    config = configure(AB_CLASSIFIER_PRESETS, preset, options)
    return {"input_shape": config["input_shape"], "widths": widths(config["scale"], 64, 128, 256),
            "grid": config["grid"], "temperature": config["temperature"], "bn_momentum": config["bn_momentum"],
            "name": f"ab_classifier_{preset}"}


ab_classifier = register("ab_classifier", AB_CLASSIFIER_PRESETS, ab_classifier_model, ab_classifier_arguments,
                         source="Zhang, Isola & Efros 2016",
                         summary="quantized ab bins at 1/4 resolution, class rebalancing, annealed mean")
