import numpy as np
import pytest
from skimage.color import deltaE_ciede2000, rgb2lab
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from colorlab import color, data, metrics

SCENES = data.toyworld(8, size=32, seed=4)


def test_to_gray_keeps_lightness_and_drops_color():
    gray = color.to_gray(SCENES.images)
    lab = rgb2lab(gray)
    np.testing.assert_allclose(lab[..., 0], rgb2lab(SCENES.images)[..., 0], atol=0.01)
    assert np.abs(lab[..., 1:]).max() < 0.01


def test_ab_mae_is_zero_for_truth_and_the_mean_chroma_offset_for_gray():
    assert metrics.ab_mae(SCENES.images, SCENES.images) == pytest.approx(0.0, abs=1e-4)
    ab = rgb2lab(SCENES.images)[..., 1:]
    expected = np.abs(ab).mean(-1)[SCENES.ambiguous].mean()
    assert metrics.ab_mae(color.to_gray(SCENES.images), SCENES.images, SCENES.ambiguous) == pytest.approx(expected, abs=0.01)
    assert expected == pytest.approx(20.0, abs=0.1)  # diamonds: |a*| = 40, b* = 0
    with pytest.raises(ValueError, match="selects no pixel"):
        metrics.ab_mae(SCENES.images, SCENES.images, np.zeros(SCENES.ambiguous.shape, bool))


def test_lightness_mae():
    darker = np.clip(SCENES.images * 0.8, 0, 1)
    assert metrics.lightness_mae(SCENES.images, SCENES.images) == pytest.approx(0.0, abs=1e-4)
    assert metrics.lightness_mae(darker, SCENES.images) > 3


# ----------------------------------------------------------------------------------------------
# Lesson 12 metrics, each checked against scikit-image or a hand computation.

TRUE = SCENES.images
NOISE = np.random.default_rng(0).normal(0, 0.05, TRUE.shape)
PRED = np.clip(TRUE + NOISE, 0, 1).astype(np.float32)
MASK = SCENES.ambiguous
PAIR_METRICS = [metrics.mae, metrics.mse, metrics.lightness_mae, metrics.ciede2000, metrics.accuracy_within,
                metrics.accuracy_curve, metrics.psnr, metrics.ssim, metrics.colorfulness_ratio, metrics.report]


def _lab(images, mask=None):
    lab = rgb2lab(images)
    return lab if mask is None else lab[mask]


@pytest.mark.parametrize("mask", [None, MASK])
def test_mae_and_mse_on_ab(mask):
    error = _lab(PRED, mask)[..., 1:] - _lab(TRUE, mask)[..., 1:]
    assert metrics.mae(PRED, TRUE, mask) == pytest.approx(np.abs(error).mean(), rel=1e-4)
    assert metrics.mse(PRED, TRUE, mask) == pytest.approx(np.square(error).mean(), rel=1e-4)
    assert metrics.ab_mae is metrics.mae


@pytest.mark.parametrize("mask", [None, MASK])
def test_ciede2000_and_accuracy_match_skimage(mask):
    difference = deltaE_ciede2000(_lab(PRED, mask), _lab(TRUE, mask), channel_axis=-1)
    assert metrics.ciede2000(PRED, TRUE, mask) == pytest.approx(difference.mean(), rel=1e-4)
    assert metrics.accuracy_within(PRED, TRUE, 3.0, mask) == pytest.approx(np.mean(difference <= 3.0), abs=1e-3)


def test_accuracy_is_monotone_and_one_for_identical_images():
    shares = [metrics.accuracy_within(PRED, TRUE, t) for t in (0.5, 1, 2, 5, 10, 50)]
    assert shares == sorted(shares) and 0 < shares[0] < shares[-1] <= 1
    assert metrics.accuracy_within(TRUE, TRUE, threshold=0.0) == 1.0


def test_accuracy_curve_is_zhangs_ab_distance_curve():
    distance = np.hypot(*np.moveaxis(_lab(PRED)[..., 1:] - _lab(TRUE)[..., 1:], -1, 0)).ravel()
    curve = metrics.accuracy_curve(PRED, TRUE)
    assert curve.shape == (151,) and np.all(np.diff(curve) >= 0) and curve[-1] == 1.0
    for t in (0, 3, 10, 40):
        assert curve[t] == pytest.approx(np.mean(distance <= t), abs=2e-3)
    assert np.all(metrics.accuracy_curve(TRUE, TRUE, MASK) == 1.0)
    assert metrics.accuracy_curve(PRED, TRUE, [5.0, 20.0], MASK).shape == (2,)


def test_psnr_and_ssim_are_per_image_means_of_skimage():
    expected_psnr = np.mean([peak_signal_noise_ratio(t, p, data_range=1) for p, t in zip(PRED, TRUE)])
    expected_ssim = np.mean([structural_similarity(p, t, channel_axis=-1, data_range=1)
                             for p, t in zip(PRED, TRUE)])
    assert metrics.psnr(PRED, TRUE) == pytest.approx(expected_psnr, rel=1e-6)
    assert metrics.ssim(PRED, TRUE) == pytest.approx(expected_ssim, rel=1e-6)
    assert metrics.psnr(PRED[0], TRUE[0]) == pytest.approx(peak_signal_noise_ratio(TRUE[0], PRED[0], data_range=1))
    assert metrics.ssim(TRUE, TRUE) == pytest.approx(1.0)


