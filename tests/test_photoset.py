"""The natural-photo set shipped in datasets/photos/: complete, intact, small and freely licensed."""

import csv
import hashlib
import importlib.util
import shutil
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT / "datasets" / "photos"
CATEGORIES = {"landscape", "water_sky", "plants_flowers", "animals", "food_objects",
              "buildings_city", "people"}
FREE_LICENCES = {"public-domain", "CC0-1.0", "CC-BY-2.0", "CC-BY-3.0", "CC-BY-4.0",
                 "CC-BY-SA-3.0", "CC-BY-SA-4.0", "GPL-2+", "GPL-3", "GPL-3+", "LGPL-2.1+",
                 "BSD-3-Clause"}
EXCLUDED_SOURCES = {"mate-backgrounds", "plasma-workspace-wallpapers"}   # kept for evaluation


def load_builder():
    spec = importlib.util.spec_from_file_location("build_photos", ROOT / "datasets" / "build_photos.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def rows():
    with open(PHOTOS / "manifest.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_every_listed_photo_exists_and_matches_its_sha256(rows):
    assert len(rows) >= 150
    for row in rows:
        path = PHOTOS / row["file"]
        assert path.is_file(), row["file"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == row["sha256"], row["file"]


def test_no_file_in_the_folder_is_missing_from_the_manifest(rows):
    listed = {row["file"] for row in rows}
    assert len(listed) == len(rows), "a file is listed twice"
    present = {p.name for p in PHOTOS.iterdir()} - {"manifest.csv"}
    assert present == listed


def test_each_source_photo_is_used_once(rows):
    originals = Counter((row["source"], row["original"]) for row in rows)
    assert [o for o, n in originals.items() if n > 1] == []


def test_photos_are_rgb_jpegs_of_the_stated_size_within_bounds(rows):
    total = 0
    for row in rows:
        path = PHOTOS / row["file"]
        total += path.stat().st_size
        with Image.open(path) as image:
            assert image.format == "JPEG" and image.mode == "RGB", row["file"]
            assert image.size == (int(row["width"]), int(row["height"])), row["file"]
            assert 384 <= max(image.size) <= 512, row["file"]
            assert not image.info.get("exif"), row["file"]
    assert total <= 30 * 2**20


def test_every_category_has_photos_and_no_other_category_is_used(rows):
    counts = Counter(row["category"] for row in rows)
    assert set(counts) == CATEGORIES
    assert min(counts.values()) >= 5, counts


def test_licences_are_free_and_every_photo_names_its_author_and_where_that_is_stated(rows):
    for row in rows:
        assert row["licence"] in FREE_LICENCES, (row["file"], row["licence"])
        assert row["author"].strip() and row["licence_from"].strip(), row["file"]
        assert row["source"] not in EXCLUDED_SOURCES, row["file"]


def test_check_reports_an_altered_a_missing_and_an_unlisted_file(tmp_path, rows):
    builder = load_builder()
    folder = tmp_path / "photos"
    shutil.copytree(PHOTOS, folder)
    assert builder.check(folder) == []

    altered, removed = rows[0]["file"], rows[1]["file"]
    data = bytearray((folder / altered).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / altered).write_bytes(bytes(data))
    (folder / removed).unlink()
    (folder / "stray.jpg").write_bytes(b"not listed")

    problems = builder.check(folder)
    assert len(problems) == 3
    assert problems[0].startswith(f"{altered}: sha256")
    assert problems[1] == f"{removed}: missing"
    assert problems[2] == "stray.jpg: not in the manifest"


def test_prepare_and_encode_are_deterministic_and_never_enlarge():
    builder = load_builder()
    import numpy as np
    pixels = np.random.default_rng(0).integers(0, 256, (300, 800, 3), dtype=np.uint8)
    large = Image.fromarray(pixels)
    first, second = builder.encode(builder.prepare(large)), builder.encode(builder.prepare(large))
    assert first == second
    assert builder.prepare(large).size == (512, 192)
    assert builder.prepare(large.resize((450, 200))).size == (450, 200)
    with pytest.raises(ValueError, match="smaller than 384"):
        builder.prepare(large.resize((300, 200)))
