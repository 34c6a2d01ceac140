"""Run sizes for every lesson, in one place.

A lesson asks ``sizes("lesson-name")`` for its numbers (images, epochs, image size, ...; a name
ending in ``_s`` is seconds). With the environment variable ``COLORLAB_FAST=1`` (set by the tests)
each number drops to its FAST value, so FAST mode changes how much work is done, not which code
runs (one exception: lesson 13 starts no second process in FAST mode, as the tests run the same
two workers). Normal runs are sized for a 2-core, 2 GB Binder box: see the budgets in CONTRIBUTING.md.

Introduced in lesson 00.
"""

from __future__ import annotations

import os
from types import SimpleNamespace

FAST = os.environ.get("COLORLAB_FAST", "0").strip().lower() not in ("", "0", "false", "no")

#: Which photographs the photo lessons use: "shipped" (the course's own, offline), "packaged"
#: (the library photos), a folder, or a dataset ``data.fetch`` knows (e.g. "imagenette160", "lfw").
PHOTO_SOURCE = os.environ.get("COLORLAB_PHOTOS", "").strip() or "shipped"

#: What ``shipped.fit_or_load`` does with the weights colorlab ships for the lessons' long training
#: runs: "use" them when this very run made them (else train here), "retrain" (always train
#: here), or "make" (train here and write them into the package: maintainers, ``make shipped``).
SHIPPED = os.environ.get("COLORLAB_SHIPPED", "").strip().lower() or "use"

# name -> {setting: (normal value, FAST value)}
_SIZES = {
    "00_start_here": {"n_train": (1024, 128), "n_test": (128, 32), "size": (64, 32), "epochs": (5, 1)},
    "01_color_spaces": {"photo_size": (192, 96)},
    "02_data": {"n_scenes": (1000, 200), "augment_to": (505, 505), "per_category": (6, 3)},
    "03_sequential_rgb": {"n_train": (512, 96), "n_test": (128, 32), "size": (48, 32), "epochs": (7, 1),
                          "photo_size": (48, 32), "max_photos": (60, 12), "unet_epochs": (8, 1),
                          "guard_s": (900, 60)},
    # Lessons 04 and 05 compare models trained for a number of epochs, so their stored figures
    # reproduce on any machine.
    "04_simple_cnn": {"n_train": (1024, 96), "n_test": (128, 32), "size": (64, 32), "epochs": (10, 1)},
    "05_improved_cnn": {"n_train": (1024, 96), "n_test": (128, 32), "size": (64, 32), "epochs": (6, 1)},
    "08_color_classification": {"n_train": (1024, 96), "n_test": (128, 32), "size": (32, 32), "epochs": (12, 1),
                                "guard_s": (900, 60)},
    "06_sequential_lab": {"n_small": (16, 8), "n_val": (128, 16), "size": (32, 32), "epochs": (10, 1),
                          "max_photos": (75, 20), "guard_s": (900, 60)},
    # Lessons 07, 09, 10 and 11 train for a number of epochs, so their stored figures reproduce on any
    # machine; ``guard_s`` only caps a model's training time on a slow one. colorlab ships the
    # toyworld runs of 07 and the training runs of 09-11 (``shipped.fit_or_load``), so FAST mode keeps
    # their sizes and loads them too.
    "09_vgg_transformer": {"n_train": (512, 512), "n_test": (64, 16), "size": (64, 64), "epochs": (4, 4),
                           "guard_s": (600, 6),
                           # The same decoder on a random and on the ImageNet Lite0 encoder, trained live.
                           "transfer_patches": (1000, 64), "transfer_size": (64, 64), "transfer_epochs": (3, 1),
                           "transfer_seeds": ((0, 1, 2), (0,)), "transfer_photos": (20, 4), "transfer_side": (160, 96)},
    "10_loss_averaging": {"n_train": (1024, 1024), "n_test": (128, 32), "size": (32, 32), "epochs": (10, 10),
                          "gan_epochs": (12, 12), "photo_epochs": (8, 8), "max_photos": (400, 400),
                          "guard_s": (300, 20)},
    "11_gan": {"n_train": (1024, 1024), "n_test": (128, 32), "size": (32, 32), "gan_epochs": (12, 12),
               "photo_epochs": (6, 6), "max_photos": (200, 200), "failure_budget_s": (30, 3), "guard_s": (300, 20)},
    "13_scaling_up": {"file_size": (96, 64), "n_files": (256, 64), "n_photos": (32, 8), "size": (64, 32), "batches": (20, 4),
                      "epochs": (2, 1), "n_train": (512, 64), "worker_timeout_s": (300, 300),
                      "start_workers": (True, False),  # FAST: the tests start them (test_distribute.py)
                      "seed_models": (("sequential_rgb", "unet", "sequential_lab"), ("sequential_rgb",))},
    "07_unet": {"n_train": (1024, 1024), "n_test": (128, 32), "size": (32, 32), "epochs": (5, 5),
                "guard_s": (300, 20), "large": (128, 64), "photo_size": (32, 32), "photo_epochs": (10, 1),
                "max_photos": (400, 6)},
    "12_evaluation": {"n_train": (768, 96), "n_test": (128, 32), "size": (32, 32), "epochs": (6, 1),
                      "guard_s": (300, 20), "semantic_photos": (52, 6), "semantic_side": (256, 128),
                      "frechet_resamples": (100, 20)},
    # Lesson 14 uses the shipped reference model: it measures and fine-tunes, it trains nothing from scratch.
    "14_your_own_photos": {"per_category": (8, 1), "side": (384, 128), "finetune_photos": (12, 2),
                           "finetune_size": (96, 64), "finetune_epochs": (3, 1)},
    "15_colour_hints": {"n_train": (1024, 96), "n_test": (128, 32), "size": (32, 32), "epochs": (6, 1),
                        "hint_counts": ((0, 1, 2, 4, 8), (0, 1, 8)), "photo_side": (256, 96), "guard_s": (600, 20),
                        # The hint decoder on the ImageNet encoder, trained live on cached features.
                        "photo_patches": (800, 48), "photo_patch_size": (64, 64), "photo_epochs": (4, 1),
                        "photo_hints": (10, 10), "test_photos": (52, 4), "test_side": (192, 96)},
}


def check_environment() -> str:
    """Check the versions the course needs; return a one-line summary (lessons print it)."""
    import keras
    import tensorflow as tf

    from . import __version__

    if tuple(int(v) for v in tf.__version__.split(".")[:2]) < (2, 16):
        raise RuntimeError(f"colorlab needs TensorFlow 2.16 or newer, found {tf.__version__}")
    if not keras.__version__.startswith("3."):
        raise RuntimeError(f"colorlab needs Keras 3, found {keras.__version__}")
    gpus = tf.config.list_physical_devices("GPU")
    device = f"{len(gpus)} GPU(s)" if gpus else "CPU only (fine for every lesson; a GPU speeds up training)"
    mode = "FAST mode (tiny budgets)" if FAST else "normal mode"
    return f"colorlab {__version__} | TensorFlow {tf.__version__} | Keras {keras.__version__} | {device} | {mode}"


def sizes(name: str) -> SimpleNamespace:
    """The sizes lesson ``name`` runs with, FAST or normal, e.g. ``sizes("00_start_here").epochs``."""
    if name not in _SIZES:
        raise KeyError(f"no lesson named {name!r} in the run sizes; known: {', '.join(sorted(_SIZES))}")
    return SimpleNamespace(**{key: pair[FAST] for key, pair in _SIZES[name].items()})
