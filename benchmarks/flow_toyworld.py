"""Does sampling fix the averaging problem? A small conditional flow-matching colorizer
(``flow_model.py``, a prototype for lesson 16) on toyworld, measured on the ambiguous diamonds next to the L2 U-Net
(which averages them to grey) and the ab classifier decoded at its mode (which commits pixel by
pixel).

    PYTHONPATH=. .venv/bin/python benchmarks/flow_toyworld.py [--seeds 0 1 2] [--baselines]

For every model, on held-out scenes, each diamond (a connected piece of ``Scenes.ambiguous`` of
at least ``--min-pixels`` pixels whose true colour is one hue) in each of ``--samples`` draws:

* pink share: the share of (diamond, draw) pairs whose mean a*b* is nearer pink than teal (0.5
  is right: the grey image cannot tell);
* grey share: the share whose mean a*b* has chroma under half the truth's (neither colour);
* chroma / truth: the diamonds' mean pixel chroma over the truth's (``metrics.mean_chroma``);
* consistency: the share of a diamond's pixels nearer its majority hue than the other (1 is one
  colour per diamond; speckle lowers it);
* spread: the root-mean-square distance (a*b* units) of a diamond's pixels from its mean a*b*
  (0 for a flat colour; grain and speckle raise it);
* both colours: the share of diamonds that are pink in some draws and teal in others;
* learnable / grey: the a*b* error on every other pixel over the grayscale baseline's.

Measured on 2026-12-08 on 2 CPU cores shared with other work (128 held-out scenes, 83 diamonds,
8 draws; the flow model trained 40 epochs on 2,048 scenes of 32 px in 158-186 s, the baselines
60 s each), seeds 0/1/2:

| model | pink | grey | chroma / truth | consistency | spread | both colours | learnable / grey |
|---|---|---|---|---|---|---|---|
| L2 U-Net | 0.07/0.02/0.13 | 0.99/0.94/0.93 | 0.30/0.31/0.34 | 0.72/0.77/0.66 | 12.7/12.2/13.2 | 0 | 0.134/0.155/0.135 |
| ab classifier, mode | 0.48/0.31/0.24 | 0.63/0.45/0.37 | 0.89/0.92/0.91 | 0.71/0.77/0.80 | 29.6/26.8/26.1 | 0 | 0.240/0.238/0.240 |
| flow, 8 steps | 0.47/0.42/0.42 | 0.24/0.17/0.21 | 0.95/1.00/0.92 | 0.81/0.80/0.83 | 25.7/27.8/23.4 | 0.93/0.82/0.92 | 0.117/0.126/0.119 |
| flow, 16 steps | 0.46/0.43/0.41 | 0.22/0.17/0.18 | 0.97/1.01/0.94 | 0.82/0.81/0.84 | 26.1/28.3/24.0 | 0.93/0.82/0.90 | 0.114/0.124/0.116 |

Sampling removes the grey averaging (chroma near the truth's, each diamond pink in some draws
and teal in others) and keeps what grey decides (learnable error as low as the L2 U-Net's). It
falls short twice: a lean towards teal (pink share 0.41-0.46 in every seed, where 0.5 is right)
and grain inside a diamond (consistency about 0.82, spread about 26 a*b* units, no flatter with 32
steps than 8, so the network, not the sampler). Tried and worse (seed 0): unit noise (pink 0.38,
learnable 0.16), 15 epochs (pink 0.27, learnable 0.41), predicting x1 instead of the velocity
(grey share 0.31-0.36), noise drawn 8 pixels coarse (flatter diamonds, spread 16, but pink 0.12).
"""

from __future__ import annotations

import argparse
import json
import time

import flow_model as flow  # beside this script (benchmarks/ is on sys.path when it runs)
import keras
import numpy as np
from scipy import ndimage

from colorlab import color, data, inference, losses, metrics, models, train
from colorlab.data.scenes import AMBIGUOUS_COLORS
from colorlab.models import classifiers

