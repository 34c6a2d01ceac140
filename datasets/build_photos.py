"""Check or rebuild the natural-photo set in ``datasets/photos/`` from its sources.

    python datasets/build_photos.py --check            # stored files against the manifest (offline)
    python datasets/build_photos.py                    # rebuild every photo from its sources
    python datasets/build_photos.py --update-manifest  # rebuild, then write the new hashes and sizes

The manifest (``datasets/photos/manifest.csv``) names, for each photo, where it came from:
``source`` is a Python library (``scikit-image``, ``scikit-learn``, ``matplotlib``) or a Debian
package, ``original`` the file inside it. A member of a Qt resource file is written
``path/to/file.rcc!/member``. Rebuilding downloads the Debian packages with ``apt-get download``
into a cache folder, unpacks them with ``dpkg -x`` and reads the libraries from the installed
packages. Each photo is then reproduced the same way: EXIF orientation applied, RGB, the longer
side reduced to 512 px with Lanczos (never enlarged), JPEG quality 90 without chroma
subsampling or metadata.

The manifest's sha256 is that of the stored file. Another Pillow or libjpeg may encode the same
pixels into different bytes, so a rebuild reports each photo whose hash differs instead of
failing; ``--check`` is the test that matters for the stored set.
"""

from __future__ import annotations

import argparse
import bz2
import csv
import hashlib
import importlib.metadata
import importlib.util
import io
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import pooch

HERE = Path(__file__).resolve().parent
PHOTOS = HERE / "photos"
MANIFEST = PHOTOS / "manifest.csv"
FIELDS = ["file", "category", "source", "source_version", "original", "author", "licence",
          "licence_from", "width", "height", "sha256"]

LONG_SIDE = 512          # longer side of a stored photo, px (smaller originals are kept as they are)
MIN_LONG_SIDE = 384      # originals smaller than this are not used
JPEG_QUALITY = 90

LIBRARIES = {"scikit-image": "skimage", "scikit-learn": "sklearn", "matplotlib": "matplotlib"}


def read_manifest(path: Path = MANIFEST) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        if set(row) != set(FIELDS):
            raise ValueError(f"{path}: columns {sorted(row)} are not {sorted(FIELDS)}")
    return rows


def write_manifest(rows: list[dict], path: Path = MANIFEST) -> None:
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)


def sha256(path: Path) -> str:
    return pooch.file_hash(str(path))


def check(folder: Path = PHOTOS) -> list[str]:
    """Problems with the stored set: missing, altered or unlisted files. Empty when all is well."""
    rows = read_manifest(folder / "manifest.csv")
    problems = []
    listed = set()
    for row in rows:
        path = folder / row["file"]
        listed.add(row["file"])
        if not path.is_file():
            problems.append(f"{row['file']}: missing")
        elif sha256(path) != row["sha256"]:
            problems.append(f"{row['file']}: sha256 {sha256(path)} is not the manifest's {row['sha256']}")
    for path in sorted(folder.glob("*.jpg")):
        if path.name not in listed:
            problems.append(f"{path.name}: not in the manifest")
    return problems


# --- Sources ----------------------------------------------------------------------------------

def library_root(source: str) -> Path:
    """Folder that holds a library's top-level package (found without importing it)."""
    spec = importlib.util.find_spec(LIBRARIES[source])
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"{source} is not installed: pip install {source}")
    return Path(list(spec.submodule_search_locations)[0]).parent


def debian_package(name: str, cache: Path) -> tuple[Path, str]:
    """Unpacked tree and version of a Debian package, downloaded into ``cache`` once."""
    tree = cache / name
    debs = sorted(cache.glob(f"{name}_*.deb"))
    if not debs:
        done = subprocess.run(["apt-get", "download", name], cwd=cache)
        debs = sorted(cache.glob(f"{name}_*.deb"))
        if done.returncode or not debs:
            raise RuntimeError(f"apt-get download {name} failed: run 'apt-get update' first, or put "
                               f"{name}_*.deb into {cache} by hand")
    version = subprocess.run(["dpkg-deb", "-f", str(debs[-1]), "Version"], check=True,
                             capture_output=True, text=True).stdout.strip()
    if not tree.is_dir():
        partial = Path(tempfile.mkdtemp(dir=cache, prefix=f".{name}-"))
        subprocess.run(["dpkg", "-x", str(debs[-1]), str(partial)], check=True)
        partial.rename(tree)
    return tree, version


