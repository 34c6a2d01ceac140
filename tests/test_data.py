import random
import struct
import subprocess
import sys
import zlib
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from PIL import Image
from skimage.color import rgb2lab

from colorlab import color, data, settings
from colorlab.data import images
from colorlab.data.scenes import SHAPE_COLORS

# --------------------------------------------------------------------------------------- toyworld


def test_toyworld_is_deterministic_and_seeded():
    a, b, c = data.toyworld(20, seed=3), data.toyworld(20, seed=3), data.toyworld(20, seed=4)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.ambiguous, b.ambiguous)
    assert not np.array_equal(a.images, c.images)


def test_toyworld_shapes_and_range():
    scenes = data.toyworld(10, size=32)
    assert scenes.images.shape == (10, 32, 32, 3) and scenes.images.dtype == np.float32
    assert scenes.ambiguous.shape == (10, 32, 32) and scenes.ambiguous.dtype == bool
    assert 0.0 <= scenes.images.min() and scenes.images.max() <= 1.0


def test_ambiguous_pixels_share_lightness_but_not_hue():
    scenes = data.toyworld(300, seed=1)
    lab = rgb2lab(scenes.images[scenes.ambiguous])
    assert len(lab) > 1000
    np.testing.assert_allclose(lab[:, 0], 60.0, atol=0.5)  # one lightness: grey can't tell them apart
    hues = np.sign(lab[:, 1])
    assert 0.3 < (hues > 0).mean() < 0.7  # both hues drawn, about equally often
    np.testing.assert_allclose(np.abs(lab[:, 1]), 40.0, atol=0.5)  # opposite hues on the a* axis
    np.testing.assert_allclose(lab[:, 2], 0.0, atol=0.5)
    assert np.hypot(*lab[:, 1:].mean(axis=0)) < 10.0  # their average is close to grey


def test_learnable_objects_have_one_color_per_shape():
    scenes = data.toyworld(200, seed=2)
    lab = rgb2lab(scenes.images)
    for lab_color in SHAPE_COLORS.values():
        match = np.linalg.norm(lab - np.asarray(lab_color), axis=-1) < 1.0
        assert match.sum() > 500 and not (match & scenes.ambiguous).any()
        assert scenes.objects[match].all()
    assert not (scenes.objects & scenes.ambiguous).any()
    object_lab = lab[scenes.objects]
    distance = np.min([np.linalg.norm(object_lab - np.asarray(c), axis=-1) for c in SHAPE_COLORS.values()], axis=0)
    assert distance.max() < 1.0  # every object pixel is a circle's or a square's colour


def test_toyworld_themes():
    scenes = data.toyworld(60, themes=("meadow", "sunset"), seed=0)
    assert set(scenes.theme) == {"meadow", "sunset"}
    top_row_hue = rgb2lab(scenes.images[:, 0].mean(axis=1))[:, 1]  # a* of the sky's top row
    assert np.all((top_row_hue > 20) == (scenes.theme == "sunset"))
    with pytest.raises(ValueError, match="unknown themes"):
        data.toyworld(2, themes=("mars",))


def test_the_scenes_module_can_be_patched_by_its_dotted_name():
    # The module is not shadowed by the function ``data.toyworld``, so its settings can be replaced.
    with mock.patch("colorlab.data.scenes._MAX_OBJECTS", 0):
        empty = data.toyworld(20, size=32, seed=0)
    assert not empty.objects.any() and not empty.ambiguous.any()
    assert data.toyworld(20, size=32, seed=0).objects.any()


# ----------------------------------------------------------------------------------------- photos


def test_packaged_photos_are_colored_patches_split_by_source():
    parts = {name: data.photos(48, split=name, source="packaged") for name in ("train", "val", "test")}
    sources = {name: set(p.source) for name, p in parts.items()}
    assert all(sources.values())
    assert not (sources["train"] & sources["test"]) and not (sources["train"] & sources["val"])
    assert not (sources["val"] & sources["test"])
    # The two stereo views are near-duplicates: they always land together.
    assert sum("motorcycle_left" in s and "motorcycle_right" in s for s in sources.values()) == 1
    everything = data.photos(48, source="packaged")
    assert sum(len(p.images) for p in parts.values()) == len(everything.images)
    assert everything.images.shape[1:] == (48, 48, 3)
    assert not data.is_gray(everything.images).any()
    assert len(set(everything.source)) == len(data.PHOTOS)


