"""How good is a colorization? Error, similarity and colorfulness figures for batches of RGB
images (N, H, W, 3) or single images (H, W, 3) in [0, 1], always read next to two baselines
(``baselines``): grayscale (predict no colour) and mean-ab (predict one average colour). Why, and
what the course expects of each figure: "Measuring color" in CONTRIBUTING.md.

Every function takes an optional boolean pixel ``mask`` broadcastable to (N, H, W), e.g.
``toyworld``'s ``ambiguous``. Two kinds of average:

* pixel figures (``mae``, ``mse``, ``ciede2000``, ``accuracy_within``, ``accuracy_curve``,
  ``mean_chroma``, ``mean_hue``) pool every selected pixel of every image;
* image figures (``psnr``, ``ssim``, ``colorfulness``) are computed per image, as
  scikit-image does for one image, then averaged over the images in which the mask selects
  at least one pixel.

Introduced in lesson 03 (``ab_mae``, ``lightness_mae``); lesson 12 adds the rest.
"""

from __future__ import annotations

import numpy as np
from scipy import stats
from skimage.metrics import structural_similarity
from skimage.transform import resize

from . import color

#: Zhang et al. (2016) "raw accuracy": share of pixels within an ab distance of 0, 1, ..., 150.
AUC_THRESHOLDS = np.arange(151.0)
#: ``accuracy_within``'s default CIEDE2000 threshold, also used by ``report``.
ACCURACY_THRESHOLD = 5.0
#: Chroma histogram bins: 5 units wide, covering sRGB's chroma (at most about 134, pure blue).
CHROMA_BINS = np.arange(0.0, 140.0 + 5.0, 5.0)


def _images(images, name: str) -> np.ndarray:
    images = color.as_float_images(images)
    if images.ndim == 3:
        images = images[None]
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"{name}: needs RGB images (N, H, W, 3) or (H, W, 3), got shape {images.shape}")
    return images


def _pair(pred, true, name: str) -> tuple[np.ndarray, np.ndarray]:
    pred, true = _images(pred, name), _images(true, name)
    if pred.shape != true.shape:
        raise ValueError(f"{name}: predicted images {pred.shape} and true images {true.shape} differ in shape")
    return pred, true


def _mask(mask, shape, name: str) -> np.ndarray:
    """The mask as a boolean array of ``shape`` (N, H, W); all True when ``mask`` is None."""
    if mask is None:
        return np.ones(shape, bool)
    mask = np.asarray(mask)
    if mask.dtype != bool:
        raise ValueError(f"{name}: the mask must be boolean, got dtype {mask.dtype}")
    try:
        mask = np.broadcast_to(mask, shape)
    except ValueError:
        raise ValueError(f"{name}: a mask of shape {mask.shape} does not fit images of shape {shape} "
                         "(N, H, W)") from None
    if not mask.any():
        raise ValueError(f"{name}: the mask selects no pixel")
    return mask


def _selected_lab(pred, true, mask, name: str) -> tuple[np.ndarray, np.ndarray]:
    """CIELAB of the selected pixels of both batches, each (pixels, 3)."""
    pred, true = _pair(pred, true, name)
    mask = _mask(mask, pred.shape[:-1], name)
    return color.rgb_to_lab(pred[mask]), color.rgb_to_lab(true[mask])


# ----------------------------------------------------------------------------------------------
# Pixel figures, in CIELAB units.


def mae(pred, true, mask=None) -> float:
    """Mean absolute a*b* error in CIELAB units (mean over a* and b*, then over pixels).
    Introduced in lesson 03 as ``ab_mae``."""
    return _ab_mae(*_selected_lab(pred, true, mask, "mae"))


def _ab_mae(p, t) -> float:
    return float(np.abs(p[:, 1:] - t[:, 1:]).mean())


#: The name lessons 03-08 use.
ab_mae = mae


def mse(pred, true, mask=None) -> float:
    """Mean squared a*b* error in CIELAB units squared (mean over a* and b*, then over pixels),
    what an L2 loss on ab / 128 minimises, times 128^2. Lesson 12."""
    return _ab_mse(*_selected_lab(pred, true, mask, "mse"))


def _ab_mse(p, t) -> float:
    return float(np.square(p[:, 1:] - t[:, 1:]).mean())