def test_masked_psnr_and_ssim_use_the_selected_pixels_of_images_that_have_some():
    mask = np.zeros(MASK.shape, bool)
    mask[0, 5:20, 3:9] = True  # only images 0 and 2 have selected pixels
    mask[2, 10:12, :] = True
    expected = np.mean([peak_signal_noise_ratio(TRUE[i][mask[i]], PRED[i][mask[i]], data_range=1) for i in (0, 2)])
    assert metrics.psnr(PRED, TRUE, mask) == pytest.approx(expected, rel=1e-6)
    maps = [structural_similarity(PRED[i], TRUE[i], channel_axis=-1, data_range=1, full=True)[1].mean(-1)
            for i in (0, 2)]
    inner = mask[:, 3:-3, 3:-3]  # scikit-image leaves out the 3-pixel border of its 7 x 7 window
    expected = np.mean([maps[0][3:-3, 3:-3][inner[0]].mean(), maps[1][3:-3, 3:-3][inner[2]].mean()])
    assert metrics.ssim(PRED, TRUE, mask) == pytest.approx(expected, rel=1e-6)
    border = np.zeros(MASK.shape, bool)
    border[:, 0, :] = True
    with pytest.raises(ValueError, match="selects no pixel at least 3 pixels from an image border"):
        metrics.ssim(PRED, TRUE, border)


def test_colorfulness_by_hand_and_its_ratio():
    image, mask = TRUE[1] * 255.0, MASK[1]
    rg = (image[..., 0] - image[..., 1])[mask]
    yb = (0.5 * (image[..., 0] + image[..., 1]) - image[..., 2])[mask]
    expected = np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean())
    assert metrics.colorfulness(TRUE[1], mask) == pytest.approx(expected, rel=1e-4)
    whole = [metrics.colorfulness(image) for image in TRUE]
    assert metrics.colorfulness(TRUE) == pytest.approx(np.mean(whole), rel=1e-6)
    assert metrics.colorfulness_ratio(TRUE, TRUE) == pytest.approx(1.0)
    assert metrics.colorfulness_ratio(TRUE, TRUE, MASK) == pytest.approx(1.0)
    assert metrics.colorfulness_ratio(color.to_gray(TRUE), TRUE) == pytest.approx(0.0, abs=1e-3)
    with pytest.raises(ValueError, match="no colour"):
        metrics.colorfulness_ratio(TRUE, color.to_gray(TRUE))


def test_photo_figures_average_photos_of_different_sizes_as_each_alone():
    big, small = SCENES.images[0], SCENES.images[1][:20, :12]
    guesses = [color.to_gray(big), small * 0.5 + 0.25]
    figures = metrics.photo_figures(zip(guesses, [big, small]))
    each = [deltaE_ciede2000(rgb2lab(g), rgb2lab(t)).mean() for g, t in zip(guesses, [big, small])]
    np.testing.assert_allclose(figures["per_photo"], each, rtol=1e-4)
    assert figures["ciede2000"] == pytest.approx(np.mean(each), rel=1e-4)
    colorfulness = [metrics.colorfulness(image) for image in (*guesses, big, small)]
    assert figures["colorfulness_ratio"] == pytest.approx(np.mean(colorfulness[:2]) / np.mean(colorfulness[2:]))
    with pytest.raises(ValueError, match="no photos"):
        metrics.photo_figures([])


def test_mean_chroma_and_the_chroma_histogram():
    chroma = np.hypot(*np.moveaxis(_lab(TRUE)[..., 1:], -1, 0))
    assert metrics.mean_chroma(TRUE) == pytest.approx(chroma.mean(), rel=1e-4)
    assert metrics.mean_chroma(TRUE, MASK) == pytest.approx(chroma[MASK].mean(), rel=1e-4)
    counts, edges = metrics.chroma_histogram(TRUE)
    assert counts.sum() == TRUE[..., 0].size and np.array_equal(edges, metrics.CHROMA_BINS)
    counts, _ = metrics.chroma_histogram(TRUE, bins=[10, 20, 30], mask=MASK)  # beyond the edges: outer bins
    assert counts.sum() == MASK.sum()
    density, edges = metrics.chroma_histogram(TRUE, bins=7, density=True)
    assert (density * np.diff(edges)).sum() == pytest.approx(1.0)


