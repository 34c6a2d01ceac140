"""Loose versions of the course's quality bars (the measured ones are in ``make bench``): every
tiny a*b* model learns toyworld's learnable colour, and on the ambiguous diamonds regression
averages while the classifier's mode and the GAN commit to a colour.

Each distinct model is trained once per test run (``colorized`` keeps its results), from a fixed
seed, with TensorFlow's op determinism on: a run repeats exactly on one machine. Another machine
(other CPU, other thread count) rounds differently and ends up about as far away as another seed
does, so each bar sits at least three standard deviations of five seeds beyond their mean,
measured (6 minutes of CPU per seed) with

    COLORLAB_FAST=1 PYTHONPATH=. python tests/test_quality.py 0 1 2 3 4

    | quantity | seeds 0-4 | mean +- 3 sd | bar |
    |---|---|---|---|
    | ab_classifier: learnable error / grey's | 0.26 0.26 0.25 0.25 0.26 | 0.26 +- 0.02 | < 0.7 |
    | palette_classifier: learnable error / grey's | 0.51 0.30 0.35 0.34 0.29 | 0.36 +- 0.26 | < 0.7 |
    | pix2pix (8 epochs): learnable error / grey's | 0.51 0.52 0.44 0.73 0.31 | 0.50 +- 0.46 | (none) |
    | residual_unet: learnable error / grey's | 0.28 0.32 0.26 0.27 0.32 | 0.29 +- 0.08 | < 0.7 |
    | sequential_lab: learnable error / grey's | 0.35 0.35 0.35 0.34 0.36 | 0.35 +- 0.02 | < 0.7 |
    | unet: learnable error / grey's | 0.21 0.23 0.22 0.23 0.21 | 0.22 +- 0.04 | < 0.7 |
    | L2 U-Net: diamond chroma / truth's | 0.58 0.45 0.64 0.51 0.53 | 0.54 +- 0.22 | < 0.8 |
    | ab classifier, mode: diamond chroma / truth's | 1.03 1.01 1.00 1.06 0.96 | 1.01 +- 0.12 | > 0.85 |
    | GAN, 20 epochs: diamond chroma / truth's | 0.88 0.81 0.72 0.83 0.87 | 0.82 +- 0.19 | > 0.6 |
    | GAN, 20 epochs: learnable error / L1 U-Net's | 1.44 0.88 1.91 1.64 0.82 | 1.34 +- 1.43 | < 2.8 |
    | GAN, 20 epochs: learnable error / grey's | 0.30 0.20 0.42 0.38 0.17 | 0.30 +- 0.32 | < 0.8 |

The last row is, seed by seed, the row above it times the "unet" row (the L1 U-Net's error over
grey's, from the same runs). The GAN after 8 epochs swings too much for a bar well clear of its spread
below 1.0 (its mean + 3 sd is 0.96), so it is held to beating grey after 20 epochs, 0.18 clear.

Chroma is the mean over the diamonds' pixels (``metrics.mean_chroma``). The chroma of each diamond's
mean colour, which ignores speckle, swung more between seeds (the mode's 0.58-0.85), so it is
not used. The palette classifier once swung from 0.31 to 1.15 of grey's: its tiny preset squeezed
each pixel through 4 ReLUs before choosing among 32 colours, all four died in seed 3's run, and it
painted one colour everywhere. No dense layer of it is narrower than its palette now.
"""

from __future__ import annotations

import functools
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from colorlab import color, data, inference, losses, metrics, models, train
from colorlab.models import classifiers, pix2pix

SEED = 0
SCENES = data.toyworld(512, 32, seed=0)
VALIDATION = data.toyworld(32, 32, seed=1)
TEST = data.toyworld(128, 32, seed=2)
LEARNABLE, DIAMONDS = ~TEST.ambiguous, TEST.ambiguous
GRAY_ERROR = metrics.mae(color.to_gray(TEST.images), TEST.images, LEARNABLE)
TRUTH_CHROMA = metrics.mean_chroma(TEST.images, DIAMONDS)
# Models that predict RGB (lessons 03-05 and 09) are left out: colour drifts in RGB, and VGG16
# would try to download its weights. The hint U-Net is trained once, in test_hints.py, which puts
# the same bar on it without hints. Every other registered model is tested.
RGB_MODELS = {"sequential_rgb", "simple_cnn", "improved_cnn", "vgg_transformer"}
COLOR_MODELS = [name for name in models.names() if name not in RGB_MODELS | {"hint_unet"}]
#: Learnable a*b* error as a share of gray's, at most (the table above); 0.7 unless given here.
BEATS_GRAY = {"pix2pix": 0.8}
#: Which of ``colorized``'s results the bar applies to: "default" unless given here.
SCORED = {"pix2pix": "20 epochs"}


def seeded(build, seed: int, *args, **options):
    """``build(*args, **options)`` from ``seed``, so each model starts from the same weights."""
    keras.utils.set_random_seed(seed)
    return build(*args, **options)


def fitted(model, seed: int, epochs: int = 8, **options) -> np.ndarray:
    """``model`` trained on SCENES (shuffled from ``seed``); returns its colorization of TEST."""
    if not model.compiled:  # the GAN comes compiled, with its own optimizers
        options["learning_rate"] = 3e-3
    train.fit(model, SCENES.images, VALIDATION.images, epochs=epochs, seed=seed, live=False, verbose=0, **options)
    return inference.colorize(model, TEST.images)


def rebalanced(model):
    """The class-rebalancing weights of Zhang et al. for ``model``'s classes on the training scenes."""
    centers, _ = classifiers.classes_of(model)
    _, targets = color.encode_pair(SCENES.images, "classes", centers, stride=inference.output_stride(model))
    return classifiers.class_weights(targets, centers)


