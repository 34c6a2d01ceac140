"""Preprocessing shared by every lesson: resizing and cropping, patches, dropping grey images,
augmentation, splits, homogeneous vs mixed subsets, and the ``tf.data`` pipeline that feeds
encoded (input, target) pairs to the models.

Introduced in lesson 02.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf

from .. import color
from .files import IMAGE_SUFFIXES, MAX_PIXELS, image_files, usable_files

#: Images whose every pixel has less chroma than this count as grey (Zhang et al.'s
#: NonGrayMaskLayer uses 5): a grey photo in a training set teaches "no colour".
GRAY_CHROMA = 5.0


class Split(NamedTuple):
    """Index arrays of a train / validation / test split."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def resize_longer_side(image: np.ndarray, side: int) -> np.ndarray:
    """Scale ``image`` (H, W, 3) so its longer side is ``side`` pixels, keeping its aspect."""
    h, w = image.shape[:2]
    scale = side / max(h, w)
    shape = (max(1, round(h * scale)), max(1, round(w * scale)))
    return tf.image.resize(image, shape, antialias=True).numpy().clip(0.0, 1.0)


def fit_to(images: np.ndarray, size) -> np.ndarray:
    """Resize image(s) (..., H, W, 3) to cover ``size`` (an int or (height, width)), then crop the
    centre: the standard way to give every picture the same shape without distorting it."""
    height, width = (size, size) if np.isscalar(size) else size
    h, w = images.shape[-3:-1]
    scale = max(height / h, width / w)
    shape = (max(height, round(h * scale)), max(width, round(w * scale)))
    resized = tf.image.resize(images, shape, antialias=True).numpy().clip(0.0, 1.0)
    top, left = (shape[0] - height) // 2, (shape[1] - width) // 2
    return resized[..., top:top + height, left:left + width, :]


def cut_patches(image: np.ndarray, size: int, stride: int) -> np.ndarray:
    """All ``size`` x ``size`` patches of ``image`` (H, W, 3) taken every ``stride`` pixels."""
    if min(image.shape[:2]) < size:
        return np.zeros((0, size, size, image.shape[-1]), image.dtype)
    windows = np.lib.stride_tricks.sliding_window_view(image, (size, size), axis=(0, 1))
    windows = windows[::stride, ::stride]  # (rows, cols, channels, size, size)
    return np.ascontiguousarray(np.moveaxis(windows, 2, -1).reshape(-1, size, size, image.shape[-1]))


def is_gray(images: np.ndarray, min_chroma: float = GRAY_CHROMA) -> np.ndarray:
    """True for each image (..., H, W, 3) none of whose pixels reaches ``min_chroma``."""
    return color.chroma(color.rgb_to_lab(images)).max(axis=(-2, -1)) < min_chroma


def split_indices(n: int, fractions=(0.6, 0.2, 0.2), seed: int = 0, groups=None) -> Split:
    """A deterministic train / val / test split of ``n`` items (60/20/20 as in seed 003).

    With ``groups`` (one label per item), whole groups go to one part, so near-duplicates (patches
    of one photo, two views of one scene) never straddle training and test.
    """
    if len(fractions) != 3 or abs(sum(fractions) - 1.0) > 1e-6 or min(fractions) < 0:
        raise ValueError(f"fractions must be three non-negative numbers summing to 1, got {fractions}")
    rng = np.random.default_rng(seed)
    labels = np.arange(n) if groups is None else np.asarray(groups)
    if len(labels) != n:
        raise ValueError(f"groups has {len(labels)} labels for {n} items")
    unique = rng.permutation(list(dict.fromkeys(labels.tolist())))
    cuts = np.round(np.cumsum(fractions)[:2] * len(unique)).astype(int)
    parts = np.split(unique, cuts)
    return Split(*(np.flatnonzero(np.isin(labels, part)) for part in parts))