def test_shipped_photos_are_the_default_split_by_photo_within_each_category():
    assert data.photo_source().kind == "shipped" and "253 natural photographs" in data.photo_source().note
    parts = {name: data.photo_set(name) for name in ("train", "val", "test")}
    names = {name: {p.name for p in part} for name, part in parts.items()}
    assert len(set.union(*names.values())) == sum(map(len, names.values())) == len(data.photo_set())
    categories = {p.category for p in data.photo_set()}
    assert len(categories) == 7 and "microscopy" not in categories
    for part in parts.values():  # every category is held out, in about 60/20/20 proportions
        assert {p.category for p in part} == categories
    assert 0.55 < len(parts["train"]) / len(data.photo_set()) < 0.65
    patches = data.photos(32, split="test", categories="animals")
    assert set(patches.category) == {"animals"} and set(patches.source) <= names["test"]
    assert patches.images.shape[1:] == (32, 32, 3) and not data.is_gray(patches.images).any()
    some = data.photos(32, split="test", categories="animals", max_patches=5)
    drawn = np.random.default_rng(0).permutation(len(patches.images))[:5]  # the same draw, made after
    np.testing.assert_array_equal(some.images, patches.images[drawn])
    assert list(some.source) == list(patches.source[drawn]) and some.images.dtype == np.float32
    whole = data.photos(32, split="test", whole=True)
    assert len(whole.images) == len(set(whole.source)) <= len(parts["test"])
    photo = parts["test"][0]
    assert photo.load().shape[2] == 3 and max(photo.load().shape[:2]) == 512
    with pytest.raises(ValueError, match="no photos of categories"):
        data.photo_set(categories=["microscopy"])
    assert len(data.photo_set(max_photos=14)) == 14
    assert {p.category for p in data.photo_set(max_photos=14)} == categories  # drawn evenly


def test_a_folder_or_fetched_dataset_replaces_the_shipped_photos(tmp_path, monkeypatch):
    from PIL import Image

    rng = np.random.default_rng(0)
    for category in ("cats", "boats"):
        (tmp_path / category).mkdir()
        for i in range(5):
            pixels = rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / category / f"{i}.png")
    monkeypatch.setattr(settings, "PHOTO_SOURCE", str(tmp_path))  # what COLORLAB_PHOTOS=folder sets
    assert data.photo_source().kind == "folder" and str(tmp_path) in data.photo_source().note
    everything = data.photo_set()
    assert len(everything) == 10 and {p.category for p in everything} == {"cats", "boats"}
    test = data.photo_set("test")
    assert {p.category for p in test} == {"cats", "boats"} and len(test) == 2
    assert set(data.photos(16, split="test").source) == {p.name for p in test}

    def offline(name, **kwargs):
        raise data.DownloadError(f"could not download {name}: network unreachable")

    monkeypatch.setattr(settings, "PHOTO_SOURCE", "imagenette160")
    with mock.patch("colorlab.data.download.fetch", offline):
        images._resolved.cache_clear()
        fallback = data.photo_source()
    assert fallback.kind == "shipped"
    assert fallback.note.startswith("Photos: imagenette160 could not be fetched (could not download")
    monkeypatch.setattr(settings, "PHOTO_SOURCE", "no_such_thing")
    with pytest.raises(ValueError, match="neither shipped nor packaged, a folder, nor a dataset"):
        data.photo_source()
    images._resolved.cache_clear()


def test_packaged_photo_is_the_file():
    from skimage import data as skdata

    np.testing.assert_allclose(data.packaged_photo("coffee"), skdata.coffee() / 255.0, atol=1e-6)
    with pytest.raises(KeyError, match="no packaged photo"):
        data.packaged_photo("mona_lisa")


