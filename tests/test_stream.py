"""colorlab.data.folder_dataset: a streaming tf.data pipeline from a folder of image files, and
train.fit fed from a folder or a ready dataset (lesson 13)."""

import re
import warnings
from unittest import mock

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image, ImageFile
from skimage.color import rgb2lab

from colorlab import color, data, models, train

# The shared folder holds broken files on purpose: every pipeline made from it warns about them.
pytestmark = pytest.mark.filterwarnings("ignore:.* skipped:UserWarning")
SIZE = 32
SCENES = data.toyworld(8, size=48, seed=0)
# (width, height) of each colour picture: landscape, portrait, square, larger and smaller than SIZE.
BROKEN = ("corrupt.jpg", "truncated.png", "fake.png")
SHAPES = [(48, 40), (40, 64), (48, 48), (90, 50), (36, 33), (64, 96), (120, 80), (50, 50)]


def write_folder(folder):
    """Colour JPEGs and PNGs of various sizes (some in a subfolder), a grey PNG, an RGBA PNG, a
    corrupt JPEG, a truncated PNG and a text file; returns the names of the colour pictures."""
    (folder / "sub" / "deeper").mkdir(parents=True)
    names = []
    for i, (scene, shape) in enumerate(zip(SCENES.images, SHAPES)):
        picture = Image.fromarray(data.to_uint8(scene)).resize(shape, Image.BICUBIC)
        name = ["a", "sub", "sub/deeper"][i % 3] + f"/{i}." + ("png" if i % 2 else "jpg")
        (folder / name).parent.mkdir(exist_ok=True)
        picture.save(folder / name, quality=95) if name.endswith("jpg") else picture.save(folder / name)
        names.append(name)
    Image.fromarray(np.full((40, 52), 120, np.uint8), "L").save(folder / "grey.png")
    rgba = np.concatenate([data.to_uint8(SCENES.images[0]), np.full((48, 48, 1), 90, np.uint8)], axis=-1)
    Image.fromarray(rgba, "RGBA").save(folder / "rgba.png")
    names.append("rgba.png")
    (folder / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 this JPEG stops here")
    png = (folder / "a" / "0.jpg").read_bytes()
    Image.fromarray(data.to_uint8(SCENES.images[1])).save(folder / "whole.png")
    whole = (folder / "whole.png").read_bytes()
    (folder / "whole.png").unlink()
    (folder / "truncated.png").write_bytes(whole[: len(whole) // 2])
    (folder / "notes.txt").write_text("not an image, and not listed")
    (folder / "fake.png").write_text("not an image, but named like one")
    (folder / ".hidden.jpg").write_bytes(png)  # macOS resource forks look like this: left out
    return names


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("pictures")
    return root, write_folder(root)


def centre_crop(path, size=SIZE):
    """An independent reference: Pillow decodes, resizes the shorter side, crops the centre."""
    picture = Image.open(path).convert("RGB")
    w, h = picture.size
    scale = size / min(w, h)
    new = (max(size, round(w * scale)), max(size, round(h * scale)))
    resized = np.asarray(picture.resize(new, Image.BILINEAR, reducing_gap=None), np.float32) / 255
    top, left = (new[1] - size) // 2, (new[0] - size) // 2
    return resized[top:top + size, left:left + size]


def test_listing_is_recursive_sorted_and_by_ending(folder):
    root, names = folder
    listed = data.image_files(root)
    assert listed == sorted(listed)
    assert {str(root / n) for n in names} <= set(listed)
    assert not any(p.endswith((".txt", ".hidden.jpg")) for p in listed)
    assert len(listed) == len(names) + 4  # + grey, corrupt, truncated, fake


def test_batches_have_the_contracted_shapes_and_types(folder):
    root, names = folder
    batches = list(data.folder_dataset(root, size=SIZE, batch_size=4, seed=1))
    sizes = [len(x) for x, _ in batches]  # the colour pictures, RGBA included; the grey one drops
    assert sum(sizes) == len(names) and max(sizes) == 4 and len(batches) == 3  # out of its batch
    for x, y in batches:
        assert x.dtype == tf.float32 and x.shape[1:] == (SIZE, SIZE, 1)
        assert y.dtype == tf.float32 and y.shape[1:] == (SIZE, SIZE, 2)
        assert 0 <= x.numpy().min() and x.numpy().max() <= 1 and np.abs(y.numpy()).max() <= 1
    rgb = next(iter(data.folder_dataset(root, SIZE, "rgb", batch_size=64)))[1]
    assert rgb.shape == (len(names), SIZE, SIZE, 3)
    palette = np.array([[0.0, 0.0], [40.0, 40.0], [-40.0, 60.0]], np.float32)
    x, y = next(iter(data.folder_dataset(root, SIZE, "classes", batch_size=64, centers=palette, stride=4)))
    assert y.shape == (len(names), SIZE // 4, SIZE // 4) and y.dtype.is_integer


def test_targets_agree_with_scikit_image_on_the_resized_pictures(folder):
    root, names = folder
    x, rgb = next(iter(data.folder_dataset(root, SIZE, "rgb", batch_size=64, shuffle=False)))
    x_ab, ab = next(iter(data.folder_dataset(root, SIZE, "ab", batch_size=64, shuffle=False)))
    rgb = rgb.numpy()
    lab = rgb2lab(rgb)
    np.testing.assert_allclose(ab.numpy(), lab[..., 1:] / 128, atol=1e-2)
    np.testing.assert_allclose(x_ab.numpy(), lab[..., :1] / 100, atol=1e-2)
    np.testing.assert_allclose(x.numpy(), x_ab.numpy())
    # The same pictures, decoded, resized and cropped by Pillow instead: close (resamplers differ).
    order = [str(root / n) for n in names]
    listed = [p for p in data.image_files(root) if p in order]
    for picture, path in zip(rgb, listed):
        reference = centre_crop(path)
        assert np.abs(picture - reference).mean() < 0.03, path


def test_gray_pictures_are_dropped_unless_asked_and_gray_rgba_become_rgb(folder):
    root, names = folder
    kept = sum(len(x) for x, _ in data.folder_dataset(root, SIZE, "rgb", drop_gray=False))
    assert kept == len(names) + 1  # the grey picture, as RGB
    _, rgb = next(iter(data.folder_dataset(root, SIZE, "rgb", batch_size=64, shuffle=False, drop_gray=False)))
    decodable = [p for p in data.image_files(root) if not p.endswith(BROKEN)]
    gray = rgb.numpy()[decodable.index(str(root / "grey.png"))]
    np.testing.assert_allclose(gray, 120 / 255, atol=1e-6)


def test_corrupt_files_are_skipped_and_training_goes_on(folder):
    root, names = folder
    # corrupt.jpg, truncated.png and fake.png are all among the listed files, and none stops it.
    with pytest.warns(UserWarning, match="3 of .* files .* skipped") as caught:
        batches = data.folder_dataset(root, SIZE)
    assert all(name in str(caught[0].message) for name in BROKEN)
    epochs = [sum(len(x) for x, _ in batches) for _ in range(2)]
    assert epochs == [len(names)] * 2


def test_bad_files_are_skipped_before_decoding_and_named_in_one_warning(tmp_path):
    for name, scene in zip(("good.jpg", "good.png"), SCENES.images):
        Image.fromarray(data.to_uint8(scene)).save(tmp_path / name)
    whole = (tmp_path / "good.jpg").read_bytes()
    (tmp_path / "truncated.jpg").write_bytes(whole[: len(whole) // 2])
    (tmp_path / "notes.png").write_text("not an image, but named like one")
    (tmp_path / "empty.jpg").write_bytes(b"")
    bomb = Image.new("P", (8000, 6400), 0)  # 51.2 megapixels of one red: about 50 kB on disk
    bomb.putpalette([200, 30, 30] * 256)
    bomb.save(tmp_path / "bomb.png")
    assert (tmp_path / "bomb.png").stat().st_size < 1_000_000
    # Only headers are read (no pixel decoded) to decide, when the pipeline is made.
    with mock.patch.object(ImageFile.ImageFile, "load", side_effect=AssertionError("decoded")), \
            pytest.warns(UserWarning, match="4 of 6 files") as caught:
        batches = data.folder_dataset(tmp_path, SIZE, "rgb", batch_size=64, shuffle=False, drop_gray=False)
    assert len(caught) == 1
    message = str(caught[0].message)
    for name, reason in [("truncated.jpg", "truncated"), ("notes.png", "not an image"),
                         ("bomb.png", "too large, 8000 x 6400 = 51,200,000 pixels"), ("empty.jpg", "empty")]:
        assert re.search(f"{name}: .*{reason}", message), name
    assert "good" not in message
    _, rgb = next(iter(batches))
    assert len(rgb) == 2
    with pytest.raises(ValueError, match="(?s)no usable image file.*6 of 6 files.*good.jpg: image too large"):
        data.folder_dataset(tmp_path, SIZE, max_pixels=100)


def test_exif_orientation_turns_pictures_upright_as_load_image_does(tmp_path):
    rows, cols = np.mgrid[0:32, 0:64]  # stored landscape; red grows to the right, green down
    stored = np.stack([cols * 4, rows * 8, np.full_like(rows, 128)], axis=-1).astype(np.uint8)
    for orientation in range(1, 9):
        exif = Image.Exif()
        exif[0x0112] = orientation
        Image.fromarray(stored).save(tmp_path / f"o{orientation}.jpg", exif=exif, quality=95)
    _, rgb = next(iter(data.folder_dataset(tmp_path, SIZE, "rgb", batch_size=8, shuffle=False)))
    for orientation, picture in enumerate(rgb.numpy(), start=1):
        upright = data.load_image(tmp_path / f"o{orientation}.jpg")
        top, left = (upright.shape[0] - SIZE) // 2, (upright.shape[1] - SIZE) // 2
        expected = upright[top:top + SIZE, left:left + SIZE]
        assert np.abs(picture - expected).max() < 0.05, orientation
    assert not np.allclose(rgb[5], rgb[0], atol=0.1)  # orientation 6 (a phone held upright) differs


def test_shuffle_cache_and_augment(folder, tmp_path):
    root, names = folder

    def firsts(batches):
        return [tuple(np.round(x.numpy()[:, 16, 16, 0], 4)) for x, _ in batches]

    plain = data.folder_dataset(root, SIZE, batch_size=64, shuffle=False)
    assert firsts(plain) == firsts(plain)
    shuffled = data.folder_dataset(root, SIZE, batch_size=64, seed=3)
    one, two = firsts(shuffled), firsts(shuffled)
    assert one != two and sorted(one[0]) == sorted(two[0]) == sorted(firsts(plain)[0])  # reordered, same pictures
    assert firsts(data.folder_dataset(root, SIZE, batch_size=64, seed=3)) == one  # repeatable per seed
    for cache in (True, str(tmp_path / "cache")):
        cached = data.folder_dataset(root, SIZE, batch_size=64, seed=3, cache=cache)
        one, two = firsts(cached), firsts(cached)
        assert one != two and sorted(one[0]) == sorted(two[0]) == sorted(firsts(plain)[0])
    assert list((tmp_path).glob("cache*"))
    augmented = data.folder_dataset(root, SIZE, batch_size=64, shuffle=False, augment=True)
    one, two = (np.concatenate([x.numpy() for x, _ in augmented]) for _ in range(2))
    assert one.shape == (len(names), SIZE, SIZE, 1) and not np.allclose(one, two)  # fresh crops each epoch


def test_empty_or_missing_folders_are_clear_errors(tmp_path):
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "empty" / "readme.txt").write_text("no pictures here")
    with pytest.raises(ValueError, match="no image files.*empty"):
        data.folder_dataset(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="nowhere"):
        data.folder_dataset(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="unknown target"):
        data.folder_dataset(tmp_path / "empty", target="hsv")


def test_fit_trains_from_a_folder_and_from_a_ready_dataset(folder):
    root, names = folder
    model = models.build("unet")
    before = [w.numpy().copy() for w in model.weights]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = train.fit(model, root, validation=root, epochs=1, batch_size=4, verbose=0, live=False)
    assert not [w for w in caught if "shuffle" in str(w.message)]  # the pipeline shuffles; Keras is not asked to
    assert len(history["loss"]) == 1 and np.isfinite(history["val_loss"][0])
    assert any(not np.allclose(a, w.numpy()) for a, w in zip(before, model.weights))
    batches = data.folder_dataset(root, SIZE, batch_size=4)
    history = train.fit(model, batches, validation=batches, epochs=2, verbose=0, live=False)
    assert len(history["loss"]) == 2 and np.isfinite(history["val_loss"][-1])
    with pytest.raises(ValueError, match="class_weights"):
        train.fit(model, batches, class_weights=np.ones(3), epochs=1, verbose=0, live=False)


def test_live_view_samples_come_from_folders_and_datasets(folder):
    root, names = folder
    model = models.build("unet")
    shown = train.sample_images(model, root, samples=3)
    assert shown.shape == (3, 64, 64, 3) and 0 <= shown.min() and shown.max() <= 1
    _, rgb = next(iter(data.folder_dataset(root, 64, "rgb", batch_size=3, shuffle=False)))
    np.testing.assert_allclose(shown, rgb.numpy(), atol=2e-3)  # decoded back from L and ab
    batches = data.folder_dataset(root, SIZE, batch_size=4, shuffle=False)
    assert train.sample_images(model, batches, samples=2).shape == (2, SIZE, SIZE, 3)
    assert color.encode_input(shown).shape == (3, 64, 64, 1)