def test_mean_hue_is_the_hue_angle_of_the_mean_ab():
    lab = np.zeros((2, 4, 4, 3))
    lab[..., 0] = 60.0
    lab[0, ..., 1:] = (20.0, 0.0)  # hue 0
    lab[1, ..., 1:] = (0.0, 20.0)  # hue 90: the mean a*b* is (10, 10), hue 45
    images = color.lab_to_rgb(lab)
    assert metrics.mean_hue(images) == pytest.approx(45.0, abs=0.5)
    assert metrics.mean_hue(images, np.array([False, True])[:, None, None]) == pytest.approx(90.0, abs=0.5)
    lab[..., 1:] = (-10.0, -10.0)
    assert metrics.mean_hue(color.lab_to_rgb(lab)) == pytest.approx(225.0, abs=0.5)  # [0, 360), not negative
    with pytest.raises(ValueError, match="selects no pixel"):
        metrics.mean_hue(images, mask=np.zeros((2, 4, 4), bool))


@pytest.mark.parametrize("metric", PAIR_METRICS)
def test_masks_that_select_nothing_or_do_not_fit_are_refused(metric):
    with pytest.raises(ValueError, match="selects no pixel"):
        metric(PRED, TRUE, mask=np.zeros(MASK.shape, bool))
    with pytest.raises(ValueError, match="does not fit"):
        metric(PRED, TRUE, mask=MASK[:, :16])
    with pytest.raises(ValueError, match="must be boolean"):
        metric(PRED, TRUE, mask=MASK.astype(int))
    with pytest.raises(ValueError, match="differ in shape"):
        metric(PRED[:4], TRUE, mask=None)


def test_single_image_metrics_refuse_empty_masks():
    for metric in (metrics.mean_chroma, metrics.chroma_histogram, metrics.colorfulness, metrics.baselines):
        with pytest.raises(ValueError, match="selects no pixel"):
            metric(TRUE, mask=np.zeros(MASK.shape, bool))
    with pytest.raises(ValueError, match=r"needs RGB images"):
        metrics.mean_chroma(TRUE[..., :2])


def test_baselines():
    found = metrics.baselines(TRUE)
    assert set(found) == {"grayscale", "mean-ab"}
    lab = rgb2lab(TRUE)
    # Grayscale: a* = b* = 0, so its error is the truth's mean |a*|, |b*|.
    assert metrics.mae(found["grayscale"], TRUE) == pytest.approx(np.abs(lab[..., 1:]).mean(), abs=0.01)
    # Mean-ab: the truth's L*, and the truth's mean a*b* wherever the gamut allows it.
    baseline = rgb2lab(found["mean-ab"])
    np.testing.assert_allclose(baseline[..., 0], lab[..., 0], atol=0.05)
    mean_ab = lab[..., 1:].mean((0, 1, 2))
    in_gamut = np.hypot(*np.moveaxis(baseline[..., 1:], -1, 0)) > np.hypot(*mean_ab) - 0.1
    assert in_gamut.mean() > 0.5
    np.testing.assert_allclose(baseline[in_gamut][:, 1:] - mean_ab, 0, atol=0.1)
    assert metrics.mse(found["mean-ab"], TRUE) < metrics.mse(found["grayscale"], TRUE)
    masked = rgb2lab(metrics.baselines(TRUE, MASK)["mean-ab"])  # mean over the diamonds: about grey
    assert np.abs(masked[MASK][:, 1:].mean(0)).max() < 5
    assert metrics.baselines(TRUE[0])["grayscale"].shape == TRUE[0].shape


def test_report_and_table():
    perfect = metrics.report(TRUE, TRUE, MASK)
    assert list(perfect) == list(metrics.REPORT_LABELS)
    assert perfect["mae"] == pytest.approx(0, abs=1e-4) and perfect["accuracy"] == 1 and perfect["auc"] == 1
    assert perfect["colorfulness_ratio"] == pytest.approx(1.0) and perfect["ssim"] == pytest.approx(1.0)
    assert perfect["mean_chroma"] == pytest.approx(metrics.mean_chroma(TRUE, MASK))
    noisy = metrics.report(PRED, TRUE)
    assert noisy["mae"] == pytest.approx(metrics.mae(PRED, TRUE))
    assert noisy["psnr"] == pytest.approx(metrics.psnr(PRED, TRUE))
    text = metrics.table({"noisy": PRED}, TRUE)
    assert text.splitlines()[0].split() == ["noisy", "grayscale", "mean-ab"]
    assert len(text.splitlines()) == 1 + len(metrics.REPORT_LABELS)


def test_hue_error_measures_the_turn_round_the_color_wheel():
    lab = np.zeros((1, 2, 2, 3))
    lab[..., 0], lab[..., 1] = 60.0, 30.0                # a pink-red: hue 0
    mirrored, turned = lab.copy(), lab.copy()
    mirrored[..., 1] = -30.0                              # the opposite hue
    turned[..., 1], turned[..., 2] = 0.0, 15.0            # a quarter turn, and less chroma
    truth = color.lab_to_rgb(lab)
    assert metrics.hue_error(truth, truth) == pytest.approx(0.0, abs=0.5)
    assert metrics.hue_error(color.lab_to_rgb(mirrored), truth) == pytest.approx(180.0, abs=1.0)
    assert metrics.hue_error(color.lab_to_rgb(turned), truth) == pytest.approx(90.0, abs=1.0)
