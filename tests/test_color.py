import itertools

import numpy as np
import pytest
import tensorflow as tf
from skimage import data as skdata
from skimage.color import deltaE_ciede2000, lab2rgb, rgb2gray, rgb2lab

from colorlab import color

RNG = np.random.default_rng(0)
RANDOM_RGB = RNG.random((1000, 3))
CUBE_CORNERS = np.array(list(itertools.product([0.0, 1.0], repeat=3)))
PHOTO = skdata.chelsea()[::4, ::4] / 255.0


@pytest.mark.parametrize("rgb", [RANDOM_RGB, CUBE_CORNERS, PHOTO], ids=["random", "corners", "photo"])
def test_rgb_to_lab_matches_skimage(rgb):
    assert np.abs(color.rgb_to_lab(rgb) - rgb2lab(rgb)).max() < 1e-3


@pytest.mark.parametrize("rgb", [RANDOM_RGB, CUBE_CORNERS, PHOTO], ids=["random", "corners", "photo"])
def test_lab_to_rgb_matches_skimage(rgb):
    lab = rgb2lab(rgb)
    assert np.abs(color.lab_to_rgb(lab) - lab2rgb(lab)).max() < 1e-3


def test_lab_to_rgb_clips_out_of_gamut_like_skimage():
    lab = np.array([[50.0, 120.0, -120.0], [95.0, -100.0, 100.0], [20.0, 0.0, 150.0]])
    with pytest.warns(UserWarning):  # scikit-image warns about the Z < 0 pixel; we clip silently
        expected = lab2rgb(lab)
    np.testing.assert_allclose(color.lab_to_rgb(lab), expected, atol=1e-3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_round_trip(dtype):
    rgb = np.concatenate([RANDOM_RGB, CUBE_CORNERS, PHOTO.reshape(-1, 3)]).astype(dtype)
    assert np.abs(color.lab_to_rgb(color.rgb_to_lab(rgb)) - rgb).max() < 1e-3


def test_any_leading_shape_and_numpy_or_tensor_in_and_out():
    batch = RNG.random((2, 3, 4, 5, 3)).astype(np.float32)
    lab = color.rgb_to_lab(batch)
    assert isinstance(lab, np.ndarray) and lab.shape == batch.shape
    tensor_lab = color.rgb_to_lab(tf.constant(batch))
    assert tf.is_tensor(tensor_lab) and tensor_lab.shape == batch.shape
    np.testing.assert_allclose(tensor_lab.numpy(), lab, atol=1e-5)
    assert color.rgb_to_lab(np.array([1.0, 1.0, 1.0])).shape == (3,)


def test_uint8_input_is_scaled():
    levels = np.arange(256, dtype=np.uint8)  # every 8-bit value in every channel: tensors use a table
    every_level = np.stack([levels, levels[::-1], np.roll(levels, 85)], -1)
    pixels = np.concatenate([(RANDOM_RGB * 255).astype(np.uint8), every_level])
    np.testing.assert_allclose(color.rgb_to_lab(pixels), rgb2lab(pixels), atol=1e-3)
    np.testing.assert_allclose(color.rgb_to_lab(tf.constant(pixels)), rgb2lab(pixels), atol=1e-3)
    with pytest.raises(ValueError, match="last axis of size 3"):
        color.rgb_to_lab(tf.zeros((4, 4, 4), tf.uint8))


def test_wrong_channel_count_is_a_clear_error():
    with pytest.raises(ValueError, match="last axis of size 3"):
        color.rgb_to_lab(np.zeros((4, 4, 4)))
    with pytest.raises(ValueError, match="last axis of size 3"):
        color.lab_to_rgb(np.zeros((4, 2)))


@pytest.mark.parametrize("convert", ["rgb_to_lab", "lab_to_rgb"])
def test_gradients_are_finite_everywhere_black_included(convert):
    points = np.concatenate([CUBE_CORNERS, RANDOM_RGB[:50], [[1e-7, 0.0, 0.0], [0.04045, 0.5, 0.0031308]]])
    x = tf.Variable(points if convert == "rgb_to_lab" else rgb2lab(points), dtype=tf.float32)
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(getattr(color, convert)(x))
    grad = tape.gradient(y, x)
    assert np.all(np.isfinite(grad.numpy()))
    if convert == "rgb_to_lab":
        assert np.abs(grad.numpy()).sum() > 0


def test_works_inside_a_graph():
    fn = tf.function(lambda x: color.lab_to_rgb(color.rgb_to_lab(x)))
    out = fn(tf.constant(PHOTO, tf.float32))
    np.testing.assert_allclose(out.numpy(), PHOTO, atol=1e-3)


def test_luma_weights_sum_to_one_and_match_rgb2gray():
    for weights in color.LUMA_WEIGHTS.values():
        assert sum(weights) == pytest.approx(1.0)
    np.testing.assert_allclose(color.luma(PHOTO, "skimage"), rgb2gray(PHOTO), atol=1e-6)
    assert color.luma(np.ones(3), "rec601") == pytest.approx(1.0)
    assert color.luma(np.ones(3), (0.229, 0.587, 0.114)) == pytest.approx(0.93)  # seed 001's typo


def test_chroma_is_distance_from_gray():
    lab = rgb2lab(np.array([[0.5, 0.5, 0.5], [1.0, 0.0, 0.0]]))
    chroma = color.chroma(lab)
    assert chroma[0] == pytest.approx(0.0, abs=0.01)  # the white point rounds to ~0.003
    assert chroma[1] == pytest.approx(np.hypot(lab[1, 1], lab[1, 2]))


def test_encode_decode_round_trip_for_ab_and_rgb_targets():
    x = color.encode_input(PHOTO)
    assert x.shape == PHOTO.shape[:2] + (1,)
    assert 0.0 <= x.min() and x.max() <= 1.0
    np.testing.assert_allclose(x[..., 0] * 100, rgb2lab(PHOTO)[..., 0], atol=1e-3)
    x_again, y = color.encode_pair(PHOTO, "ab")
    np.testing.assert_allclose(x_again, x)
    assert np.abs(y).max() <= 1.0
    np.testing.assert_allclose(color.decode_output(x, y, "ab"), PHOTO, atol=1e-3)
    np.testing.assert_allclose(color.decode_output(x, color.encode_pair(PHOTO, "rgb")[1], "rgb"), PHOTO, atol=1e-6)


def test_classes_target_picks_the_nearest_center():
    centers = np.array([[0.0, 0.0], [60.0, 60.0], [-40.0, 40.0]])
    lab = np.array([[50.0, 55.0, 50.0], [50.0, 2.0, -3.0], [60.0, -30.0, 45.0]])
    rgb = lab2rgb(lab)
    _, index = color.encode_pair(rgb, "classes", centers=centers)
    assert index.tolist() == [1, 0, 2]
    decoded = color.decode_output(color.encode_input(rgb), index, "classes", centers=centers)
    np.testing.assert_allclose(rgb2lab(decoded)[:, 1:], centers[[1, 0, 2]], atol=0.5)
    scores = np.eye(3)[[1, 0, 2]]
    np.testing.assert_allclose(color.decode_output(color.encode_input(rgb), scores, "classes", centers=centers), decoded)


def test_bad_target_and_missing_centers_are_named():
    with pytest.raises(ValueError, match="unknown target"):
        color.encode_pair(PHOTO, "hsv")
    with pytest.raises(ValueError, match="needs centers"):
        color.encode_pair(PHOTO, "classes")


def test_delta_e_uses_skimage():
    lab1, lab2 = rgb2lab(RANDOM_RGB[:100]), rgb2lab(RANDOM_RGB[100:200])
    np.testing.assert_allclose(color.delta_e(lab1, lab2), deltaE_ciede2000(lab1, lab2))
    np.testing.assert_allclose(color.delta_e(lab1, lab2, "cie76"), np.linalg.norm(lab1 - lab2, axis=-1))
    with pytest.raises(ValueError, match="unknown method"):
        color.delta_e(lab1, lab2, "cie94x")


def test_colorfulness_follows_hasler_suesstrunk():
    gray = np.full((8, 8, 3), 0.5)
    assert color.colorfulness(gray) == pytest.approx(0.0)
    red = np.zeros((8, 8, 3))
    red[..., 0] = 1.0  # rg = 255, yb = 127.5 everywhere, no spread
    assert color.colorfulness(red) == pytest.approx(0.3 * np.hypot(255.0, 127.5))
    # Half red, half green: the spread term dominates.
    half = np.zeros((2, 2, 3))
    half[0, :, 0] = 1.0
    half[1, :, 1] = 1.0
    rg, yb = np.array([255.0, -255.0]), np.array([127.5, 127.5])
    assert color.colorfulness(half) == pytest.approx(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))
    # Batched, and on a mask: the red half alone has no spread.
    batch = np.stack([gray[:2, :2], half])
    np.testing.assert_allclose(color.colorfulness(batch), [0.0, color.colorfulness(half)])
    mask = np.array([[True, True], [False, False]])
    assert color.colorfulness(half, mask) == pytest.approx(color.colorfulness(red))
    with pytest.raises(ValueError, match="selects no pixel"):
        color.colorfulness(half, np.zeros((2, 2), bool))


def test_large_numpy_input_is_converted_in_chunks_with_the_same_result(monkeypatch):
    images = RNG.random((7, 5, 4, 3)).astype(np.float32)
    whole = color.rgb_to_lab(images)
    x_whole, y_whole = color.encode_pair(images)
    monkeypatch.setattr(color, "CHUNK_PIXELS", 40)  # two images (2 x 20 pixels) per chunk
    chunks = []
    convert = color.tf.convert_to_tensor
    monkeypatch.setattr(color.tf, "convert_to_tensor", lambda x, *a, **k: chunks.append(len(x)) or convert(x, *a, **k))
    # The same up to float32 rounding: a matrix product may sum in another order for another shape.
    np.testing.assert_allclose(color.rgb_to_lab(images), whole, rtol=1e-6, atol=1e-6)
    assert chunks == [2, 2, 2, 1]
    monkeypatch.setattr(color.tf, "convert_to_tensor", convert)
    x, y = color.encode_pair(images)
    np.testing.assert_allclose(x, x_whole, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(y, y_whole, rtol=1e-6, atol=1e-6)