def lightness_mae(pred, true, mask=None) -> float:
    """Mean absolute L* error in CIELAB units: how well a model that outputs RGB reproduces the
    lightness it was given. Lesson 03."""
    p, t = _selected_lab(pred, true, mask, "lightness_mae")
    return float(np.abs(p[:, 0] - t[:, 0]).mean())


def ciede2000(pred, true, mask=None) -> float:
    """Mean CIEDE2000 colour difference (``color.delta_e``); about 1 is just noticeable. Lesson 12."""
    return float(color.delta_e(*_selected_lab(pred, true, mask, "ciede2000")).mean())


def accuracy_within(pred, true, threshold: float = ACCURACY_THRESHOLD, mask=None) -> float:
    """Share of pixels whose CIEDE2000 difference is at most ``threshold`` (seed 003's
    "deltaE-based threshold" accuracy). The default 5 means "the same colour at a glance";
    about 1 is just noticeable side by side. Lesson 12."""
    return float(np.mean(color.delta_e(*_selected_lab(pred, true, mask, "accuracy_within")) <= threshold))


def accuracy_curve(pred, true, thresholds=AUC_THRESHOLDS, mask=None) -> np.ndarray:
    """Zhang et al. (2016)'s accuracy curve: for each threshold, the share of pixels whose
    Euclidean a*b* distance (not CIEDE2000, to match the paper) is at most it. Its mean over
    the default thresholds 0..150 is the paper's "AuC" (1 for a perfect colorization). Lesson 12."""
    return _accuracy_curve(*_selected_lab(pred, true, mask, "accuracy_curve"), thresholds)


def _accuracy_curve(p, t, thresholds) -> np.ndarray:
    distance = np.sort(np.hypot(*(p[:, 1:] - t[:, 1:]).T))
    return np.searchsorted(distance, np.asarray(thresholds, float), side="right") / len(distance)


def mean_chroma(images, mask=None) -> float:
    """Mean chroma C*ab of the selected pixels: how far from grey, on average. Lesson 12."""
    images = _images(images, "mean_chroma")
    return float(color.chroma(color.rgb_to_lab(images[_mask(mask, images.shape[:-1], "mean_chroma")])).mean())


def mean_hue(images, mask=None) -> float:
    """Hue angle h_ab in degrees [0, 360) of the selected pixels' mean a*b*: the colour a set of
    pictures averages to (about 0 pinkish red, 60-90 orange to yellow, 135-180 green, 270 blue).
    Compare a model's with the truth's to see its colours drift, e.g. towards brown. Lesson 10."""
    images = _images(images, "mean_hue")
    lab = color.rgb_to_lab(images[_mask(mask, images.shape[:-1], "mean_hue")])
    a, b = np.asarray(lab[:, 1:], np.float64).mean(axis=0)
    return float(np.degrees(np.arctan2(b, a)) % 360.0)


def hue_error(pred, true, mask=None) -> float:
    """Mean angle in degrees, 0 to 180, between each selected pixel's predicted and true a*b*:
    how far round the colour wheel a model's colours are, whatever their chroma. Lesson 15."""
    p, t = _selected_lab(pred, true, mask, "hue_error")
    turn = np.arctan2(p[:, 2], p[:, 1]) - np.arctan2(t[:, 2], t[:, 1])
    return float(np.degrees(np.abs(np.angle(np.exp(1j * turn)))).mean())


def chroma_histogram(images, bins=CHROMA_BINS, mask=None, density=False) -> tuple[np.ndarray, np.ndarray]:
    """(counts, bin edges) of the selected pixels' chroma, as ``np.histogram``; chroma beyond
    the outer edges is counted in the outer bins, so counts sum to the number of pixels. Compare
    a model's histogram with the truth's to see colours drift towards brown and grey. Lesson 12."""
    images = _images(images, "chroma_histogram")
    values = color.chroma(color.rgb_to_lab(images[_mask(mask, images.shape[:-1], "chroma_histogram")]))
    edges = np.histogram_bin_edges(values, bins)
    return np.histogram(np.clip(values, edges[0], edges[-1]), edges, density=density)


# ----------------------------------------------------------------------------------------------
# Image figures: per image, then averaged over the images with a selected pixel.