def rcc_member(rcc: bytes, member: str) -> bytes:
    """One file from a Qt resource (.rcc) archive, by its path inside the archive."""
    if rcc[:4] != b"qres":
        raise ValueError("not a Qt resource file")
    version, tree, data, names = struct.unpack(">IIII", rcc[4:20])
    node_size = 14 if version == 1 else 22

    def name(offset):
        length = struct.unpack(">H", rcc[names + offset:names + offset + 2])[0]
        return rcc[names + offset + 6:names + offset + 6 + 2 * length].decode("utf-16-be")

    node = 0
    for part in member.strip("/").split("/"):
        base = tree + node * node_size
        count, first = struct.unpack(">II", rcc[base + 6:base + 14])
        for child in range(first, first + count):
            if name(struct.unpack(">I", rcc[tree + child * node_size:][:4])[0]) == part:
                node = child
                break
        else:
            raise KeyError(f"{member}: no {part!r}")
    base = tree + node * node_size
    flags = struct.unpack(">H", rcc[base + 4:base + 6])[0]
    offset = struct.unpack(">I", rcc[base + 10:base + 14])[0]
    size = struct.unpack(">I", rcc[data + offset:data + offset + 4])[0]
    blob = rcc[data + offset + 4:data + offset + 4 + size]
    if flags & 1:
        return zlib.decompress(blob[4:])
    if flags & 4:
        raise ValueError(f"{member}: zstd-compressed members are not supported")
    return blob


def open_original(row: dict, cache: Path):
    """The original image of a manifest row, and the version of its source."""
    from PIL import Image

    source, original = row["source"], row["original"]
    if source in LIBRARIES:
        root = library_root(source)
        version = importlib.metadata.version(source)
        return Image.open(root / original), version
    tree, version = debian_package(source, cache)
    if "!" in original:
        archive, member = original.split("!", 1)
        return Image.open(io.BytesIO(rcc_member((tree / archive).read_bytes(), member))), version
    if original.endswith("scipy/misc/face.dat"):      # raw 768 x 1024 RGB, bz2-compressed
        import numpy as np
        raw = bz2.decompress((tree / original).read_bytes())
        return Image.fromarray(np.frombuffer(raw, np.uint8).reshape(768, 1024, 3)), version
    return Image.open(tree / original), version


def prepare(image):
    """The stored form of a photo: upright RGB, longer side at most LONG_SIDE."""
    from PIL import Image, ImageOps

    image = ImageOps.exif_transpose(image).convert("RGB")
    long_side = max(image.size)
    if long_side < MIN_LONG_SIDE:
        raise ValueError(f"{image.size} is smaller than {MIN_LONG_SIDE} px on its longer side")
    if long_side > LONG_SIDE:
        scale = LONG_SIDE / long_side
        size = tuple(max(1, round(side * scale)) for side in image.size)
        image = image.resize(size, Image.Resampling.LANCZOS)
    return image


def encode(image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=JPEG_QUALITY, subsampling=0, optimize=False,
               progressive=False)
    return out.getvalue()


def rebuild(cache: Path, folder: Path = PHOTOS, update_manifest: bool = False) -> int:
    rows = read_manifest(folder / "manifest.csv")
    differ = 0
    for row in rows:
        image, version = open_original(row, cache)
        with image:
            data = encode(prepare(image))
        digest = hashlib.sha256(data).hexdigest()
        if version != row["source_version"]:
            print(f"{row['file']}: {row['source']} is now {version}, the manifest has "
                  f"{row['source_version'] or 'none'}")
        if digest != row["sha256"]:
            differ += 1
            print(f"{row['file']}: rebuilt sha256 {digest[:12]}... differs from the manifest's "
                  f"{row['sha256'][:12] or 'none'}...")
        tmp = folder / (row["file"] + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(folder / row["file"])
        if update_manifest:
            from PIL import Image
            with Image.open(io.BytesIO(data)) as stored:
                row["width"], row["height"] = map(str, stored.size)
            row["sha256"], row["source_version"] = digest, version
    if update_manifest:
        write_manifest(rows, folder / "manifest.csv")
    print(f"{len(rows)} photos rebuilt, {differ} with a different sha256"
          + (" (manifest updated)" if update_manifest else
             " (a different Pillow or libjpeg can change the bytes of the same pixels)" if differ else ""))
    return differ


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="only verify the stored files against the manifest")
    parser.add_argument("--update-manifest", action="store_true",
                        help="after rebuilding, write the new sha256, sizes and source versions")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "colorlab-photoset",
                        help="where Debian packages are downloaded and unpacked (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.check:
        problems = check()
        for problem in problems:
            print(problem)
        print(f"{len(read_manifest())} photos, {len(problems)} problems")
        return 1 if problems else 0
    if shutil.which("apt-get") is None:
        parser.error("rebuilding needs Debian's apt-get and dpkg (use --check to verify only)")
    args.cache.mkdir(parents=True, exist_ok=True)
    rebuild(args.cache.resolve(), update_manifest=args.update_manifest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
