"""User-guided colorization (Zhang, Zhu, Isola, Geng, Lin, Yu & Efros 2017, "Real-Time User-Guided
Image Colorization with Learned Deep Priors"): the U-Net of seed 000 given, besides L* / 100, a
few colour hints: a sparse a*b* map (ab / 128, zero where no hint) and a mask (1 where a hint
is). Trained with hints drawn at random from the true colours (``sample_hints``), it learns to
carry a hint across the region of similar lightness it falls in, so one click settles a colour
the grey image cannot (a toyworld diamond's pink or teal). Lesson 15.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from ..color import AB_SCALE, rgb_to_lab
from .blocks import TINY_BN_MOMENTUM, configure, output_head, widths
from .registry import register
from .unet import unet_layers

#: The model's inputs, in order: L* / 100, hint a*b* / 128, hint mask.
INPUTS = ("L", "hint_ab", "hint_mask")

PRESETS = {
    # Seed 000's U-Net widths (64/128/256) on Zhang et al.'s 176 x 176 training crops, ab output;
    # hints go in as they are, as in the paper.
    "original": {"input_shape": (176, 176, 1), "scale": 1.0, "bn_momentum": 0.99, "spread": 0},
    # Same topology, an eighth of the channels, any input size divisible by 4, and a head start:
    # hints spread over 9 x 9 pixels (see ``hint_unet``).
    "tiny": {"input_shape": (None, None, 1), "scale": 0.125, "bn_momentum": TINY_BN_MOMENTUM, "spread": 9},
}


def hint_unet_model(input_shape, widths, bn_momentum=0.9, spread=0, name="hint_unet") -> keras.Model:
    """The U-Net given colour hints: inputs L* / 100 (``input_shape``), hint a*b* / 128 and the
    hint mask, all at one size divisible by 4; ``widths``: the channels at full, 1/2 and 1/4 size
    ((64, 128, 256) as in seed 000's U-Net).

    Zhang et al.'s network learns from 1.3 million photographs to carry a hint across the region
    it falls in. A tiny model trained for a minute gets a head start when ``spread`` > 0: two
    more input channels, fixed, with no weights: each pixel's mean hint a*b* over the
    ``spread`` x ``spread`` window around it, and the share of that window hinted; and a gate,
    a sigmoid map the network learns, that blends its own a*b* towards that spread hint where one
    reaches (``HintBlend``). The network still has to learn where a hint's colour belongs (up to
    the edges of its region of similar lightness) and where it does not: that is the gate.
    Without it, whether a tiny model learned to use hints at all within 200 steps depended on
    the random seed; with it, each of the four seeds tried did."""
    size = tuple(input_shape[:2])
    L = keras.Input((*size, 1), name="L")
    hint_ab = keras.Input((*size, 2), name="hint_ab")
    hint_mask = keras.Input((*size, 1), name="hint_mask")
    features = [L, hint_ab, hint_mask]
    if spread:
        window = layers.AveragePooling2D(spread, strides=1, padding="same")
        share = window(hint_mask)
        spread_ab = window(hint_ab * hint_mask) / keras.ops.maximum(share, 1e-6)
        features += [spread_ab, share]
    x = unet_layers(layers.Concatenate()(features), widths, bn_momentum)
    if not spread:
        return keras.Model([L, hint_ab, hint_mask], output_head(x, "ab"), name=name)
    own_ab = output_head(x, "ab", name="own_ab")
    gate = layers.Conv2D(1, 3, padding="same", activation="sigmoid", name="hint_gate")(x)
    return keras.Model([L, hint_ab, hint_mask], HintBlend(name="ab")([own_ab, gate, spread_ab, share]), name=name)


@keras.saving.register_keras_serializable(package="colorlab")
class HintBlend(layers.Layer):
    """``own + gate * (spread - own)`` where a spread hint reaches (share > 0), ``own`` elsewhere:
    the network's a*b* pulled towards the hints' as far as its learned ``gate`` (0 to 1) says."""

    def call(self, inputs):
        own, gate, spread, share = inputs
        reach = keras.ops.cast(share > 0, own.dtype)
        return own + gate * reach * (spread - own)


def hint_unet_arguments(preset="tiny", **options) -> dict:
    """``hint_unet_model``'s arguments at ``preset``; ``options`` (``input_shape`` of the L input,
    ``scale``, ``bn_momentum``, ``spread``) override it. The model's inputs are named ``INPUTS``."""
    config = configure(PRESETS, preset, options)
    return {"input_shape": config["input_shape"], "widths": widths(config["scale"], 64, 128, 256),
            "bn_momentum": config["bn_momentum"], "spread": config["spread"], "name": f"hint_unet_{preset}"}


hint_unet = register("hint_unet", PRESETS, hint_unet_model, hint_unet_arguments, source="Zhang et al. 2017",
                     summary="U-Net given sparse ab hints and their mask beside L")


def takes_hints(model: keras.Model) -> bool:
    """Whether ``model`` takes colour hints: its inputs are named ``INPUTS``."""
    return tuple(t.name for t in model.inputs) == INPUTS


#: Hint sampling for training: the number of hints per image is geometric, P(n) = p (1 - p)^n
#: (no hint at all an eighth of the time, seven on average), at most ``MAX_HINTS``; each hint is a
#: square patch of 1 to ``MAX_PATCH`` pixels a side, valued at the patch's mean true a*b*.
HINT_P, MAX_HINTS, MAX_PATCH = 0.125, 24, 3