PINK_A = AMBIGUOUS_COLORS[0][1]  # a* of pink; teal's is -PINK_A, both have b* = 0


def diamonds(scenes, min_pixels: int = 12) -> list[tuple[int, np.ndarray]]:
    """(image index, pixel mask) of each diamond: 4-connected pieces of ``scenes.ambiguous`` with at
    least ``min_pixels`` pixels whose true colour is one hue (overlapping diamonds of both hues
    are left out)."""
    true_a = color.rgb_to_lab(scenes.images)[..., 1]
    found = []
    for i, mask in enumerate(scenes.ambiguous):
        labels, count = ndimage.label(mask)
        for k in range(1, count + 1):
            piece = labels == k
            pink = (true_a[i][piece] > 0).mean()
            if piece.sum() >= min_pixels and pink in (0.0, 1.0):
                found.append((i, piece))
    return found


def measure(draws: np.ndarray, scenes, pieces) -> dict[str, float]:
    """The figures above for ``draws`` (samples, N, H, W, 3) RGB colorizations of ``scenes``; a
    deterministic model is one draw."""
    ab = color.rgb_to_lab(draws)[..., 1:]  # (S, N, H, W, 2)
    truth_chroma = metrics.mean_chroma(scenes.images, scenes.ambiguous)
    pink = np.zeros((len(draws), len(pieces)), bool)
    grey = np.zeros_like(pink)
    consistency = np.zeros(pink.shape)
    spread = np.zeros(pink.shape)
    for j, (i, piece) in enumerate(pieces):
        pixels = ab[:, i][:, piece]  # (S, P, 2)
        mean = pixels.mean(axis=1)
        # nearest of pink (+A, 0) and teal (-A, 0): the sign of a*
        pink[:, j] = mean[:, 0] > 0
        grey[:, j] = np.hypot(*mean.T) < 0.5 * PINK_A
        consistency[:, j] = ((pixels[..., 0] > 0) == pink[:, j, None]).mean(axis=1)
        spread[:, j] = np.sqrt(((pixels - mean[:, None]) ** 2).sum(-1).mean(axis=1))
    gray_error = metrics.mae(color.to_gray(scenes.images), scenes.images, ~scenes.ambiguous)
    return {
        "pink share": pink.mean(),
        "grey share": grey.mean(),
        "chroma / truth": np.mean([metrics.mean_chroma(d, scenes.ambiguous) for d in draws]) / truth_chroma,
        "consistency": consistency.mean(),
        "spread": spread.mean(),
        "both colours": (pink.any(axis=0) & ~pink.all(axis=0)).mean() if len(draws) > 1 else 0.0,
        "learnable / grey": np.mean([metrics.mae(d, scenes.images, ~scenes.ambiguous) for d in draws]) / gray_error,
    }


