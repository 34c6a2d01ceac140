"""Colour hints (Zhang et al. 2017): hint sampling, the hint-conditioned U-Net, ``colorize`` with
hints and the ``HintPicker`` widget. One tiny model is trained once for the module."""

import sys

import keras
import numpy as np
import pytest
from scipy import ndimage

from colorlab import color, data, inference, metrics, models, train
from colorlab.models.hints import HINT_P, hint_arrays, sample_hints, takes_hints
from colorlab.widgets import HintPicker

SIZE, EPOCHS = 32, 6
TEST = data.toyworld(64, SIZE, seed=2)


def diamonds(scenes, min_pixels: int = 12):
    """(image, diamond mask, (row, col) of its most central pixel) for every diamond of at least
    ``min_pixels`` visible pixels."""
    found = []
    for i, ambiguous in enumerate(scenes.ambiguous):
        labels, n = ndimage.label(ambiguous)
        for k in range(1, n + 1):
            mask = labels == k
            if mask.sum() >= min_pixels:
                depth = ndimage.distance_transform_edt(mask)
                found.append((i, mask, np.unravel_index(np.argmax(depth), mask.shape)))
    return found


def trained(seed: int = 0):
    """The tiny hint U-Net trained from ``seed`` on 512 scenes for EPOCHS epochs."""
    keras.utils.set_random_seed(seed)
    net = models.build("hint_unet")
    train.fit(net, data.toyworld(512, SIZE, seed=0).images, epochs=EPOCHS, seed=seed, learning_rate=3e-3,
              live=False, verbose=0)
    return net


def diamond_hue_errors(net) -> tuple[float, float]:
    """TEST's diamond hue error without hints and with one true hint in the middle of each diamond."""
    found = diamonds(TEST)
    assert len(found) >= 20
    lab = color.rgb_to_lab(TEST.images)
    hints = [[] for _ in TEST.images]
    for i, _, (r, c) in found:
        hints[i].append((r, c, lab[i, r, c, 1:]))
    on = np.zeros_like(TEST.ambiguous)
    for i, mask, _ in found:
        on[i] |= mask
    plain, hinted = inference.colorize(net, TEST.images), inference.colorize(net, TEST.images, hints=hints)
    return metrics.hue_error(plain, TEST.images, on), metrics.hue_error(hinted, TEST.images, on)


@pytest.fixture(scope="module")
def model():
    return trained(0)


def test_sampled_hints_are_patch_means_of_the_truth_and_repeat_with_their_seed():
    ab = np.random.default_rng(0).uniform(-1, 1, (256, 16, 16, 2)).astype(np.float32)
    hints, mask = (h.numpy() for h in sample_hints(ab, (3, 4)))
    again, _ = sample_hints(ab, (3, 4))
    other, _ = sample_hints(ab, (3, 5))
    np.testing.assert_array_equal(hints, again.numpy())
    assert not np.array_equal(hints, other.numpy())
    assert set(np.unique(mask)) == {0.0, 1.0} and np.all(hints[mask[..., 0] == 0] == 0)
    none = (mask.sum(axis=(1, 2, 3)) == 0).mean()
    assert abs(none - HINT_P) < 0.07  # a geometric count of hints: none with probability HINT_P
    # An isolated single-pixel hint is that pixel's truth; a larger patch holds one mean value.
    single = ndimage.label(mask[..., 0])[0]
    i, label = next((i, k) for i in range(len(mask)) for k in range(1, single[i].max() + 1)
                    if (single[i] == k).sum() == 1)
    (r,), (c,) = np.nonzero(single[i] == label)
    np.testing.assert_allclose(hints[i, r, c], ab[i, r, c], atol=1e-6)


def test_training_data_gives_hint_models_hints_drawn_afresh_each_epoch():
    # The hint stream's op seed combines with TensorFlow's global seed, which earlier tests would
    # otherwise leave behind: set here, the test sees the same hints whatever ran before it. Over
    # global seeds the median below ranged 0.008-0.011 on these 32 scenes of 32 px (0.012-0.053 on
    # 8 scenes of 16 px).
    keras.utils.set_random_seed(0)
    net = models.build("hint_unet")
    images = data.toyworld(32, 32, seed=0).images
    (x, hint_ab, hint_mask), y = next(iter(train.training_data(net, images, 32, shuffle=False)))
    assert x.shape == (32, 32, 32, 1) and hint_ab.shape == (32, 32, 32, 2) and hint_mask.shape == (32, 32, 32, 1)
    marked = hint_mask.numpy()[..., 0] > 0
    assert marked.any()
    # Hints hold the true colour around them: toyworld's regions are flat, so mostly exactly it.
    assert np.median(np.abs(hint_ab.numpy()[marked] - y.numpy()[marked])) < 0.02

    def masks(shuffle):
        batches = train.training_data(net, images, 32, shuffle=shuffle)
        return [np.asarray(next(iter(batches))[0][2]) for _ in range(2)]

    fixed, fresh = masks(False), masks(True)
    np.testing.assert_array_equal(fixed[0], fixed[1])  # validation: the same hints every pass
    assert not np.array_equal(fresh[0], fresh[1])  # training: new hints each epoch
    assert not takes_hints(models.build("unet"))
    assert inference.output_stride(net) == 1