@functools.cache
def colorized(name: str, seed: int = SEED) -> dict[str, np.ndarray]:
    """TEST colorized by the tiny model ``name`` trained from ``seed`` (8 epochs, Adam at 3e-3):
    ``"default"``, and for some models a second result another test needs. Each model is
    trained once per process."""
    if name == "pix2pix":  # two networks: compiled as lessons 10 and 11 train it in short runs
        gan = seeded(pix2pix.for_short_runs, seed)
        first = fitted(gan, seed)
        return {"default": first, "20 epochs": fitted(gan, seed, epochs=12)}  # 12 more for the diamonds
    if name == "ab_classifier":  # rebalanced as lessons 08 and 10 train it; decoded at T = 0.38 and at the mode
        classifier = seeded(models.build, seed, name)
        annealed = fitted(classifier, seed, class_weights=rebalanced(classifier))
        classifier.layers[-1].temperature = None  # decoding only: the weights do not change
        return {"default": annealed, "mode": inference.colorize(classifier, TEST.images)}
    if name == "palette_classifier":  # it paints with its palette's colours: fit the palette first (seed 001)
        return {"default": fitted(seeded(models.build, seed, name, centers=classifiers.fit_palette(SCENES.images, 32)),
                                  seed)}
    model = seeded(models.build, seed, name)
    return {"default": fitted(model, seed, loss=losses.l1 if name == "unet" else None)}


@functools.cache
def l2_unet(seed: int = SEED) -> np.ndarray:
    """TEST colorized by the tiny U-Net trained as ``colorized`` trains it, with an L2 loss."""
    return fitted(seeded(models.build, seed, "unet"), seed, loss=losses.l2)


def quantities(seed: int = SEED) -> dict[str, float]:
    """Every quantity this module puts a bar on, for models trained from ``seed``."""
    values = {f"{name}: learnable error / grey's": metrics.mae(colorized(name, seed)["default"], TEST.images,
                                                                 LEARNABLE) / GRAY_ERROR
              for name in COLOR_MODELS}
    values["GAN, 20 epochs: learnable error / grey's"] = (metrics.mae(colorized("pix2pix", seed)["20 epochs"],
                                                                      TEST.images, LEARNABLE) / GRAY_ERROR)
    gan, mode = colorized("pix2pix", seed)["20 epochs"], colorized("ab_classifier", seed)["mode"]
    values["L2 U-Net: diamond chroma / truth's"] = metrics.mean_chroma(l2_unet(seed), DIAMONDS) / TRUTH_CHROMA
    values["ab classifier, mode: diamond chroma / truth's"] = metrics.mean_chroma(mode, DIAMONDS) / TRUTH_CHROMA
    values["GAN, 20 epochs: diamond chroma / truth's"] = metrics.mean_chroma(gan, DIAMONDS) / TRUTH_CHROMA
    l1 = colorized("unet", seed)["default"]
    values["GAN, 20 epochs: learnable error / L1 U-Net's"] = (metrics.mae(gan, TEST.images, LEARNABLE)
                                                             / metrics.mae(l1, TEST.images, LEARNABLE))
    return values


@pytest.fixture(scope="module", autouse=True)
def deterministic_ops():
    """TensorFlow's op determinism, for this module only: it is process-wide, and a later test
    may use an op that has no deterministic kernel. TensorFlow exports only the switch that turns
    it on; its internal module has the one that turns it off."""
    from tensorflow.python.framework import config

    was_on = config.is_op_determinism_enabled()
    tf.config.experimental.enable_op_determinism()
    yield
    if not was_on:
        config.disable_op_determinism()


def test_the_rgb_models_left_out_are_registered():
    assert RGB_MODELS <= set(models.names())


@pytest.mark.parametrize("name", COLOR_MODELS)
def test_every_tiny_color_model_beats_the_grayscale_baseline(name):
    bar = BEATS_GRAY.get(name, 0.7)
    assert models.predicts(seeded(models.build, SEED, name)) in ("ab", "classes"), f"{name} predicts RGB"
    assert metrics.mae(colorized(name)[SCORED.get(name, "default")], TEST.images, LEARNABLE) < bar * GRAY_ERROR


def test_regression_averages_the_diamonds_while_the_classifier_and_the_gan_commit():
    gan = colorized("pix2pix")["20 epochs"]
    assert metrics.mean_chroma(l2_unet(), DIAMONDS) < 0.8 * TRUTH_CHROMA
    assert metrics.mean_chroma(colorized("ab_classifier")["mode"], DIAMONDS) > 0.85 * TRUTH_CHROMA
    assert metrics.mean_chroma(gan, DIAMONDS) > 0.6 * TRUTH_CHROMA
    # Committing does not wreck the colour grey decides. After 20 epochs the GAN's error swings
    # between 0.8 and 1.9 times the L1 U-Net's over seeds: the bench's bar (25% at 60 s) is the
    # real claim.
    assert metrics.mae(gan, TEST.images, LEARNABLE) < 2.8 * metrics.mae(colorized("unet")["default"], TEST.images,
                                                                      LEARNABLE)


if __name__ == "__main__":  # the table in this module's docstring, for the seeds given
    tf.config.experimental.enable_op_determinism()
    seeds = [int(s) for s in sys.argv[1:]] or [SEED]
    table = {seed: quantities(seed) for seed in seeds}
    print(f"| quantity | seeds {seeds[0]}-{seeds[-1]} | mean +- 3 sd |\n|---|---|---|")
    for key in table[seeds[0]]:
        row = np.array([table[seed][key] for seed in seeds])
        print(f"| {key} | {' '.join(f'{v:.2f}' for v in row)} | {row.mean():.2f} +- {3 * row.std(ddof=1):.2f} |")
