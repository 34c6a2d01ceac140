"""Real photographs: the natural photos shipped with the course, the ones scikit-image and
scikit-learn install, a downloaded set, and the learner's own files.

``photo_set`` lists source photographs (with their categories) and splits them by photo within
each category; ``photos`` cuts them into square patches, so no test patch ever comes from a
training photo. ``COLORLAB_PHOTOS`` (``settings.PHOTO_SOURCE``) switches every photo lesson to a
folder or a downloaded dataset. ``load_image`` reads any file Pillow
can read into the course's image convention (float32 RGB in [0, 1]) and refuses bad files with
an ``ImageError`` that names the file and the problem.

Introduced in lesson 02.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .. import settings
from ..color import as_float_images as floats
from .download import FetchError, fetch, registry
from .files import image_files, load_image
from .pipeline import Split, cut_patches, fit_to, is_gray, resize_longer_side, split_indices, to_uint8

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

class Patches(NamedTuple):
    """``images``: float32 RGB (n, size, size, 3); ``source``, ``category``: one name per patch."""

    images: np.ndarray
    source: np.ndarray
    category: np.ndarray


def packaged_photo(name: str) -> np.ndarray:
    """One packaged photograph, whole, as float32 RGB in [0, 1]."""
    return _photo_pixels(name).astype(np.float32) / 255.0


@cache
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


#: The natural photographs shipped with the course (see datasets/README.md for their sources and
#: licences); a checkout of the repository has them beside the package.
SHIPPED_FOLDER = Path(__file__).resolve().parents[2] / "datasets" / "photos"

#: Categories with fewer photo groups than this are split as one: too few to split on their own.
MIN_GROUPS = 5

#: Photo sources ``photo_set`` knows by name; anything else is a folder or a ``fetch`` dataset name.
NAMED_SOURCES = ("shipped", "packaged")


@dataclass(frozen=True)
class Photo:
    """One source photograph: ``name`` (unique in its set), ``category``, ``path`` (None for a
    packaged photo) and ``group`` (photos of one group, e.g. two views of a scene, share a split)."""

    name: str
    category: str
    path: str | None
    group: str

    def load(self) -> np.ndarray:
        """The whole photo at its stored resolution, float32 RGB in [0, 1]."""
        return packaged_photo(self.name) if self.path is None else load_image(self.path)


class PhotoSource(NamedTuple):
    """Where ``photo_set`` reads from: ``kind`` ("shipped", "packaged" or "folder"), ``folder``,
    and ``note``, one line a lesson prints to say which photos it uses."""

    kind: str
    folder: str | None
    note: str


def photo_source(source: str | None = None) -> PhotoSource:
    """Resolve ``source`` (default: ``settings.PHOTO_SOURCE``, i.e. the environment variable
    ``COLORLAB_PHOTOS``, "shipped" when unset): "shipped", "packaged", a folder of image files
    (one sub-folder per category), or a dataset name that ``data.fetch`` downloads
    (e.g. "imagenette160", "lfw"). A dataset that cannot be fetched (offline) falls back to the
    shipped set, and the note says so."""

    return _resolved(settings.PHOTO_SOURCE if source is None else os.fspath(source))


@cache
def _resolved(source: str) -> PhotoSource:
    """``photo_source``'s answer, worked out once per source (a fetch is tried once)."""
    shipped_note = (f"Photos: the {len(_shipped_rows())} natural photographs shipped in datasets/photos "
                    "(set COLORLAB_PHOTOS=imagenette160 to use a bigger, downloaded set).")
    if source == "shipped":
        return PhotoSource("shipped", str(SHIPPED_FOLDER), shipped_note)
    if source == "packaged":
        return PhotoSource("packaged", None, f"Photos: the {len(PHOTOS)} photos scikit-image and scikit-learn install.")
    if os.path.isdir(source):
        return PhotoSource("folder", os.fspath(source), f"Photos: the image files in {source}.")

    if source not in registry():
        raise ValueError(f"COLORLAB_PHOTOS={source!r} is neither {' nor '.join(NAMED_SOURCES)}, a folder, "
                         f"nor a dataset colorlab can fetch ({', '.join(registry())})")
    try:
        folder = fetch(source)
    except FetchError as error:
        reason = str(error).splitlines()[0]
        return PhotoSource("shipped", str(SHIPPED_FOLDER),
                           f"Photos: {source} could not be fetched ({reason}); using the shipped set instead. "
                           + shipped_note.split(": ", 1)[1])
    return PhotoSource("folder", os.fspath(folder), f"Photos: {source}, downloaded to {folder}.")


@cache
def _shipped_rows() -> tuple[dict, ...]:
    manifest = SHIPPED_FOLDER / "manifest.csv"
    if not manifest.is_file():
        raise FileNotFoundError(
            f"the shipped photographs are not at {SHIPPED_FOLDER}: colorlab was installed without its "
            "repository. Clone the repository and `pip install -e` it, or set COLORLAB_PHOTOS to a folder")
    with open(manifest, newline="", encoding="utf-8") as f:
        return tuple(csv.DictReader(f))