def psnr(pred, true, mask=None) -> float:
    """Peak signal-to-noise ratio in dB on RGB in [0, 1]: per image as
    ``skimage.metrics.peak_signal_noise_ratio(data_range=1)`` (over the selected pixels' three
    channels), then the mean over images. It rewards grey: see ``baselines``. Lesson 12."""
    pred, true = _pair(pred, true, "psnr")
    mask = _mask(mask, pred.shape[:-1], "psnr")
    squared = np.square(pred.astype(np.float64) - true).mean(-1)
    count = mask.sum(axis=(1, 2))
    error = (squared * mask).sum(axis=(1, 2))[count > 0] / count[count > 0]
    with np.errstate(divide="ignore"):
        return float(np.mean(-10 * np.log10(error)))


def ssim(pred, true, mask=None) -> float:
    """Structural similarity on RGB in [0, 1]: per image as ``skimage.metrics.structural_similarity(
    channel_axis=-1, data_range=1)``, then the mean over images. With a ``mask``, the mean of
    scikit-image's SSIM map over the selected pixels, leaving out (as it does) the 3-pixel border
    of its 7 x 7 window. Lesson 12."""
    pred, true = _pair(pred, true, "ssim")
    mask = _mask(mask, pred.shape[:-1], "ssim")
    pad = 3
    values = []
    for p, t, m in zip(pred, true, mask):
        score, full = structural_similarity(p, t, channel_axis=-1, data_range=1, full=True)
        if m.all():
            values.append(score)
        elif m[pad:-pad, pad:-pad].any():
            values.append(full[pad:-pad, pad:-pad].mean(-1)[m[pad:-pad, pad:-pad]].mean())
    if not values:
        raise ValueError(f"ssim: the mask selects no pixel at least {pad} pixels from an image border")
    return float(np.mean(values))


def colorfulness(images, mask=None) -> float:
    """Mean over images of Hasler & Suesstrunk's colourfulness (``color.colorfulness``: 0 grey,
    about 33 moderately, 59 quite, 109 extremely colourful). Lesson 12."""
    images = _images(images, "colorfulness")
    mask = _mask(mask, images.shape[:-1], "colorfulness")
    keep = mask.any(axis=(1, 2))
    return float(color.colorfulness(images[keep], mask[keep]).mean())


def colorfulness_ratio(pred, true, mask=None) -> float:
    """r = CF(pred) / CF(true), the ratio of the two mean ``colorfulness`` values (a ratio of
    means: a near-grey true image cannot blow it up). Under 1 is washed out, above over-saturated;
    0.8 to 1.2 looks natural. Lesson 12."""
    pred, true = _pair(pred, true, "colorfulness_ratio")
    reference = colorfulness(true, mask)
    if reference < 0.1:  # grey up to rounding; "slightly colourful" is about 15
        raise ValueError("colorfulness_ratio: the true images have no colour, so no ratio can be taken")
    return colorfulness(pred, mask) / reference



def photo_figures(pairs) -> dict:
    """Figures over photographs of different sizes, given as ``(guess, truth)`` pairs (a
    generator keeps one pair in memory at a time): ``ciede2000``, the mean over photos of each
    one's CIEDE2000 (listed in ``per_photo``), and ``colorfulness_ratio``, the photos' mean
    colourfulness over the truths' (a ratio of means, as ``colorfulness_ratio``). Lesson 14."""
    per_photo, ours, theirs = [], [], []
    for guess, truth in pairs:
        per_photo.append(ciede2000(guess, truth))
        ours.append(colorfulness(guess))
        theirs.append(colorfulness(truth))
    if not per_photo:
        raise ValueError("photo_figures: no photos given")
    return {"ciede2000": float(np.mean(per_photo)), "colorfulness_ratio": float(np.mean(ours) / np.mean(theirs)),
            "per_photo": per_photo}


def paired_difference(ours, theirs, confidence: float = 0.95, resamples: int = 10_000, seed: int = 0) -> dict:
    """The mean of ``ours - theirs`` over paired items (photos scored by two colorizers) and its
    bootstrap ``confidence`` interval (``scipy.stats.bootstrap``, percentile method, resampling
    the items): ``{"mean", "low", "high", "n"}``. An interval that excludes 0 says the difference
    is beyond the noise of which photos happened to be drawn. Lesson 14."""
    difference = np.asarray(ours, np.float64) - np.asarray(theirs, np.float64)
    if difference.ndim != 1 or len(difference) < 2:
        raise ValueError(f"paired_difference needs two equally long lists of at least 2 scores, got {np.shape(ours)} "
                         f"and {np.shape(theirs)}")
    interval = stats.bootstrap((difference,), np.mean, confidence_level=confidence, n_resamples=resamples,
                               method="percentile", random_state=seed).confidence_interval
    return {"mean": float(difference.mean()), "low": float(interval.low), "high": float(interval.high),
            "n": len(difference)}


