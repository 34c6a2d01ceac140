"""Data for the course: toyworld scenes, packaged photos, the learner's own images, downloadable
datasets (``fetch``), and the preprocessing every lesson shares (see the submodules' docstrings).

The submodules stand in layers; each imports only those below it (``colorlab.color`` and
``colorlab.settings`` lie under them all)::

    images     photographs: the shipped, packaged and downloaded sets, their splits and patches
      |   \
    pipeline  \\      resizing, patches, grey checks, splits, augmentation, tf.data pipelines
      |      download  fetch a registered dataset into the cache, checksummed and safely unpacked
    files             read, check and list image files (ImageError)

    scenes            toyworld, apart from the rest
"""

from .download import (
    CACHE_ENV,
    ChecksumError,
    DownloadError,
    FetchError,
    Labelled,
    UnsafeArchiveError,
    cache_root,
    cifar_classes,
    fetch,
    registry,
)
from .files import IMAGE_SUFFIXES, MAX_PIXELS, ImageError, image_files, load_image
from .images import (
    PHOTOS,
    Patches,
    Photo,
    PhotoSource,
    packaged_photo,
    photo_set,
    photo_source,
    photos,
)
from .pipeline import (
    GRAY_CHROMA,
    Split,
    augmentation,
    augmented_copies,
    category_subsets,
    cut_patches,
    dataset,
    fit_to,
    folder_dataset,
    is_gray,
    resize_longer_side,
    split_indices,
    to_uint8,
)
from .scenes import THEMES, Scenes, toyworld

__all__ = [
    "CACHE_ENV", "ChecksumError", "DownloadError", "FetchError", "Labelled", "UnsafeArchiveError",
    "cache_root", "cifar_classes", "fetch", "registry",
    "GRAY_CHROMA", "MAX_PIXELS", "PHOTOS", "THEMES", "ImageError", "Patches", "Scenes", "Split",
    "IMAGE_SUFFIXES", "augmentation", "augmented_copies", "category_subsets", "cut_patches", "dataset", "fit_to",
    "folder_dataset", "image_files", "is_gray",
    "load_image", "packaged_photo", "Photo", "PhotoSource", "photo_set", "photo_source", "photos",
    "resize_longer_side", "split_indices", "to_uint8", "toyworld",
]
