"""Loss averaging, measured (lesson 10's table with a longer budget): on toyworld's ambiguous
diamonds (pink or teal at random, chroma 40), the mean chroma each model paints, and on the
learnable pixels its a*b* error, after the same training time.

    .venv/bin/python benchmarks/losses.py [--budget 60] [--size 32]

Quality bars, for the claim that regression averages the diamonds while the classifier and the
GAN commit to a colour: the L2 U-Net at most 50% of the truth's diamond chroma; the ab classifier
decoded at its mode and the GAN at the recommended lambda at least 70%; the GAN's learnable a*b*
error within 25% of the same generator trained with L1 alone. Also: diamond chroma against the
annealing temperature T. tests/test_quality.py checks looser versions of these bars after a few
epochs.
"""

from __future__ import annotations

import argparse

import keras

from colorlab import color, data, inference, losses, metrics, models, train
from colorlab.models import classifiers, pix2pix


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=60.0, help="training seconds per model")
    parser.add_argument("--size", type=int, default=32)
    args = parser.parse_args()
    train_set = data.toyworld(2048, args.size, seed=0)
    validation = data.toyworld(64, args.size, seed=1)
    test = data.toyworld(256, args.size, seed=2)
    diamonds, learnable = test.ambiguous, ~test.ambiguous
    truth = metrics.mean_chroma(test.images, diamonds)

    def fit(model, **options):
        train.fit(model, train_set.images, validation.images, epochs=10_000, budget_s=args.budget, live=False,
                  verbose=0, **options)
        return model

    results = {}
    for name in ("l2", "l1", "huber"):
        keras.utils.set_random_seed(0)
        results[f"U-Net, {name}"] = fit(models.build("unet"), learning_rate=2e-3, loss=losses.PIXEL_LOSSES[name])
    keras.utils.set_random_seed(0)
    results["generator, l1 only"] = fit(pix2pix.generator((None, None, 1), scale=pix2pix.PRESETS["tiny"]["scale"]),
                                        learning_rate=2e-3)
    for weight in (100.0, 10.0):
        keras.utils.set_random_seed(0)
        results[f"GAN, lambda {weight:g}"] = fit(pix2pix.for_short_runs(l1_weight=weight))
    keras.utils.set_random_seed(0)
    classifier = models.build("ab_classifier")
    centers, _ = classifiers.classes_of(classifier)
    _, targets = color.encode_pair(train_set.images, "classes", centers, stride=4)
    fit(classifier, learning_rate=2e-3, class_weights=classifiers.class_weights(targets, centers))

    head = classifier.layers[-1]
    rows = {name: inference.colorize(model, test.images) for name, model in results.items()}
    for t in (1.0, 0.38, 0.1, None):
        head.temperature = t
        rows[f"ab classifier, {'mode' if t is None else f'T = {t}'}"] = inference.colorize(classifier, test.images)

    print(f"toyworld {args.size} px, {args.budget:.0f} s of training each; truth's diamond chroma {truth:.1f}; "
          f"grayscale baseline's learnable a*b* error {metrics.mae(color.to_gray(test.images), test.images, learnable):.2f}\n")
    print("| model | diamond chroma | % of truth | learnable a*b* MAE | CIEDE2000 | colourfulness ratio |")
    print("|---|---|---|---|---|---|")
    for name, result in rows.items():
        chroma = metrics.mean_chroma(result, diamonds)
        print(f"| {name} | {chroma:.1f} | {chroma / truth:.0%} | {metrics.mae(result, test.images, learnable):.2f} "
              f"| {metrics.ciede2000(result, test.images):.2f} | {metrics.colorfulness_ratio(result, test.images):.2f} |")


if __name__ == "__main__":
    main()