# ----------------------------------------------------------------------------------------------
# Zhang et al.'s semantic test, in miniature: does an ImageNet classifier see the same thing?

#: The classifier's input side; photos are scaled (shorter side) and centre-cropped to it.
SEMANTIC_SIDE = 224


def _classifier_view(image) -> np.ndarray:
    """``image`` scaled so its shorter side is ``SEMANTIC_SIDE`` and centre-cropped square."""
    image = np.asarray(image, np.float32)
    h, w = image.shape[:2]
    scale = SEMANTIC_SIDE / min(h, w)
    size = (max(SEMANTIC_SIDE, round(h * scale)), max(SEMANTIC_SIDE, round(w * scale)))
    resized = resize(image, size, anti_aliasing=True, preserve_range=True).astype(np.float32)
    top, left = (size[0] - SEMANTIC_SIDE) // 2, (size[1] - SEMANTIC_SIDE) // 2
    return resized[top:top + SEMANTIC_SIDE, left:left + SEMANTIC_SIDE]


def semantic_test(versions: dict, truths, classifier=None) -> dict:
    """Zhang et al.'s (2016) "semantic interpretability" test, in miniature: an ImageNet classifier
    (EfficientNet-Lite0 with its head, fed RGB; ``backbones.efficientnet_lite0(head=True)`` unless
    given) labels each true photo with its top class, then looks at each version of it
    (``versions``: name -> one image per truth, e.g. grey, colorized). Per version: ``top1`` (share
    of photos whose top class is still the true photo's), ``probability`` (the mean
    probability given to that class) and ``per_photo`` (that probability photo by photo, for
    ``paired_difference``). The truth itself scores top1 = 1 by construction; colour
    that helps recognition moves a version from grey's figures towards it. Lesson 12."""
    from .backbones import efficientnet_lite0, traced

    if classifier is None:
        classifier = efficientnet_lite0((SEMANTIC_SIDE, SEMANTIC_SIDE, 3), head=True)
    truths, classify = list(truths), traced(classifier)

    def probabilities(images):
        views = np.stack([_classifier_view(im) for im in images])
        return np.concatenate([classify(views[i:i + 16])[0] for i in range(0, len(views), 16)])

    labels = probabilities(truths).argmax(axis=1)
    results = {}
    for name, images in {**versions, "truth": truths}.items():
        if len(images) != len(truths):
            raise ValueError(f"semantic_test: {name!r} has {len(images)} images for {len(truths)} truths")
        p = probabilities(images)
        of_label = p[np.arange(len(labels)), labels].astype(np.float64)
        results[name] = {"top1": float(np.mean(p.argmax(axis=1) == labels)), "probability": float(of_label.mean()),
                         "per_photo": of_label.tolist()}
    return results


def pooled_features(images, encoder=None) -> np.ndarray:
    """Each image's EfficientNet-Lite0 features at stride 32, averaged over positions (320
    numbers an image), from its RGB at ``SEMANTIC_SIDE``: what ``frechet_distance`` compares.
    ``encoder``: ``backbones.efficientnet_lite0((224, 224, 3))`` unless given. Lesson 12."""
    from .backbones import efficientnet_lite0, traced

    if encoder is None:
        encoder = efficientnet_lite0((SEMANTIC_SIDE, SEMANTIC_SIDE, 3))
    views = np.stack([_classifier_view(im) for im in images])
    features = traced(encoder)
    return np.concatenate([features(views[i:i + 16])[-1].mean(axis=(1, 2)) for i in range(0, len(views), 16)])