def sample_hints(ab, seed, p: float = HINT_P, max_hints: int = MAX_HINTS, max_patch: int = MAX_PATCH):
    """Hints drawn from the true ``ab`` (a batch (N, H, W, 2), any scale) as the constants above
    describe, from ``seed`` (a pair of ints: stateless, so the same seed gives the same
    hints). Returns (hint ab, mask): ``ab``'s scale and zero where no hint, and (N, H, W, 1) in
    {0, 1}. Where patches overlap, their values are averaged."""
    ab = tf.convert_to_tensor(ab, tf.float32)
    shape = tf.shape(ab)
    n, h, w = shape[0], shape[1], shape[2]
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 4)
    u = tf.random.stateless_uniform((n, 1), seeds[0], minval=1e-7, maxval=1.0)
    count = tf.floor(tf.math.log(u) / tf.math.log(1.0 - p))  # geometric on {0, 1, 2, ...}
    active = tf.cast(tf.range(max_hints, dtype=tf.float32)[None] < count, tf.float32)  # (n, K)
    side = tf.random.stateless_uniform((n, max_hints), seeds[1], 1, max_patch + 1, dtype=tf.int32)
    top = tf.random.stateless_uniform((n, max_hints), seeds[2], 0, 1 << 30, dtype=tf.int32) % (h - side + 1)
    left = tf.random.stateless_uniform((n, max_hints), seeds[3], 0, 1 << 30, dtype=tf.int32) % (w - side + 1)

    def span(start, extent):  # (n, K, extent): 1 inside [start, start + side)
        i = tf.range(extent)[None, None]
        return tf.cast((i >= start[..., None]) & (i < (start + side)[..., None]), tf.float32)

    patches = span(top, h)[..., :, None] * span(left, w)[..., None, :]  # (n, K, h, w)
    patches *= active[..., None, None]
    area = tf.maximum(tf.reduce_sum(patches, axis=[2, 3]), 1.0)
    mean_ab = tf.einsum("nkhw,nhwc->nkc", patches, ab) / area[..., None]  # (n, K, 2)
    cover = tf.reduce_sum(patches, axis=1)[..., None]  # (n, h, w, 1): patches on each pixel
    hint_ab = tf.einsum("nkhw,nkc->nhwc", patches, mean_ab) / tf.maximum(cover, 1.0)
    return hint_ab, tf.cast(cover > 0, tf.float32)


def hint_arrays(hints, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """One image's hints as dense arrays at its size: a*b* (height, width, 2), in a*b* units, and
    a bool mask (height, width). ``hints`` is either such a pair ``(ab, mask)`` already, or a list
    of points ``(row, col, colour)``, the colour an "#rrggbb" string (what a colour picker gives),
    three RGB values in [0, 1] or two a*b* values. Only a colour's a*b* counts: the image keeps
    its own lightness."""
    if isinstance(hints, tuple) and len(hints) == 2 and np.ndim(hints[0]) == 3:
        ab, mask = np.asarray(hints[0], np.float32), np.asarray(hints[1], bool)
        if ab.shape != (height, width, 2) or mask.shape != (height, width):
            raise ValueError(f"dense hints must be ab ({height}, {width}, 2) and mask ({height}, {width}) "
                             f"at the image's size, got {ab.shape} and {mask.shape}")
        return ab, mask
    ab, mask = np.zeros((height, width, 2), np.float32), np.zeros((height, width), bool)
    for point in hints:
        if len(point) != 3:
            raise ValueError(f"a hint point is (row, col, colour), got {point!r}")
        row, col, hint_color = point
        if not (0 <= row < height and 0 <= col < width):
            raise ValueError(f"hint at row {row}, column {col} lies outside the {height} x {width} image")
        ab[int(row), int(col)], mask[int(row), int(col)] = hint_ab(hint_color), True
    return ab, mask


def hint_ab(hint_color) -> np.ndarray:
    """The a*b* of a hint's colour: "#rrggbb", RGB in [0, 1] or a*b* itself."""
    if isinstance(hint_color, str):
        text = hint_color.lstrip("#")
        if len(text) != 6:
            raise ValueError(f"a colour string is '#rrggbb', got {hint_color!r}")
        hint_color = [int(text[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    hint_color = np.asarray(hint_color, np.float32)
    if hint_color.shape == (2,):
        return hint_color
    if hint_color.shape != (3,) or hint_color.min() < 0 or hint_color.max() > 1:
        raise ValueError(f"a hint's colour is '#rrggbb', RGB in [0, 1] or two a*b* values, got {hint_color.tolist()}")
    return rgb_to_lab(hint_color[None, None])[0, 0, 1:]


def hint_inputs(hints, n: int, height: int, width: int, size) -> tuple[np.ndarray, np.ndarray]:
    """The model's hint inputs at its working ``size`` (h, w) for ``n`` images of ``height`` x
    ``width``: a*b* / 128 and mask, (n, h, w, 2) and (n, h, w, 1). ``hints`` has one entry per
    image (see ``hint_arrays``), or is ``None``: no hints. Shrinking averages the hints that fall
    in one working pixel; a working pixel with any hint in it is marked."""
    if hints is None:
        hints = [[]] * n
    if len(hints) != n:
        raise ValueError(f"hints: one entry per image expected, got {len(hints)} for {n} images")
    ab, mask = (np.stack(a) for a in zip(*(hint_arrays(h, height, width) for h in hints)))
    mask = mask[..., None].astype(np.float32)
    covered = tf.image.resize(mask, size, method="area").numpy()
    summed = tf.image.resize(ab * mask, size, method="area").numpy()
    ab = np.where(covered > 0, summed / np.maximum(covered, 1e-12), 0.0) / AB_SCALE
    return ab.astype(np.float32), (covered > 0).astype(np.float32)
