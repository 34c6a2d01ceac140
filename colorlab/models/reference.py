"""The reference colorizer: the ImageNet-trained EfficientNet-Lite0 encoder, frozen, and a U-Net
decoder trained on the course's real photographs (``lite0_unet``). The decoder ships with the
package (``weights/reference.keras``) beside its record (``weights/reference.json``: the command
that trained it, its data, time, machine, held-out figures and the weights' sha256); the encoder's
weights come from their own package. ``benchmarks/train_reference.py`` makes both. Lessons 00
and 14. ``verify`` also checks the weights of the lesson runs colorlab ships (``shipped.fit_or_load``).
"""

from __future__ import annotations

import json
from pathlib import Path

import keras
import pooch

from ..backbones import efficientnet_lite0
from .lite0_unet import colorizer

#: The shipped weights and their record.
WEIGHTS = Path(__file__).resolve().parent / "weights" / "reference.keras"
RECORD = WEIGHTS.with_suffix(".json")

#: Trained models ``load`` knows by name -> their weights file.
TRAINED = {"reference": WEIGHTS}


def record(name: str = "reference") -> dict:
    """What the record beside model ``name``'s weights says (command, data, figures, sha256)."""
    path = _weights(name).with_suffix(".json")
    if not path.is_file():
        raise FileNotFoundError(f"the record of the {name!r} model is missing: {path}")
    return json.loads(path.read_text())


def load(name: str = "reference") -> keras.Model:
    """Trained model ``name``, read from the package offline, after checking its file's sha256
    against its record (a missing or altered file is a clear error, never a silently other model).
    A decoder trained on the Lite0 encoder (its record names the encoder) comes joined to it."""
    path = _weights(name)
    about = record(name)
    verify(path, about["weights_sha256"], remake="run benchmarks/train_reference.py")
    from . import classifiers  # noqa: F401  (registers PaletteSoftmax for loading)

    model = keras.models.load_model(path, compile=False)
    if not about.get("encoder"):
        return model
    encoder = efficientnet_lite0((None, None, 1))
    encoder.trainable = False
    return colorizer(encoder, model, name=name)


def verify(path: Path, sha256: str, remake: str) -> None:
    """Refuse weights at ``path`` that are missing or whose sha256 is not the recorded one (a
    partial copy, a changed file): a clear error, never a silently other model."""
    if not path.is_file():
        raise FileNotFoundError(f"weights missing: {path} (reinstall colorlab, or {remake} to make them)")
    found = pooch.file_hash(str(path))
    if found != sha256:
        raise ValueError(f"{path} does not match its record: sha256 {found[:12]}..., recorded {sha256[:12]}... "
                         f"(a partial download or a changed file; reinstall colorlab, or {remake})")


def _weights(name: str) -> Path:
    if name not in TRAINED:
        raise KeyError(f"no trained model {name!r}; trained models: {', '.join(TRAINED)}")
    return TRAINED[name]