def frechet_distance(features_a, features_b) -> float:
    """The Fréchet distance between Gaussians fitted to two sets of feature vectors (rows):
    |mu_a - mu_b|^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)) (Heusel et al. 2017). On Lite0's pooled
    features (``pooled_features``) it is *a* Fréchet distance, not FID: FID uses Inception-v3's
    2,048 features and tens of thousands of images, so the numbers are not comparable with
    published ones; with fewer images than features the covariances are rank-deficient and the
    figure is biased upwards. Lesson 12.

    Computed without forming a d x d matrix: with the centred features A and B, S_a S_b has the
    eigenvalues of (A B^T)(A B^T)^T / ((n_a - 1)(n_b - 1)), so Tr((S_a S_b)^(1/2)) is the sum of the
    singular values of A B^T over sqrt((n_a - 1)(n_b - 1)): an n_a x n_b problem instead of a
    matrix square root of d x d (1,280 x 1,280 for Lite0), and exact where that root is
    ill-conditioned (fewer photos than features)."""
    a, b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise ValueError(f"frechet_distance needs two (n, d) feature sets with n >= 2, got {a.shape} and {b.shape}")
    centred_a, centred_b = a - a.mean(0), b - b.mean(0)
    trace_a, trace_b = np.sum(centred_a**2) / (len(a) - 1), np.sum(centred_b**2) / (len(b) - 1)
    trace_root = np.linalg.svd(centred_a @ centred_b.T, compute_uv=False).sum() / np.sqrt((len(a) - 1) * (len(b) - 1))
    return float(np.sum((a.mean(0) - b.mean(0)) ** 2) + trace_a + trace_b - 2 * trace_root)


# ----------------------------------------------------------------------------------------------
# Reports and baselines.

#: ``report``'s figures and how ``table`` labels them.
REPORT_LABELS = {
    "mae": "a*b* MAE (lower better)",
    "mse": "a*b* MSE (lower better)",
    "ciede2000": "CIEDE2000 (lower better)",
    "accuracy": f"share with dE00 <= {ACCURACY_THRESHOLD:g}",
    "auc": "AuC of ab accuracy 0-150",
    "psnr": "PSNR dB (rewards grey)",
    "ssim": "SSIM (rewards grey)",
    "colorfulness_ratio": "colourfulness ratio (1 ideal)",
    "mean_chroma": "mean chroma",
}


def report(pred, true, mask=None) -> dict[str, float]:
    """All the figures of ``REPORT_LABELS`` for one set of predictions. Lesson 12."""
    lab = _selected_lab(pred, true, mask, "report")  # converted once for the five CIELAB figures
    difference = color.delta_e(*lab)
    return {
        "mae": _ab_mae(*lab),
        "mse": _ab_mse(*lab),
        "ciede2000": float(difference.mean()),
        "accuracy": float(np.mean(difference <= ACCURACY_THRESHOLD)),
        "auc": float(_accuracy_curve(*lab, AUC_THRESHOLDS).mean()),
        "psnr": psnr(pred, true, mask),
        "ssim": ssim(pred, true, mask),
        "colorfulness_ratio": colorfulness_ratio(pred, true, mask),
        "mean_chroma": mean_chroma(pred, mask),
    }


def baselines(true, mask=None) -> dict[str, np.ndarray]:
    """What a model must beat, as RGB images shaped like ``true``:

    * ``"grayscale"``: every pixel keeps its L* and gets a* = b* = 0 (``color.to_gray``);
    * ``"mean-ab"``: every pixel keeps its L* and gets the mean a*b* of ``true``'s selected
      pixels (the whole evaluation set, pooled), shrunk into sRGB's gamut keeping L*
      (``color.fit_to_gamut``): the best single colour for MSE.

    Lesson 12."""
    images = _images(true, "baselines")
    lab = color.rgb_to_lab(images)
    mean_ab = lab[_mask(mask, images.shape[:-1], "baselines")][:, 1:].mean(axis=0)
    lab[..., 1:] = mean_ab
    shape = np.shape(true)
    return {"grayscale": color.to_gray(images).reshape(shape),
            "mean-ab": color.lab_to_rgb(color.fit_to_gamut(lab)).reshape(shape)}


def table(predictions: dict, true, mask=None) -> str:
    """A text table of ``report`` for each named prediction (e.g. ``{"U-Net": pred}``) and the
    two ``baselines``, one column each, ready to print. Lesson 12."""
    columns = {**predictions, **baselines(true, mask)}
    reports = {name: report(images, true, mask) for name, images in columns.items()}
    width = max(12, *(len(name) + 2 for name in columns))
    lines = [f"{'':30}" + "".join(f"{name:>{width}}" for name in columns)]
    for key, label in REPORT_LABELS.items():
        lines.append(f"{label:30}" + "".join(f"{reports[name][key]:>{width}.3f}" for name in columns))
    return "\n".join(lines)
