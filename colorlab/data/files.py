"""Image files: reading one into the course's image convention (``load_image``), checking one
without decoding it (``upright_steps``, which ``pipeline.folder_dataset`` uses before streaming a
folder), and listing a folder's images. Every refusal is an ``ImageError`` that names the file and
the problem. The bottom of the data package: it imports nothing else of colorlab.
"""

from __future__ import annotations

import io
import os
import warnings
from contextlib import contextmanager

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

#: Files with more pixels than this are refused (a decompression bomb, or just too big to teach
#: with on a 2 GB machine). 50 megapixels is a 12-bit float32 image of 600 MB.
MAX_PIXELS = 50_000_000


class ImageError(ValueError):
    """A file that cannot be used as an image; the message names the file and the problem."""


#: File endings ``folder_dataset`` reads (what ``tf.io.decode_image`` decodes), any case.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp")

# Pillow's names of the formats decode_image reads (MPO: a phone's JPEG with extra views).
_DECODED = {"JPEG", "MPO", "PNG", "GIF", "BMP", "WEBP"}
# The bytes that close a JPEG or a PNG: a file cut short (an interrupted copy) lacks them.
_END = {"JPEG": b"\xff\xd9", "MPO": b"\xff\xd9", "PNG": b"IEND"}
# EXIF orientation -> (swap rows and columns, mirror left-right, mirror top-bottom), the steps in
# that order that turn the stored pixels upright.
_UPRIGHT = {1: (0, 0, 0), 2: (0, 1, 0), 3: (0, 1, 1), 4: (0, 0, 1),
            5: (1, 0, 0), 6: (1, 1, 0), 7: (1, 1, 1), 8: (1, 0, 1)}


def image_files(folder) -> list[str]:
    """The image files under ``folder`` (recursively, sorted), by their ending (``IMAGE_SUFFIXES``);
    hidden files (names starting with ".", such as macOS's "._photo.jpg") are left out."""
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"no folder {folder!r}")
    found = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found += [os.path.join(root, name) for name in names
                  if not name.startswith(".") and name.lower().endswith(IMAGE_SUFFIXES)]
    return sorted(found)


def upright_steps(path: str, max_pixels: int) -> tuple:
    """Check an image file by ``load_image``'s rules (what ``folder_dataset`` does before streaming), reading its header and its last bytes
    but decoding nothing; return the ``_UPRIGHT`` steps of its EXIF orientation. Raises
    ``ImageError`` naming the file and the problem."""
    if os.path.getsize(path) == 0:
        raise ImageError(f"{path}: the file is empty (0 bytes)")
    with open(path, "rb") as file, reading(path):
        image = open_header(file, path, max_pixels)
        if image.format not in _DECODED:
            raise ImageError(f"{path}: a {image.format} file; folder_dataset reads JPEG, PNG, GIF, BMP and WebP")
        end = _END.get(image.format)
        if end is not None:
            data_start = file.tell()  # past the header, so a JPEG's EXIF thumbnail (it has an end) is not seen
            file.seek(max(data_start, os.fstat(file.fileno()).st_size - 16))
            if end not in file.read():  # usually there; else look further (data after the end)
                file.seek(data_start)
                if end not in file.read():
                    raise ImageError(f"{path}: truncated ({image.format} data without its end)")
        exif = Image.Exif()
        if "exif" in image.info:
            exif.load(image.info["exif"])
    return _UPRIGHT.get(exif.get(0x0112, 1), _UPRIGHT[1])


def usable_files(paths: list[str], max_pixels: int):
    """The files among ``paths`` that pass ``upright_steps``, their steps, and one message per
    file refused."""
    kept, steps, refused = [], [], []
    for path in paths:
        try:
            steps.append(upright_steps(path, max_pixels))
            kept.append(path)
        except ImageError as error:
            refused.append(str(error))
        except OSError as error:  # unreadable: no permission, gone since the listing
            refused.append(f"{path}: cannot be read ({error})")
    return kept, steps, refused


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
    with reading(name):
        image = open_header(io.BytesIO(data), name, max_pixels)
        image.load()
        image = ImageOps.exif_transpose(image)
    return _to_rgb(image)


@contextmanager
def reading(name: str):
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


def open_header(file, name: str, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """The image in ``file`` as Pillow opens it: its header read, no pixel decoded yet. Refuses
    one of more than ``max_pixels`` pixels, or of none. Use inside ``reading(name)``."""
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
        gray = np.clip(np.asarray(image, np.float64) / full_scale, 0.0, 1.0).astype(np.float32)
        return np.repeat(gray[..., None], 3, axis=-1)
    if "A" in image.mode or "transparency" in image.info:
        rgba = np.asarray(image.convert("RGBA"), np.float32) / 255.0
        alpha = rgba[..., 3:]
        return rgba[..., :3] * alpha + (1.0 - alpha)  # composite on white
    return np.asarray(image.convert("RGB"), np.float32) / 255.0