def category_subsets(categories, category: str, n: int, seed: int = 0):
    """Indices of a homogeneous subset (``n`` items of ``category``) and a mixed one (``n`` items
    drawn evenly across all categories): the per-category vs general comparison of seeds 000, 004."""
    categories = np.asarray(categories)
    rng = np.random.default_rng(seed)
    pools = {c: rng.permutation(np.flatnonzero(categories == c)) for c in dict.fromkeys(categories.tolist())}
    if category not in pools:
        raise ValueError(f"no item of category {category!r}; categories: {sorted(pools)}")
    if len(pools[category]) < n or len(categories) < n:
        raise ValueError(f"asked for {n} items, but {category!r} has {len(pools[category])}")
    # Round robin: the first item of every category, then the second of every category, ...
    ranked = sorted((rank, k, i) for k, pool in enumerate(pools.values()) for rank, i in enumerate(pool))
    mixed = [i for _, _, i in ranked[:n]]
    return np.sort(pools[category][:n]), np.sort(np.asarray(mixed))


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Float RGB in [0, 1] -> uint8 (rounded); uint8 input is returned as it is."""
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images
    if not np.issubdtype(images.dtype, np.floating):
        raise ValueError(f"images must be float in [0, 1] or uint8, got {images.dtype}")
    return np.round(np.clip(images, 0.0, 1.0) * 255.0).astype(np.uint8)


def augmentation(seed: int = 0) -> keras.Sequential:
    """Random horizontal flips, small rotations (up to 10 degrees) and crops (zoom in up to 20%),
    with reflected borders. No vertical flips: skies stay up."""
    return keras.Sequential(
        [
            keras.layers.RandomFlip("horizontal", seed=seed),
            keras.layers.RandomRotation(10 / 360, fill_mode="reflect", seed=seed + 1),
            keras.layers.RandomZoom((-0.2, 0.0), fill_mode="reflect", seed=seed + 2),
        ],
        name="augmentation",
    )


def augmented_copies(images: np.ndarray, n_out: int, seed: int = 0, batch_size: int = 64) -> np.ndarray:
    """Grow ``images`` to ``n_out``: the originals first, then augmented copies of random ones
    (seed 000 grew 265 portraits to 505 this way). The same ``seed`` gives the same copies; no
    global random state is read or changed."""
    if n_out < len(images):
        raise ValueError(f"n_out ({n_out}) is smaller than the {len(images)} images given")
    layers = augmentation(seed)
    picks = np.random.default_rng(seed).integers(len(images), size=n_out - len(images))
    extra = [
        np.asarray(layers(tf.convert_to_tensor(images[picks[i:i + batch_size]], tf.float32), training=True))
        for i in range(0, len(picks), batch_size)
    ]
    return np.concatenate([np.asarray(images, np.float32), *extra]).clip(0.0, 1.0)


def dataset(images: np.ndarray, target: str = "ab", batch_size: int = 32, shuffle: bool = True,
            augment: bool = False, seed: int = 0, centers=None, stride: int = 1,
            class_weights=None) -> tf.data.Dataset:
    """A ``tf.data`` pipeline of encoded (input, target) batches from RGB ``images`` (N, H, W, 3),
    float in [0, 1] or uint8. Input is L / 100; the target is ab / 128, RGB or class indices into
    ``centers`` (see ``colorlab.color.encode_pair``), at 1/``stride`` resolution. With
    ``class_weights`` (one per class) batches are (input, target, per-pixel weight). ``augment``
    applies ``augmentation`` to every batch, freshly each epoch. LAB conversion runs in the graph.

    The pipeline keeps its own copy of the images as 8-bit values (``to_uint8``): a quarter of
    the memory of floats, and the precision of any image file; floats appear one batch at a time.
    """
    if target not in color.TARGETS:
        raise ValueError(f"unknown target {target!r}; choose one of {color.TARGETS}")
    data = tf.data.Dataset.from_tensor_slices(to_uint8(images))
    if shuffle:
        data = data.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    data = data.batch(batch_size)
    if augment:
        layers = augmentation(seed)
        data = data.map(lambda rgb: tf.clip_by_value(
            layers(tf.image.convert_image_dtype(rgb, tf.float32), training=True), 0.0, 1.0))
    # 8-bit batches go to the LAB conversion as they are: it looks their gamma up in a table.
    data = data.map(lambda rgb: color.encode_pair(rgb, target, centers, stride), num_parallel_calls=tf.data.AUTOTUNE)
    if class_weights is not None:
        weights = tf.constant(np.asarray(class_weights, np.float32))
        data = data.map(lambda x, y: (x, y, tf.gather(weights, y)))
    return data.prefetch(tf.data.AUTOTUNE)


def folder_dataset(folder, size: int = 64, target: str = "ab", batch_size: int = 32, shuffle: bool = True,
                   seed: int = 0, cache=False, centers=None, stride: int = 1, augment: bool = False,
                   drop_gray: bool = True, class_weights=None, max_pixels: int = MAX_PIXELS) -> tf.data.Dataset:
    """A streaming ``tf.data`` pipeline of encoded (input, target) batches from a folder of image
    files (JPEG, PNG, GIF, BMP, WebP; any size; searched recursively), e.g. one ``fetch`` returned.
    The same contract as ``dataset``: input L / 100 (N, size, size, 1), target ab / 128, RGB or
    class indices into ``centers`` at 1/``stride`` resolution (``colorlab.color.encode_pair``),
    and with ``class_weights`` a per-pixel weight as third element.

    Each file is read and decoded in parallel (``tf.io.decode_image``: grey, palette and RGBA become
    RGB, an animated GIF gives its first frame), its shorter side resized to ``size`` (by pixel
    averaging when it shrinks), turned upright by its EXIF orientation (phones store photos
    sideways with a tag that says so) and its centre cut out. With ``augment``, the shorter side
    goes to 9/8 of ``size`` and a random ``size`` x ``size`` window, randomly mirrored left-right,
    is cut out instead, afresh each epoch. ``drop_gray`` leaves out near-grey pictures (no pixel of the
    cut-out square with chroma of ``GRAY_CHROMA`` or more), as the course's training sets do; it
    tests whole batches, so a batch that held grey pictures comes out that much smaller than
    ``batch_size``. ``shuffle`` reorders the files every epoch (``seed`` makes the order
    repeatable). LAB conversion runs in the graph, on whole batches; the next batches are prepared
    while the model trains (prefetch).

    ``cache``: ``False`` (read every file every epoch), ``True`` (keep the decoded, resized
    pictures in memory as uint8 after the first epoch: 16 kB for a 4:3 picture at 64 px, so
    10,000 pictures take 160 MB), or a file path (kept on disk there; delete those
    files when the folder or ``size`` changes, since they are reused as they are). With a cache,
    shuffling happens after it (all cached pictures in memory; at most 4096 for a file cache).

    Every file's header is read first, decoding nothing, by ``load_image``'s rules: files that
    are empty, not images, in another format, truncated (JPEG and PNG: their closing bytes
    missing) or of more than ``max_pixels`` pixels (decoding one could exhaust the memory) are
    **skipped**, not fatal, since one bad picture in a folder of thousands must not end a long
    run; one warning names them and says why. A file damaged where no header or end shows it
    fails to decode during the run and is left out then, with only TensorFlow's log to say so.
    Files with other endings (TIFF, HEIC, text) are not read at all. A folder with no usable
    image file is a ``ValueError``.

    Introduced in lesson 13.
    """
    if target not in color.TARGETS:
        raise ValueError(f"unknown target {target!r}; choose one of {color.TARGETS}")
    if size < 8:
        raise ValueError(f"size must be at least 8 pixels, got {size}")
    listed = image_files(folder)
    if not listed:
        raise ValueError(f"no image files ({', '.join(IMAGE_SUFFIXES)}) in folder {str(folder)!r}")
    paths, steps, refused = usable_files(listed, max_pixels)
    if refused:
        shown = refused[:10] + ([f"... and {len(refused) - 10} more"] if len(refused) > 10 else [])
        message = f"{len(refused)} of {len(listed)} files in {str(folder)!r} skipped:\n  " + "\n  ".join(shown)
        if not paths:
            raise ValueError("no usable image file: " + message)
        warnings.warn(message, stacklevel=2)
    side = int(np.ceil(size * 9 / 8)) if augment else size

    def load(path, steps):
        rgb = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False, dtype=tf.uint8)
        shape = tf.cast(tf.shape(rgb)[:2], tf.float32)
        scale = side / tf.reduce_min(shape)
        new = tf.maximum(side, tf.cast(tf.round(shape * scale), tf.int32))
        # Shrinking averages the pixels each new one covers ("area": antialiased, and twice as
        # fast as antialiased bilinear); the rare picture smaller than ``side`` is interpolated.
        resized = tf.cond(scale < 1, lambda: tf.image.resize(rgb, new, method="area"),
                          lambda: tf.image.resize(rgb, new, method="bilinear"))
        picture = tf.cast(tf.clip_by_value(tf.round(resized), 0.0, 255.0), tf.uint8)
        # Upright after resizing: the same result as before it, on far fewer pixels.
        picture = tf.cond(steps[0], lambda: tf.transpose(picture, (1, 0, 2)), lambda: picture)
        picture = tf.cond(steps[1], lambda: picture[:, ::-1], lambda: picture)
        return tf.cond(steps[2], lambda: picture[::-1], lambda: picture)

    files = tf.data.Dataset.from_tensor_slices((paths, np.asarray(steps, bool)))
    if shuffle and not cache:
        files = files.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
    pictures = files.map(load, num_parallel_calls=tf.data.AUTOTUNE).ignore_errors(log_warning=True)
    if cache:
        pictures = pictures.cache("" if cache is True else str(cache))
        if shuffle:
            buffer = len(paths) if cache is True else min(len(paths), 4096)
            pictures = pictures.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)

    if augment:
        # One fresh random number per picture and epoch: stateless crops, repeatable per seed.
        noise = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)

        def crop(rgb, r):
            key = tf.stack([r, tf.constant(seed, tf.int64)])
            window = tf.image.stateless_random_crop(rgb, (size, size, 3), seed=key)
            return tf.image.stateless_random_flip_left_right(window, seed=key + 1)

        pictures = tf.data.Dataset.zip(pictures, noise).map(crop, num_parallel_calls=tf.data.AUTOTUNE)
    else:
        def crop(rgb):
            top = (tf.shape(rgb)[0] - size) // 2
            left = (tf.shape(rgb)[1] - size) // 2
            return tf.ensure_shape(rgb[top:top + size, left:left + size], (size, size, 3))

        pictures = pictures.map(crop, num_parallel_calls=tf.data.AUTOTUNE)

    def encode(rgb):
        x, y = color.encode_pair(rgb, target, centers, stride)  # uint8: the fastest conversion
        if not drop_gray:
            return x, y
        # Whole batches at once, from the a*b* just computed where the target is a*b*: cheaper
        # than a LAB conversion of every picture on its own before batching.
        chroma = tf.norm(y, axis=-1) * color.AB_SCALE if target == "ab" else color.chroma(color.rgb_to_lab(rgb))
        keep = tf.reduce_max(chroma, axis=(1, 2)) >= GRAY_CHROMA
        return tf.boolean_mask(x, keep), tf.boolean_mask(y, keep)

    batches = pictures.batch(batch_size).map(encode, num_parallel_calls=tf.data.AUTOTUNE)
    if class_weights is not None:
        weights = tf.constant(np.asarray(class_weights, np.float32))
        batches = batches.map(lambda x, y: (x, y, tf.gather(weights, y)))
    return batches.prefetch(tf.data.AUTOTUNE)
