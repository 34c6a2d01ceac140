"""Colouring pictures with a trained model: ``colorize`` (any image, any size, full resolution
back) and ``confidence_map`` (how sure a colour classifier is, pixel by pixel). Introduced in
lesson 03; lesson 14 reads the confidence map.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from . import color
from .models import lite0_unet, predicts
from .models.classifiers import classes_of, decoding_of
from .models.hints import hint_inputs, takes_hints

#: Where ``colorize`` runs models whose input size is free: the longer side, at most.
INFER_SIDE = 256

#: How many pixels ``colorize`` hands the model at a time (bounds its memory): one image of
#: 256 x 256, or 64 patches of 32 x 32.
INFER_PIXELS = 256 * 256


def colorize(model: keras.Model, images, side: int = INFER_SIDE, hints=None) -> np.ndarray:
    """Colour image(s) of any size with ``model``; returns float32 RGB of the input's height and
    width. The model sees the image's L* at its own input size (or, for free-size models, at
    most ``side`` pixels on the longer side); its colour (a*b*, the a*b* of its RGB, or its
    classes decoded at the model's temperature and boost once their probabilities are upsampled
    to that input size) is upsampled to full size, recombined with the full-resolution L* of the input,
    and shrunk into the sRGB gamut where needed. Runs the model with ``training=False``,
    ``INFER_PIXELS`` pixels at a time (a frozen VGG16's activations for a whole test set would take
    gigabytes). ``images``: (H, W, 3) or (N, H, W, 3) RGB, or (H, W) grey.

    ``hints``, for a model that takes them (lesson 15): for one image, a list of points
    ``(row, col, colour)`` in its pixels or dense ``(ab, mask)`` arrays at its size (see
    ``models.hints.hint_arrays``); for a batch, a list of one such entry per image. They are
    brought to the model's working size with the image; ``None`` means no hints.
    """
    batch, single = _as_batch(images)
    height, width = batch.shape[1:3]
    L, work, lightness = _model_input(model, batch, side)
    x = [lightness]
    if takes_hints(model):
        x += hint_inputs([hints] if single and hints is not None else hints, len(batch), height, width, work)
    elif hints is not None:
        raise ValueError(f"{model.name} takes no colour hints; build one that does (\"hint_unet\")")
    step = max(1, INFER_PIXELS // (work[0] * work[1]))
    parts = [[t[i:i + step] for t in x] for i in range(0, len(batch), step)]
    y = np.concatenate([model(part if len(part) > 1 else part[0], training=False).numpy() for part in parts])
    kind = predicts(model)
    if kind == "ab":
        ab = y * color.AB_SCALE
    elif kind == "rgb":
        ab = color.rgb_to_lab(np.clip(y, 0, 1))[..., 1:]  # its lightness is replaced by the input's
    else:
        decoding = decoding_of(model)
        ab = np.stack([color.annealed_mean(_upsampled(p, work), *decoding) for p in y])
    ab = tf.image.resize(ab, (height, width), method="bilinear").numpy()
    rgb = color.lab_to_rgb(color.fit_to_gamut(np.concatenate([L, ab], axis=-1)))
    return rgb[0] if single else rgb


def confidence_map(model: keras.Model, image, side: int = INFER_SIDE) -> np.ndarray:
    """How sure colour classifier ``model`` is of the colour it gives each part of ``image``
    (``color.confidence`` of its annealed mean, 0 to 1), at the model's output resolution for the
    size ``colorize`` runs it at. The map a confidence boost reads. Lesson 14."""
    batch, _ = _as_batch(image)
    centers, temperature = classes_of(model)
    p = model(_model_input(model, batch[:1], side)[2], training=False).numpy()[0]
    return color.confidence(p, centers, color.annealed_mean(p, centers, temperature))


def input_size(model: keras.Model) -> tuple:
    """The height and width of ``model``'s (first) input, ``None`` where any size goes."""
    return tuple(model.inputs[0].shape[1:3])


def output_stride(model: keras.Model, size: int = 64) -> int:
    """How many input pixels one output pixel spans (4 for the ab classifier, else 1)."""
    shape = input_size(model)
    probe = shape if None not in shape else (size, size)
    shapes = [(1, *probe, t.shape[-1]) for t in model.inputs]
    out = model.compute_output_shape(shapes if len(shapes) > 1 else shapes[0])
    return probe[0] // out[1]


def _as_batch(images) -> tuple[np.ndarray, bool]:
    """(N, H, W, 3) float RGB from one image or a batch (any integer type scaled by its range, as
    ``color.as_float_images`` does; grey (H, W) repeated), and whether it was one image."""
    images = color.as_float_images(images)
    if images.ndim == 2:
        images = np.repeat(images[..., None], 3, axis=-1)
    single = images.ndim == 3
    return (images[None] if single else images).astype(np.float32), single


def _model_input(model: keras.Model, batch: np.ndarray, side: int):
    """``batch``'s full-resolution L*, the size the model works at, and what it is given: L* / 100
    at that size."""
    L = color.rgb_to_lab(batch)[..., :1]
    work = _work_size(model, *batch.shape[1:3], side)
    return L, work, tf.image.resize(L / color.L_SCALE, work, antialias=True).numpy()


def _upsampled(probabilities: np.ndarray, size) -> np.ndarray:
    """One image's class probabilities brought to ``size`` before decoding, so a pixel at the edge
    of a pink object on green grass gets pink or green, not their greyish average (one image at a
    time: 256 x 256 pixels x 261 classes is already 68 MB)."""
    if probabilities.shape[:2] == tuple(size):
        return probabilities
    return tf.image.resize(probabilities, size, method="bilinear").numpy()


def _work_size(model: keras.Model, height: int, width: int, side: int) -> tuple[int, int]:
    """The size ``model`` runs at: its own, or at most ``side`` on the longer side, in multiples
    of 16 (of 32 for a model on the Lite0 encoder, which halves its input five times)."""
    fixed = input_size(model)
    if None not in fixed:
        return fixed
    multiple = lite0_unet.SIDE_MULTIPLE if lite0_unet.encoder_of(model) is not None else 16
    scale = min(1.0, side / max(height, width))
    return tuple(max(multiple, int(round(n * scale / multiple)) * multiple) for n in (height, width))