def baselines(train_set, validation, test, budget_s: float, seed: int) -> dict[str, np.ndarray]:
    """The L2 U-Net's and the ab classifier's (mode; rebalanced, as lessons 08 and 10 train it)
    colorizations of ``test``, each trained for ``budget_s`` seconds."""
    keras.utils.set_random_seed(seed)
    unet = models.build("unet")
    start = time.perf_counter()
    train.fit(unet, train_set.images, validation.images, epochs=10_000, budget_s=budget_s, learning_rate=2e-3,
              loss=losses.l2, live=False, verbose=0, seed=seed)
    print(f"  L2 U-Net: {unet.count_params():,} parameters, trained {time.perf_counter() - start:.0f} s")
    keras.utils.set_random_seed(seed)
    classifier = models.build("ab_classifier")
    centers, _ = classifiers.classes_of(classifier)
    _, targets = color.encode_pair(train_set.images, "classes", centers, stride=inference.output_stride(classifier))
    start = time.perf_counter()
    train.fit(classifier, train_set.images, validation.images, epochs=10_000, budget_s=budget_s, learning_rate=2e-3,
              class_weights=classifiers.class_weights(targets, centers), live=False, verbose=0, seed=seed)
    print(f"  ab classifier: {classifier.count_params():,} parameters, trained {time.perf_counter() - start:.0f} s")
    classifier.layers[-1].temperature = None  # the mode
    return {"L2 U-Net": inference.colorize(unet, test.images)[None],
            "ab classifier, mode": inference.colorize(classifier, test.images)[None]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", type=int, default=2048, help="training scenes")
    parser.add_argument("--test", type=int, default=128, help="held-out scenes")
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--budget", type=float, default=200.0, help="flow training seconds at most")
    parser.add_argument("--widths", type=int, nargs=3, default=[16, 32, 64])
    parser.add_argument("--noise-scale", type=float, default=0.5)
    parser.add_argument("--coarse", type=int, default=1, help="noise grain in pixels (1: iid per pixel)")
    parser.add_argument("--target", choices=flow.TARGETS, default="velocity")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--steps", type=int, nargs="+", default=[8, 16])
    parser.add_argument("--method", choices=("euler", "heun"), default="euler")
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--min-pixels", type=int, default=12)
    parser.add_argument("--baselines", action="store_true", help="also train the L2 U-Net and the ab classifier")
    parser.add_argument("--baseline-budget", type=float, default=60.0)
    parser.add_argument("--json", help="append one JSON line per result to this file")
    args = parser.parse_args()

    train_set = data.toyworld(args.train, args.size, seed=0)
    validation = data.toyworld(64, args.size, seed=1)
    test = data.toyworld(args.test, args.size, seed=2)
    pieces = diamonds(test, args.min_pixels)
    print(f"{len(pieces)} diamonds in {args.test} held-out scenes "
          f"(truth: pink share {measure(test.images[None], test, pieces)['pink share']:.2f})")
    rows = []

    def record(name, seed, figures, **extra):
        rows.append({"model": name, "seed": seed, **figures, **extra})
        print(f"  {name} (seed {seed}): " + ", ".join(f"{k} {v:.3f}" for k, v in figures.items())
              + "".join(f", {k} {v}" for k, v in extra.items()), flush=True)
        if args.json:
            with open(args.json, "a") as f:
                f.write(json.dumps(rows[-1], default=float) + "\n")

    record("grayscale", None, measure(color.to_gray(test.images)[None], test, pieces))
    variant = (f"flow {args.target} w{'/'.join(map(str, args.widths))} noise {args.noise_scale:g} "
               f"coarse {args.coarse} {args.method} {args.epochs} ep")
    for seed in args.seeds:
        if args.baselines:
            for name, draws in baselines(train_set, validation, test, args.baseline_budget, seed).items():
                record(name, seed, measure(draws, test, pieces))
        keras.utils.set_random_seed(seed)
        model = flow.velocity_net(tuple(args.widths))
        history = flow.fit(model, train_set.images, epochs=args.epochs, budget_s=args.budget, learning_rate=args.lr,
                           noise_scale=args.noise_scale, target=args.target, coarse=args.coarse, seed=seed)
        print(f"  {variant}: {model.count_params():,} parameters, {len(history['loss'])} epochs in "
              f"{history['total_seconds']:.0f} s, final loss {history['loss'][-1]:.4f}", flush=True)
        for steps in args.steps:
            options = {"method": args.method, "noise_scale": args.noise_scale, "target": args.target,
                       "coarse": args.coarse}
            flow.colorize(model, test.images[:2], steps, 1, **options)  # trace first
            start = time.perf_counter()
            draws = flow.colorize(model, test.images, steps, args.samples, seed=100 + seed, **options)
            seconds = time.perf_counter() - start
            record(f"{variant}, K={steps}", seed, measure(draws, test, pieces),
                   train_s=round(history["total_seconds"]), epochs=len(history["loss"]), params=model.count_params(),
                   sample_s=round(seconds, 1))


if __name__ == "__main__":
    main()