def _all_photos(source: PhotoSource) -> list[Photo]:
    if source.kind == "packaged":
        return [Photo(name, category, None, group) for name, (_, group, category) in PHOTOS.items()]
    if source.kind == "shipped":
        return [Photo(row["file"], row["category"], str(SHIPPED_FOLDER / row["file"]), row["file"])
                for row in _shipped_rows()]

    found = []
    for path in image_files(source.folder):
        name = os.path.relpath(path, source.folder)
        category = os.path.basename(os.path.dirname(name)) or "photos"
        found.append(Photo(name, category, path, name))
    if not found:
        raise FileNotFoundError(f"no image files in {source.folder}")
    return found


def photo_set(split: str | None = None, categories=None, source: str | None = None, seed: int = 0,
              max_photos: int | None = None) -> list[Photo]:
    """The source photographs of ``source`` (see ``photo_source``), optionally one ``split``.

    ``split`` ("train", "val" or "test") keeps one part of a 60/20/20 split made within each
    category (of at least ``MIN_GROUPS`` photos) by photo group, so every category has held-out photos and no test photo is ever
    seen in training. ``categories`` keeps only those; ``max_photos`` keeps at most that many,
    drawn evenly across categories with ``seed`` (a downloaded set can hold thousands).
    """

    everything = _all_photos(photo_source(source))
    known = sorted({p.category for p in everything})
    if categories is not None:
        categories = [categories] if isinstance(categories, str) else list(categories)
        unknown = sorted(set(categories) - set(known))
        if unknown:
            raise ValueError(f"no photos of categories {unknown}; categories: {', '.join(known)}")
        everything = [p for p in everything if p.category in categories]
    if split is not None:
        if split not in Split._fields:
            raise ValueError(f"split must be one of {Split._fields} or None, got {split!r}")
        groups = {}
        for p in everything:
            groups.setdefault(p.category, set()).add(p.group)
        # A category of fewer than MIN_GROUPS photos is split together with the other small ones.
        stratum = {c: c if len(g) >= MIN_GROUPS else "" for c, g in groups.items()}
        kept = []
        for part in dict.fromkeys(stratum.values()):
            members = [p for p in everything if stratum[p.category] == part]
            parts = split_indices(len(members), groups=[p.group for p in members], seed=seed)
            kept += [members[i] for i in getattr(parts, split)]
        everything = sorted(kept, key=lambda p: (p.category, p.name))
    if max_photos is not None and len(everything) > max_photos:
        rng = np.random.default_rng(seed)
        pools = {}
        for p in everything:
            pools.setdefault(p.category, []).append(p)
        ranked = sorted((rank, category, p.name, p) for category, pool in pools.items()
                        for rank, p in enumerate(rng.permutation(np.array(pool, dtype=object))))
        everything = sorted((entry[-1] for entry in ranked[:max_photos]), key=lambda p: (p.category, p.name))
    return everything


@lru_cache(maxsize=1024)
def _scaled_pixels(photo: Photo, longer_side: int) -> np.ndarray:
    """The photo scaled to ``longer_side``, as uint8 (kept: a quarter of the memory of floats)."""

    pixels = to_uint8(resize_longer_side(photo.load(), longer_side))
    pixels.setflags(write=False)
    return pixels


def photos(size: int = 64, split: str | None = None, longer_side: int | None = None, stride: int | None = None,
           names=None, seed: int = 0, categories=None, source: str | None = None, whole: bool = False,
           max_photos: int | None = 400, max_patches: int | None = None) -> Patches:
    """Square ``size``-pixel pictures cut from the photographs of ``source`` (default: the natural
    photos shipped with the course; "packaged" for the eleven library photos; see ``photo_source``).

    Each photo is scaled so its longer side is ``longer_side`` pixels (default ``4 * size``) and
    cut into patches every ``stride`` pixels (default ``size``); with ``whole``, each photo is
    instead scaled and centre-cropped to one ``size`` x ``size`` picture. Pictures with no colour
    (``is_gray``) are dropped. ``split``, ``categories``, ``seed`` and ``max_photos`` choose the
    photos as ``photo_set`` does; ``names`` keeps only photos of those names. ``max_patches``
    keeps that many pictures drawn at random (``seed``), chosen before they become floats so that
    the ones left out never take float32 memory.
    """

    chosen = photo_set(split, categories, source, seed, max_photos)
    if names is not None:
        wanted = set(names)
        chosen = [p for p in chosen if p.name in wanted]
        missing = wanted - {p.name for p in chosen}
        if missing:
            raise KeyError(f"no photo named {sorted(missing)} in this source and split")
    images, sources, kinds = [], [], []
    for photo in chosen:
        pixels = _scaled_pixels(photo, longer_side or 4 * size)
        # Patches stay uint8 until all are cut (a quarter of the memory); whole photos are resized.
        cut = fit_to(floats(pixels), size)[None] if whole else cut_patches(pixels, size, stride or size)
        cut = cut[~is_gray(floats(cut))]
        images.append(cut)
        sources += [photo.name] * len(cut)
        kinds += [photo.category] * len(cut)
    if not images:
        return Patches(np.zeros((0, size, size, 3), np.float32), np.zeros(0, str), np.zeros(0, str))
    images, sources, kinds = np.concatenate(images), np.asarray(sources, dtype=str), np.asarray(kinds, dtype=str)
    if max_patches is not None:
        keep = np.random.default_rng(seed).permutation(len(images))[:max_patches]
        images, sources, kinds = images[keep], sources[keep], kinds[keep]
    return Patches(floats(images), sources, kinds)