def test_point_and_dense_hints_agree_and_bad_hints_are_named():
    net = models.build("hint_unet")
    image = data.toyworld(1, SIZE, seed=3).images[0]
    points = [(5, 7, "#ff0000"), (20, 3, (0.0, 0.5, 1.0)), (30, 30, (40.0, -10.0))]
    ab, mask = hint_arrays(points, SIZE, SIZE)
    assert mask.sum() == 3 and np.allclose(ab[30, 30], (40, -10))
    np.testing.assert_allclose(ab[5, 7], color.rgb_to_lab(np.float32([[[1, 0, 0]]]))[0, 0, 1:], atol=1e-3)
    by_points = inference.colorize(net, image, hints=points)
    np.testing.assert_allclose(by_points, inference.colorize(net, image, hints=(ab, mask)), atol=1e-6)
    assert not np.allclose(by_points, inference.colorize(net, image))  # hints reach the model
    both = inference.colorize(net, np.stack([image, image]), hints=[points, []])
    np.testing.assert_allclose(both[0], by_points, atol=1e-5)
    with pytest.raises(ValueError, match="takes no colour hints"):
        inference.colorize(models.build("unet"), image, hints=points)
    with pytest.raises(ValueError, match="lies outside the 32 x 32 image"):
        inference.colorize(net, image, hints=[(32, 0, "#ff0000")])
    with pytest.raises(ValueError, match="one entry per image"):
        inference.colorize(net, np.stack([image, image]), hints=[points])
    with pytest.raises(ValueError, match="RGB in \\[0, 1\\]"):
        inference.colorize(net, image, hints=[(0, 0, (255, 0, 0))])


def test_without_hints_it_colors_what_gray_decides(model):
    gray_error = metrics.mae(color.to_gray(TEST.images), TEST.images, ~TEST.ambiguous)
    assert metrics.mae(inference.colorize(model, TEST.images), TEST.images, ~TEST.ambiguous) < 0.7 * gray_error


def test_one_hint_on_a_diamond_gives_it_the_hinted_hue(model):
    before, after = diamond_hue_errors(model)
    # after / before: 0.35, 0.34, 0.37 and 0.31 for seeds 0-3 (``python tests/test_hints.py 0 1 2 3``).
    # Before the hint gate the same model gave 0.69, 0.87, 0.88 and 1.01 on 1,024 scenes: some
    # seeds never learned to use hints.
    assert after < 0.6 * before, (before, after)


def test_a_true_hint_on_the_sky_changes_little(model):
    lab = color.rgb_to_lab(TEST.images)
    sky = np.zeros_like(TEST.ambiguous)
    sky[:, :4] = True  # the top rows: sky or sun (the horizon and every object lie lower)
    hints = [[(2, SIZE // 2, lab[i, 2, SIZE // 2, 1:])] for i in range(len(TEST.images))]
    plain, hinted = (color.rgb_to_lab(p)[..., 1:] for p in (inference.colorize(model, TEST.images),
                                                          inference.colorize(model, TEST.images, hints=hints)))
    moved = np.linalg.norm(hinted - plain, axis=-1)[sky].mean()
    assert moved < 4, moved  # a*b* units: under the just-noticeable difference of a few units


def test_hint_picker_adds_undoes_and_clears_hints(model):
    picker = HintPicker(model, TEST.images[0])
    plain, gray = picker.colored.copy(), picker.gray_view.value
    assert picker.undo_button.disabled and "No hints yet" in picker.status.value
    picker.row.value, picker.col.value = 25, 12
    assert picker.gray_view.value != gray  # the cursor follows the sliders
    picker.hint_color.value = "#00a0a0"
    picker.add()
    assert picker.points == [(25, 12, "#00a0a0")] and not picker.undo_button.disabled
    assert not np.allclose(picker.colored, plain)
    picker.add(3, 4, "#3060ff")
    assert len(picker.points) == 2 and "2 hint(s)" in picker.status.value
    picker.undo()
    assert picker.points == [(25, 12, "#00a0a0")]
    picker.clear()
    assert picker.points == [] and picker.undo_button.disabled
    np.testing.assert_allclose(picker.colored, plain, atol=1e-6)
    with pytest.raises(ValueError, match="outside the 32 x 32 image"):
        picker.add(40, 0)
    assert "HintPicker: 0 colour hint(s) on a 32 x 32 image" in repr(picker)


def test_hint_picker_takes_any_rgb_array_and_draws_a_static_figure(model):
    photo = data.photo_set("test")[0].load()
    upload = (np.random.default_rng(0).uniform(0, 1, (50, 70, 3)) * 255).astype(np.uint8)
    for image in (photo, upload):
        picker = HintPicker(model, image)
        picker.add(image.shape[0] // 3, image.shape[1] // 3, "#20c040")
        assert picker.colored.shape == image.shape
        assert picker.result_view.value[:8] == b"\x89PNG\r\n\x1a\n"
    figure = picker.figure()
    assert [ax.get_title() for ax in figure.axes] == ["grey + hints", "no hints", "1 hint(s)", "original"]
    with pytest.raises(ValueError, match="takes colour hints"):
        HintPicker(models.build("unet"), upload)
    with pytest.raises(ValueError, match="one RGB image"):
        HintPicker(model, TEST.images)


if __name__ == "__main__":  # the ratios quoted above, for the seeds given
    for seed in [int(s) for s in sys.argv[1:]] or [0]:
        before, after = diamond_hue_errors(trained(seed))
        print(f"seed {seed}: diamond hue error {before:.1f} -> {after:.1f} degrees with one hint, ratio {after / before:.2f}")