# ------------------------------------------------------------------------------------- load_image


def save(image, path, **kwargs):
    image.save(path, **kwargs)
    return path


def test_load_rgb_png_exactly(tmp_path):
    pixels = (np.random.default_rng(0).random((10, 12, 3)) * 255).astype(np.uint8)
    loaded = data.load_image(save(Image.fromarray(pixels), tmp_path / "x.png"))
    assert loaded.dtype == np.float32 and loaded.shape == (10, 12, 3)
    np.testing.assert_allclose(loaded, pixels / 255.0, atol=1e-6)


def test_exif_orientation_is_applied(tmp_path):
    pixels = np.zeros((20, 40, 3), np.uint8)
    pixels[:, :20] = (255, 0, 0)  # left half red
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    loaded = data.load_image(save(Image.fromarray(pixels), tmp_path / "phone.jpg", exif=exif, quality=95))
    assert loaded.shape == (40, 20, 3)
    assert loaded[:15, :, 0].mean() > 0.9 and loaded[25:, :, 0].mean() < 0.1  # red half now on top


def test_grayscale_and_palette_become_rgb(tmp_path):
    gray = data.load_image(save(Image.new("L", (4, 4), 128), tmp_path / "grey.png"))
    np.testing.assert_allclose(gray, 128 / 255.0, atol=1e-6)
    palette = Image.new("P", (4, 4), 1)
    palette.putpalette([0, 0, 0, 10, 200, 30] + [0] * 762)
    np.testing.assert_allclose(data.load_image(save(palette, tmp_path / "p.png"))[0, 0], [10 / 255, 200 / 255, 30 / 255], atol=1e-6)


def test_transparency_is_composited_on_white(tmp_path):
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[0, 0, 3] = 255  # one opaque red pixel, the rest fully transparent
    rgba[0, 1, 3] = 128  # one half-transparent
    loaded = data.load_image(save(Image.fromarray(rgba, "RGBA"), tmp_path / "a.png"))
    np.testing.assert_allclose(loaded[0, 0], [1, 0, 0], atol=1e-6)
    np.testing.assert_allclose(loaded[1, 1], [1, 1, 1], atol=1e-6)
    np.testing.assert_allclose(loaded[0, 1], [1, 127 / 255, 127 / 255], atol=1e-2)
    transparent_palette = Image.new("P", (2, 2), 0)
    transparent_palette.putpalette([0, 0, 0] * 256)
    transparent_palette.info["transparency"] = 0
    np.testing.assert_allclose(data.load_image(save(transparent_palette, tmp_path / "tp.png")), 1.0)


def test_sixteen_bit_grayscale_keeps_its_scale(tmp_path):
    values = np.array([[0, 1000], [32768, 65535]], np.uint16)
    loaded = data.load_image(save(Image.fromarray(values), tmp_path / "deep.png"))
    np.testing.assert_allclose(loaded[..., 0], values / 65535.0, atol=1e-6)
    np.testing.assert_allclose(loaded[..., 0], loaded[..., 2])


def test_cmyk_becomes_rgb(tmp_path):
    cmyk = Image.new("CMYK", (4, 4), (0, 255, 255, 0))  # no cyan or black, full magenta + yellow: red
    for name in ("c.tif", "c.jpg"):
        loaded = data.load_image(save(cmyk, tmp_path / name))
        np.testing.assert_allclose(loaded.mean(axis=(0, 1)), [1, 0, 0], atol=0.05)


def test_bytes_are_accepted(tmp_path):
    path = save(Image.new("RGB", (3, 2), (0, 0, 255)), tmp_path / "b.png")
    np.testing.assert_allclose(data.load_image(path.read_bytes()), data.load_image(path))


