"""Data for the course: toyworld scenes, packaged photos, the learner's own images, downloadable
datasets (``fetch``), and the preprocessing every lesson shares (see the submodules' docstrings)."""

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
from .images import (
    MAX_PIXELS,
    PHOTOS,
    ImageError,
    Patches,
    Photo,
    PhotoSource,
    load_image,
    packaged_photo,
    photo_set,
    photo_source,
    photos,
)
from .pipeline import (
    GREY_CHROMA,
    IMAGE_SUFFIXES,
    Split,
    augmentation,
    augmented_copies,
    category_subsets,
    cut_patches,
    dataset,
    fit_to,
    folder_dataset,
    image_files,
    is_grey,
    resize_longer_side,
    split_indices,
    to_uint8,
)
from .scenes import THEMES, Scenes, toyworld

__all__ = [
    "CACHE_ENV", "ChecksumError", "DownloadError", "FetchError", "Labelled", "UnsafeArchiveError",
    "cache_root", "cifar_classes", "fetch", "registry",
    "GREY_CHROMA", "MAX_PIXELS", "PHOTOS", "THEMES", "ImageError", "Patches", "Scenes", "Split",
    "IMAGE_SUFFIXES", "augmentation", "augmented_copies", "category_subsets", "cut_patches", "dataset", "fit_to",
    "folder_dataset", "image_files", "is_grey",
    "load_image", "packaged_photo", "Photo", "PhotoSource", "photo_set", "photo_source", "photos", "resize_longer_side", "split_indices", "to_uint8", "toyworld",
]
