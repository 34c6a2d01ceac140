"""Loose versions of the course's quality bars (the measured ones are in ``make bench``): every
tiny a*b* model learns toyworld's learnable colour, and on the ambiguous diamonds regression
averages while the classifier's mode and the GAN commit to a colour (lesson 10)."""

import keras
import pytest

from colorlab import color, data, losses, metrics, models, train
from colorlab.models import classifiers, pix2pix

SCENES = data.toyworld(512, 32, seed=0)
VALIDATION = data.toyworld(32, 32, seed=1)
TEST = data.toyworld(128, 32, seed=2)
LEARNABLE, DIAMONDS = ~TEST.ambiguous, TEST.ambiguous
GREY_ERROR = metrics.mae(color.to_gray(TEST.images), TEST.images, LEARNABLE)
TRUTH_CHROMA = metrics.mean_chroma(TEST.images, DIAMONDS)
COLOUR_MODELS = [name for name in models.names() if models.predicts(models.build(name)) in ("ab", "classes")]


def seeded(build, *args, **options):
    """``build(*args, **options)`` from a fixed seed, so each model starts from the same weights."""
    keras.utils.set_random_seed(0)
    return build(*args, **options)


def trained(model, epochs=8, **options):
    train.fit(model, SCENES.images, VALIDATION.images, epochs=epochs, live=False, verbose=0, **options)
    return train.colorize(model, TEST.images)


def rebalanced(model):
    """The class-rebalancing weights of Zhang et al. for ``model``'s classes on the training scenes."""
    centers, _ = classifiers.classes_of(model)
    _, targets = color.encode_pair(SCENES.images, "classes", centers, stride=train.output_stride(model))
    return classifiers.class_weights(targets, centers)


@pytest.mark.parametrize("name", COLOUR_MODELS)
def test_every_tiny_colour_model_beats_the_grayscale_baseline(name):
    if name == "pix2pix":  # two networks: compiled as lessons 10 and 11 train it in short runs
        model = seeded(pix2pix.for_short_runs)
    else:  # the palette classifier paints with its palette's colours: fit the palette first (seed 001)
        options = {"centers": classifiers.fit_palette(SCENES.images, 32)} if name == "palette_classifier" else {}
        model = seeded(models.build, name, **options)
    result = trained(model, learning_rate=3e-3)
    assert metrics.mae(result, TEST.images, LEARNABLE) < 0.7 * GREY_ERROR


def test_regression_averages_the_diamonds_while_the_classifier_and_the_gan_commit():
    l2 = trained(seeded(models.build, "unet"), learning_rate=3e-3, loss=losses.l2)
    l1 = trained(seeded(models.build, "unet"), learning_rate=3e-3, loss=losses.l1)
    classifier = seeded(models.build, "ab_classifier", temperature=None)  # decoded at its mode
    mode = trained(classifier, learning_rate=3e-3, class_weights=rebalanced(classifier))
    gan = trained(seeded(pix2pix.for_short_runs), epochs=20)  # two networks: more epochs
    assert metrics.mean_chroma(l2, DIAMONDS) < 0.6 * TRUTH_CHROMA
    assert metrics.mean_chroma(mode, DIAMONDS) > 0.6 * TRUTH_CHROMA
    assert metrics.mean_chroma(gan, DIAMONDS) > 0.6 * TRUTH_CHROMA
    # Committing costs little where grey decides the colour (the bench's bar is 25% at 60 s).
    assert metrics.mae(gan, TEST.images, LEARNABLE) < 1.6 * metrics.mae(l1, TEST.images, LEARNABLE)
