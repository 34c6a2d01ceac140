"""Real photographs: the ones scikit-image and scikit-learn install, and the learner's own files.

``photos`` cuts the packaged colour photographs into square patches and splits them by source
photo, so no test patch ever comes from a training photo. ``load_image`` reads any file Pillow
can read into the course's image convention (float32 RGB in [0, 1]) and refuses bad files with
an ``ImageError`` that names the file and the problem.

Introduced in lesson 02.
"""

from __future__ import annotations

import io
import os
import warnings
from contextlib import contextmanager
from functools import lru_cache
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

#: Photo name -> (loader, group, category). Photos of one group (the two views of the stereo
#: motorcycle pair) always land in the same split.
PHOTOS = {
    "astronaut": ("skimage:astronaut", "astronaut", "people"),
    "chelsea": ("skimage:chelsea", "chelsea", "animals"),
    "coffee": ("skimage:coffee", "coffee", "objects"),
    "rocket": ("skimage:rocket", "rocket", "scenes"),
    "immunohistochemistry": ("skimage:immunohistochemistry", "immunohistochemistry", "microscopy"),
    "retina": ("skimage:retina", "retina", "microscopy"),
    "hubble_deep_field": ("skimage:hubble_deep_field", "hubble_deep_field", "space"),
    "motorcycle_left": ("skimage:stereo_motorcycle:0", "motorcycle", "objects"),
    "motorcycle_right": ("skimage:stereo_motorcycle:1", "motorcycle", "objects"),
    "china": ("sklearn:china.jpg", "china", "scenes"),
    "flower": ("sklearn:flower.jpg", "flower", "nature"),
}

#: Files with more pixels than this are refused (a decompression bomb, or just too big to teach
#: with on a 2 GB machine). 50 megapixels is a 12-bit float32 image of 600 MB.
MAX_PIXELS = 50_000_000


class ImageError(ValueError):
    """A file that cannot be used as an image; the message names the file and the problem."""


class Patches(NamedTuple):
    """``images``: float32 RGB (n, size, size, 3); ``source``, ``category``: one name per patch."""

    images: np.ndarray
    source: np.ndarray
    category: np.ndarray


def packaged_photo(name: str) -> np.ndarray:
    """One packaged photograph, whole, as float32 RGB in [0, 1]."""
    return _photo_pixels(name).astype(np.float32) / 255.0


@lru_cache(maxsize=None)
def _photo_pixels(name: str) -> np.ndarray:
    """The photo's 8-bit pixels, read once and kept (uint8: a quarter of the memory of floats)."""
    if name not in PHOTOS:
        raise KeyError(f"no packaged photo {name!r}; choose from {', '.join(PHOTOS)}")
    package, key, *index = PHOTOS[name][0].split(":")
    if package == "skimage":
        from skimage import data

        pixels = getattr(data, key)()
        if index:
            pixels = pixels[int(index[0])]
    else:
        from sklearn.datasets import load_sample_image

        pixels = load_sample_image(key)
    pixels = np.asarray(pixels, np.uint8)
    pixels.setflags(write=False)
    return pixels


def photos(size: int = 64, split: str | None = None, longer_side: int = 320, stride: int | None = None,
           names=None, seed: int = 0) -> Patches:
    """Patches of ``size`` pixels cut from the packaged photos.

    Each photo is first scaled so its longer side is ``longer_side`` pixels, then cut with
    ``stride`` (default ``size // 2``). Patches with no colour (``is_grey``) are dropped.
    ``split`` (``"train"``, ``"val"`` or ``"test"``) keeps one part of a 60/20/20 split made by
    source photo with ``seed``; ``None`` keeps all.
    """
    from .pipeline import cut_patches, is_grey, resize_longer_side, split_indices

    names = list(PHOTOS) if names is None else list(names)
    if split is not None:
        groups = [PHOTOS[n][1] for n in names]
        parts = split_indices(len(names), groups=groups, seed=seed)
        if split not in parts._fields:
            raise ValueError(f"split must be one of {parts._fields} or None, got {split!r}")
        names = [names[i] for i in getattr(parts, split)]
    images, sources = [], []
    for name in names:
        cut = cut_patches(resize_longer_side(packaged_photo(name), longer_side), size, stride or size // 2)
        cut = cut[~is_grey(cut)]
        images.append(cut)
        sources += [name] * len(cut)
    sources = np.asarray(sources, dtype=object).astype(str)
    categories = np.asarray([PHOTOS[s][2] for s in sources], dtype=str)
    images = np.concatenate(images) if images else np.zeros((0, size, size, 3), np.float32)
    return Patches(images, sources, categories)


def load_image(source, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read an image file (a path, or the file's bytes) as float32 RGB (H, W, 3) in [0, 1].

    Handles every format Pillow reads: EXIF orientation is applied; greyscale, palette and
    CMYK are converted; transparency is composited on white; 16-bit greyscale keeps its depth.
    Raises ``ImageError`` for an empty, corrupt, truncated or non-image file, and for one of
    more than ``max_pixels`` pixels. Introduced in lesson 02.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        name, data = "<uploaded image>", bytes(source)
    else:
        name = os.fspath(source)
        with open(name, "rb") as handle:
            data = handle.read()
    if not data:
        raise ImageError(f"{name}: the file is empty (0 bytes)")
    with _reading(name):
        image = _open_header(io.BytesIO(data), name, max_pixels)
        image.load()
        image = ImageOps.exif_transpose(image)
    return _to_rgb(image)


@contextmanager
def _reading(name: str):
    """Pillow's complaints about the file ``name``, raised as ``ImageError``s that name it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError(f"{name}: not an image file Pillow can read") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageError(f"{name}: image too large (decompression bomb guard): {error}") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageError(f"{name}: corrupt or truncated image ({error})") from None


def _open_header(file, name: str, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """The image in ``file`` as Pillow opens it: its header read, no pixel decoded yet. Refuses
    one of more than ``max_pixels`` pixels, or of none. Use inside ``_reading(name)``."""
    image = Image.open(file)
    width, height = image.size
    if width * height > max_pixels:
        raise ImageError(
            f"{name}: image too large, {width} x {height} = {width * height:,} pixels "
            f"(limit {max_pixels:,}); resize it first"
        )
    if width == 0 or height == 0:
        raise ImageError(f"{name}: the image has no pixels ({width} x {height})")
    return image


def _to_rgb(image: Image.Image) -> np.ndarray:
    """Any Pillow mode -> float32 RGB in [0, 1]."""
    if image.mode.startswith("I") or image.mode == "F":
        # 16-bit greyscale ("I;16", or "I", where Pillow puts 16-bit PNGs and TIFFs), or float.
        full_scale = 1.0 if image.mode == "F" else 65535.0
        grey = np.clip(np.asarray(image, np.float64) / full_scale, 0.0, 1.0).astype(np.float32)
        return np.repeat(grey[..., None], 3, axis=-1)
    if "A" in image.mode or "transparency" in image.info:
        rgba = np.asarray(image.convert("RGBA"), np.float32) / 255.0
        alpha = rgba[..., 3:]
        return rgba[..., :3] * alpha + (1.0 - alpha)  # composite on white
    return np.asarray(image.convert("RGB"), np.float32) / 255.0