def png_with_size(width, height):
    """A PNG whose header claims width x height pixels: a decompression bomb, made in memory."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("empty.png", b"", "empty"),
        ("notes.txt", b"shopping list: eggs, milk\n" * 20, "not an image"),
        ("noise.jpg", bytes(np.random.default_rng(1).integers(0, 256, 4000, dtype=np.uint8)), "not an image"),
        ("bomb.png", png_with_size(100_000, 100_000), "too large"),
    ],
)
def test_bad_files_are_refused_by_name(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(data.ImageError, match=message) as error:
        data.load_image(path)
    assert name in str(error.value)
    assert isinstance(error.value, ValueError)


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_truncated_file_is_refused(tmp_path, suffix):
    noise = (np.random.default_rng(2).random((64, 64, 3)) * 255).astype(np.uint8)
    whole = save(Image.fromarray(noise), tmp_path / f"whole{suffix}")
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(data.ImageError, match=f"cut{suffix}.*(corrupt or truncated)"):
        data.load_image(cut)


def test_our_own_pixel_limit(tmp_path):
    path = save(Image.new("RGB", (100, 100)), tmp_path / "big.png")
    with pytest.raises(data.ImageError, match="too large, 100 x 100"):
        data.load_image(path, max_pixels=5000)


# ----------------------------------------------------------------------------------- preprocessing


def test_fit_to_covers_then_crops_the_centre():
    image = np.zeros((40, 80, 3), np.float32)
    image[:, 20:60] = 1.0  # a white centre square between black side bands
    fitted = data.fit_to(image, 16)
    assert fitted.shape == (16, 16, 3)
    assert fitted[:, 1:-1].min() > 0.95 and fitted.min() > 0.8  # only the centre survives (edges antialiased)
    assert data.fit_to(np.zeros((5, 30, 40, 3), np.float32), (12, 20)).shape == (5, 12, 20, 3)


def test_cut_patches():
    image = np.arange(10 * 12 * 3, dtype=np.float32).reshape(10, 12, 3)
    patches = data.cut_patches(image, 4, 4)
    assert patches.shape == (2 * 3, 4, 4, 3)
    np.testing.assert_array_equal(patches[1], image[0:4, 4:8])
    np.testing.assert_array_equal(patches[3], image[4:8, 0:4])


def test_is_gray():
    gray = np.full((2, 8, 8, 3), 0.4, np.float32)
    gray[1, 3, 3] = (0.6, 0.2, 0.2)  # a single coloured pixel is enough to keep an image
    assert data.is_gray(gray).tolist() == [True, False]


def test_split_is_60_20_20_deterministic_and_disjoint():
    a, b = data.split_indices(100, seed=5), data.split_indices(100, seed=5)
    assert [len(p) for p in a] == [60, 20, 20]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert sorted(np.concatenate(a).tolist()) == list(range(100))
    assert not np.array_equal(a.test, data.split_indices(100, seed=6).test)


def test_split_keeps_groups_whole():
    groups = np.repeat(list("abcdefghij"), 7)
    parts = data.split_indices(len(groups), groups=groups, seed=0)
    seen = [set(groups[p]) for p in parts]
    assert [len(s) for s in seen] == [6, 2, 2]
    assert not (seen[0] & seen[1]) and not (seen[0] & seen[2]) and not (seen[1] & seen[2])
    with pytest.raises(ValueError, match="sum"):
        data.split_indices(10, fractions=(0.5, 0.5, 0.5))


def test_category_subsets():
    categories = np.array(["cat"] * 30 + ["dog"] * 10 + ["sea"] * 10)
    homogeneous, mixed = data.category_subsets(categories, "cat", 12, seed=0)
    assert len(homogeneous) == len(mixed) == 12 and set(categories[homogeneous]) == {"cat"}
    assert {c: (categories[mixed] == c).sum() for c in ("cat", "dog", "sea")} == {"cat": 4, "dog": 4, "sea": 4}
    with pytest.raises(ValueError, match="has 10"):
        data.category_subsets(categories, "dog", 12)


def test_augmented_copies_grow_the_set_and_keeps_originals():
    images = data.toyworld(10, size=32).images
    grown = data.augmented_copies(images, 19, seed=0)
    assert grown.shape == (19, 32, 32, 3)
    np.testing.assert_array_equal(grown[:10], images)
    np.testing.assert_array_equal(grown, data.augmented_copies(images, 19, seed=0))  # seeded
    assert not np.allclose(grown[10:], data.augmented_copies(images, 19, seed=1)[10:])
    assert 0.0 <= grown.min() and grown.max() <= 1.0
    originals = images.reshape(10, -1)
    for copy in grown[10:].reshape(9, -1):  # every extra image is new, not a duplicate
        assert np.abs(originals - copy).max(axis=1).min() > 0.01


def test_augmented_copies_leave_global_random_state_alone():
    images = data.toyworld(4, size=32).images
    first = data.augmented_copies(images, 8, seed=5)
    random.seed(1)
    np.random.seed(1)
    python_state, numpy_state = random.getstate(), np.random.get_state()
    again = data.augmented_copies(images, 8, seed=5)
    assert random.getstate() == python_state
    numpy_after = np.random.get_state()
    assert numpy_after[0] == numpy_state[0] and numpy_after[2:] == numpy_state[2:]
    np.testing.assert_array_equal(numpy_after[1], numpy_state[1])
    np.testing.assert_array_equal(again, first)  # the seed alone decides, whatever the global state


def test_importing_the_data_module_adds_no_warnings_filter():
    # Third-party imports first: only what colorlab itself does is measured.
    code = ("import warnings, numpy, PIL.Image, skimage.color, tensorflow, keras\n"
            "before = list(warnings.filters)\n"
            "import colorlab.data\n"
            "print(warnings.filters == before)")
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert result.stdout.split()[-1] == "True"


@pytest.mark.parametrize("target", ["ab", "rgb", "classes"])
def test_dataset_yields_encoded_pairs(target):
    images = data.toyworld(20, size=32).images
    centers = np.array([[0.0, 0.0], [40.0, 0.0], [-40.0, 0.0], [0.0, 50.0]])
    batches = list(data.dataset(images, target, batch_size=8, shuffle=False, centers=centers))
    assert [len(x) for x, _ in batches] == [8, 8, 4]
    x, y = (np.concatenate(part) for part in zip(*batches))
    stored = data.to_uint8(images) / 255.0  # the pipeline keeps 8-bit images
    assert np.abs(stored - images).max() <= 0.5 / 255 + 1e-7
    lab = rgb2lab(stored)
    np.testing.assert_allclose(x[..., 0], lab[..., 0] / 100, atol=1e-4)
    if target == "ab":
        np.testing.assert_allclose(y, lab[..., 1:] / 128, atol=1e-4)
    elif target == "rgb":
        np.testing.assert_allclose(y, stored, atol=1e-6)
    else:
        np.testing.assert_array_equal(y, color.encode_pair(stored, "classes", centers)[1])


def test_to_uint8_rounds_and_refuses_other_types():
    assert data.to_uint8(np.array([0.0, 0.5, 1.0, 1.2, -0.1])).tolist() == [0, 128, 255, 255, 0]
    with pytest.raises(ValueError, match="float in \\[0, 1\\] or uint8"):
        data.to_uint8(np.array([1, 2], np.int64))


def test_dataset_accepts_uint8_shuffles_and_augments():
    images = data.toyworld(16, size=32).images
    x_uint8, _ = next(iter(data.dataset((images * 255).round().astype(np.uint8), batch_size=16, shuffle=False)))
    x_float, _ = next(iter(data.dataset(images, batch_size=16, shuffle=False)))
    np.testing.assert_array_equal(x_uint8, x_float)
    x_shuffled, _ = next(iter(data.dataset(images, batch_size=16, shuffle=True, seed=1)))
    assert not np.allclose(x_shuffled, x_float)
    np.testing.assert_allclose(np.sort(x_shuffled.numpy().ravel()), np.sort(x_float.numpy().ravel()), atol=1e-6)
    x_augmented, _ = next(iter(data.dataset(images, batch_size=16, shuffle=False, augment=True)))
    assert x_augmented.shape == x_float.shape and not np.allclose(x_augmented, x_float)
