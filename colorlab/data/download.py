"""Real downloadable datasets: a checksummed registry, a cache, and safe extraction.

``fetch("cifar10")`` downloads the archive once (with a progress bar), refuses it unless its
SHA-256 matches the one in the registry, unpacks it safely into the cache and returns the folder
of images; later calls return that folder without touching the network. The registry
(``registry.json`` beside this file, catalogued in ``datasets/README.md``) says for each set
where its checksum was published. Offline, ``fetch`` raises a ``DownloadError`` that says what
to do instead; the embedded sets (``photos``, ``toyworld``) always work.

Introduced in lesson 13.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import stat
import tarfile
import tempfile
import zipfile
from functools import cache
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import NamedTuple

import numpy as np

#: The environment variable that moves the cache (default: the platform's cache folder).
CACHE_ENV = "COLORLAB_DATA"
#: Written into an extracted folder last, so a folder without it is never trusted.
MARKER = ".colorlab-fetched.json"


class FetchError(RuntimeError):
    """A dataset could not be fetched; the message names the dataset and the problem."""


class DownloadError(FetchError):
    """The download failed (offline, refused, interrupted); the message says what to do."""


class ChecksumError(FetchError):
    """The downloaded file is not the one the registry describes."""


class UnsafeArchiveError(FetchError):
    """The archive holds a member that could write outside its folder."""


class Labelled(NamedTuple):
    """``images``: uint8 RGB (n, 32, 32, 3); ``labels``: the class name of each image."""

    images: np.ndarray
    labels: np.ndarray


@cache
def _packaged_registry() -> dict:
    text = resources.files(__package__).joinpath("registry.json").read_text(encoding="utf-8")
    return {name: entry for name, entry in json.loads(text).items() if not name.startswith("_")}


def registry() -> dict:
    """Name -> entry (url, sha256, size, licence, citation, checksum_source, ...) of every set."""
    return json.loads(json.dumps(_packaged_registry()))  # a copy the caller may change


def cache_root(path=None) -> Path:
    """Where fetched sets live: ``path``, else ``$COLORLAB_DATA``, else the user cache folder."""
    if path is None:
        path = os.environ.get(CACHE_ENV) or _default_cache()
    return Path(path).expanduser()


def _default_cache() -> str:
    import pooch

    return str(pooch.os_cache("colorlab"))


def fetch(name: str, cache_dir=None, progress: bool = True, registry: dict | None = None) -> Path:
    """Download, verify and unpack the dataset ``name``; return the folder of its images.

    The first call downloads (progress bar if ``progress``), checks the SHA-256, extracts into
    a temporary folder beside the target and renames it into place; later calls find the
    completed folder and return at once. ``registry`` replaces the packaged registry (tests, a
    set of your own). Raises ``KeyError`` for an unknown name, ``DownloadError`` when offline
    or interrupted, ``ChecksumError`` for a wrong file, ``UnsafeArchiveError`` for an archive
    that would write outside its folder. Introduced in lesson 13.
    """
    entries = _packaged_registry() if registry is None else registry
    if name not in entries:
        raise KeyError(f"no dataset {name!r}; choose from {', '.join(sorted(entries))}")
    entry = entries[name]
    root = cache_root(cache_dir)
    target = root / name
    folder = target / entry["folder"] if entry.get("folder") else target
    if _is_complete(target, entry):
        return folder
    root.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(root).free
    if free < 2.1 * entry["size"]:  # the archive and its extracted copy, briefly side by side
        raise FetchError(f"{name} needs about {2.1 * entry['size'] / 1e9:.1f} GB free in {root}, "
                         f"which has {free / 1e9:.1f} GB; free some space or set ${CACHE_ENV}")
    archive = _download(name, entry, root, progress)
    _unpack(archive, target, entry)
    archive.unlink()
    return folder


def _is_complete(target: Path, entry: dict) -> bool:
    try:
        return json.loads((target / MARKER).read_text())["sha256"] == entry["sha256"]
    except (OSError, ValueError, KeyError):
        return False


def _download(name: str, entry: dict, root: Path, progress: bool) -> Path:
    """The verified archive in ``root``: pooch downloads to a temporary file, checks the hash
    and only then renames it, so no partial or wrong file is ever left under the final name."""
    import pooch
    import requests

    archive = root / (entry.get("filename") or f"{name}.{entry['format']}")
    failures = []
    for url in [entry["url"], *entry.get("mirrors", [])]:
        try:
            pooch.retrieve(url, known_hash=f"sha256:{entry['sha256']}", fname=archive.name,
                           path=root, progressbar=progress)
            return archive
        except ValueError as error:
            if "does not match" not in str(error):
                raise
            archive.unlink(missing_ok=True)
            raise ChecksumError(
                f"{name}: the file from {url} is not the one in the registry ({error}); it was "
                "deleted. The server may have changed the file: report it, do not trust it."
            ) from None
        except requests.exceptions.RequestException as error:
            failures.append(f"{url}: {error}")
    if archive.exists():
        failures.append(f"the file already at {archive} does not match the registry's sha256")
    raise DownloadError(
        f"could not download {name} ({entry['size'] / 1e6:.1f} MB):\n  " + "\n  ".join(failures)
        + f"\nCheck the internet connection and try again; or download the file by hand from "
        f"{entry['url']} and save it as {archive}, then call fetch({name!r}) again; or use the "
        "embedded sets, which work offline: colorlab.data.photos() and colorlab.data.toyworld()."
    )


def _unpack(archive: Path, target: Path, entry: dict) -> None:
    """Extract into a temporary sibling of ``target``, then rename it into place."""
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        try:
            (_unzip if entry["format"] == "zip" else _untar)(archive, scratch)
        except (tarfile.TarError, zipfile.BadZipFile, EOFError) as error:
            message = f"{archive.name} is not a readable {entry['format']} file ({error})"
            raise FetchError(message) from None
        if not (scratch / entry.get("folder", "")).is_dir():
            raise FetchError(f"{archive.name} has no folder {entry['folder']!r}; fix the registry")
        (scratch / MARKER).write_text(json.dumps({"sha256": entry["sha256"], "url": entry["url"]}))
        if target.exists():
            shutil.rmtree(target)  # an incomplete folder from an older run
        os.replace(scratch, target)
    except BaseException as error:
        shutil.rmtree(scratch, ignore_errors=True)
        if isinstance(error, FetchError):  # a bad archive; an interrupted one is kept and reused
            archive.unlink(missing_ok=True)
        raise


def _safe_path(root: Path, name: str, archive: Path) -> Path:
    """``root / name``, refusing absolute names and ``..`` that would climb out of ``root``."""
    posix = PurePosixPath(name.replace("\\", "/"))
    if posix.is_absolute() or (posix.parts and posix.parts[0].endswith(":")):
        raise UnsafeArchiveError(f"{archive.name}: refused member {name!r} (absolute path)")
    if ".." in posix.parts:
        raise UnsafeArchiveError(f"{archive.name}: refused member {name!r} (path with '..')")
    return root.joinpath(*posix.parts)


def _untar(archive: Path, root: Path) -> None:
    """Extract with tarfile's own "data" filter (PEP 706: nothing outside ``root``, no device
    files, no set-user-ID bits), stricter still: files and folders only, no links, and a clear
    ``UnsafeArchiveError`` for a name that would climb out of ``root``."""
    def files_and_folders_only(member: tarfile.TarInfo, destination: str) -> tarfile.TarInfo:
        _safe_path(root, member.name, archive)
        if not (member.isfile() or member.isdir()):
            kind = "link" if member.issym() or member.islnk() else "special file"
            raise UnsafeArchiveError(f"{archive.name}: refused member {member.name!r} ({kind})")
        try:
            return tarfile.data_filter(member, destination)
        except tarfile.FilterError as error:
            raise UnsafeArchiveError(f"{archive.name}: refused member {member.name!r} ({error})") from None

    with tarfile.open(archive, "r:*") as tar:
        tar.extractall(root, filter=files_and_folders_only)


def _unzip(archive: Path, root: Path) -> None:
    with zipfile.ZipFile(archive) as zipped:
        for info in zipped.infolist():
            path = _safe_path(root, info.filename, archive)
            mode = info.external_attr >> 16  # Unix mode; its type bits are 0 when made elsewhere
            if info.is_dir():
                path.mkdir(parents=True, exist_ok=True)
            elif stat.S_IFMT(mode) not in (0, stat.S_IFREG):
                kind = "link" if stat.S_ISLNK(mode) else "special file"
                raise UnsafeArchiveError(
                    f"{archive.name}: refused member {info.filename!r} ({kind})")
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                with zipped.open(info) as source, open(path, "wb") as out:
                    shutil.copyfileobj(source, out)


def cifar_classes(folder, classes=("deer", "ship"), split: str = "train") -> Labelled:
    """The CIFAR images of the named ``classes`` from a folder ``fetch`` returned.

    Works for ``fetch("cifar10")`` (seed 001 used deer and ship) and ``fetch("cifar100")``
    (fine labels: "cattle", ...). ``split`` is ``"train"`` or ``"test"``. Images stay uint8
    until a batch needs floats. The batches are pickles: read only ones whose archive passed
    the checksum. Introduced in lesson 13.
    """
    folder = Path(folder)
    cifar10 = (folder / "batches.meta").exists()
    meta = _unpickle(folder / ("batches.meta" if cifar10 else "meta"))
    names = [n.decode() for n in meta[b"label_names" if cifar10 else b"fine_label_names"]]
    unknown = [c for c in classes if c not in names]
    if unknown:
        asked = ", ".join(map(repr, unknown))
        raise ValueError(f"no CIFAR class {asked}; choose from {', '.join(names)}")
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if cifar10:
        files = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    else:
        files = [split]
    wanted = [names.index(c) for c in classes]
    images, labels = [], []
    for file in files:
        batch = _unpickle(folder / file)
        numbers = np.asarray(batch[b"labels" if cifar10 else b"fine_labels"])
        keep = np.isin(numbers, wanted)
        pixels = np.asarray(batch[b"data"], np.uint8)[keep]
        images.append(pixels.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        labels.append(np.asarray(names, dtype=str)[numbers[keep]])
    return Labelled(np.ascontiguousarray(np.concatenate(images)), np.concatenate(labels))


def _unpickle(path: Path) -> dict:
    with open(path, "rb") as handle:
        return pickle.load(handle, encoding="bytes")
