"""The lessons' long training runs, shipped with colorlab: ``fit_or_load`` trains a run, or loads
the weights colorlab ships for exactly that run (the same layers, starting weights, data and
settings), with the record of how they were made. ``make shipped`` makes them again. Introduced in
lesson 07.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import platform
from pathlib import Path

import keras
import numpy as np
import pooch
import tensorflow as tf

from . import settings, train
from .callbacks import write_atomically
from .models import all_layers, reference

#: Where the weights of the lessons' long training runs ship (``fit_or_load``), a folder per lesson.
SHIPPED_DIR = reference.WEIGHTS.parent

#: How a maintainer makes them again after changing a model, the data or ``fit``.
SHIPPED_COMMAND = "make shipped"

#: ``fit`` settings that do not change what a run learns, so they are not part of its recipe.
_NOT_RECIPE = ("budget_s", "stopper", "live", "samples", "verbose")


def fit_or_load(name: str, model: keras.Model, images: np.ndarray, validation: np.ndarray | None = None,
                **fit_settings) -> dict:
    """``train.fit(model, images, validation, **fit_settings)``, or the same run's result shipped with colorlab.

    A few lesson runs take minutes on 2 CPU cores (lessons 07 and 09-11). colorlab ships the weights
    they trained, ``SHIPPED_DIR/<name>.npz``, beside a record of the run (``<name>.json``: its
    recipe, history, time and machine); weights that training left as they started (a frozen
    encoder's) are not stored, as the recipe fixes them. When the record's recipe is this
    call's (the same layers, trainable parameters and starting weights, the same training and
    validation images, the same settings, apart from those that only watch or limit it:
    ``budget_s``, ``stopper``, ``live``, ``samples``, ``verbose``), the weights are loaded into
    ``model`` (not compiled) in a second, and the recorded history comes back with
    ``history["shipped"]`` naming the file. Otherwise the model trains here, and says why when a
    shipped run exists. ``settings.SHIPPED`` (``COLORLAB_SHIPPED``) = "retrain" always trains
    here; "make" trains here and writes the weights and record, atomically (``SHIPPED_COMMAND``),
    refusing a run that stopped before its last epoch. Seed the model before building it, as
    for a repeatable ``fit``.
    """
    if settings.SHIPPED not in ("use", "retrain", "make"):
        raise ValueError(f"COLORLAB_SHIPPED must be 'use', 'retrain' or 'make', not {settings.SHIPPED!r}")
    weights, record_path = SHIPPED_DIR / f"{name}.npz", SHIPPED_DIR / f"{name}.json"
    start = model.get_weights()
    recipe = _recipe(model, start, images, validation, fit_settings)
    if settings.SHIPPED == "use":
        if not record_path.is_file():
            print(f"colorlab: training {name!r} here: colorlab ships no run of it")
        else:
            record = json.loads(record_path.read_text())
            differs = sorted(key for key in recipe.keys() | record["recipe"].keys()
                             if recipe.get(key) != record["recipe"].get(key))
            if not differs:
                reference.verify(weights, record["weights_sha256"], remake=SHIPPED_COMMAND)
                with np.load(weights, allow_pickle=False) as trained:
                    model.set_weights([trained.get(f"w{i}", value) for i, value in enumerate(start)])
                history = record["history"]
                print(f"colorlab: {name!r} is the run shipped with colorlab, loaded ({len(history['loss'])} epochs, "
                      f"{history['total_seconds']:.0f} s on the machine that made it; "
                      "COLORLAB_SHIPPED=retrain trains it here)")
                return {**history, "shipped": f"{weights.parent.name}/{weights.name}"}
            print(f"colorlab: training {name!r} here: this run differs from the shipped one in {', '.join(differs)}")
    history = train.fit(model, images, validation, **fit_settings)
    if settings.SHIPPED == "make":
        if history["stopped_by"]:
            raise RuntimeError(f"{name!r} stopped before its last epoch ({history['stopped_by']}), so it is not "
                               "shipped: give it a larger budget_s")
        _ship(model, start, weights, record_path, {"recipe": recipe, "history": history})
    return {**history, "shipped": None}


def _recipe(model: keras.Model, start: list, images, validation, fit_settings: dict) -> dict:
    """What decides what a ``fit`` learns, in plain JSON: layers, which of them train, starting
    weights, data, settings."""
    if not isinstance(images, np.ndarray) or not (validation is None or isinstance(validation, np.ndarray)):
        raise TypeError("fit_or_load takes training and validation images as arrays")
    recipe = {"layers": [type(layer).__name__ for layer in all_layers(model)], "parameters": model.count_params(),
              "trainable_parameters": sum(int(np.prod(w.shape)) for w in model.trainable_weights),
              "initial_weights": _digest(start),
              "images": _digest([images]), "validation": None if validation is None else _digest([validation])}
    recipe |= {key: _plain(value) for key, value in sorted(fit_settings.items()) if key not in _NOT_RECIPE}
    return json.loads(json.dumps(recipe))  # tuples become lists, as in the record read back


def _digest(arrays) -> str:
    h = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        h.update(f"{array.dtype}{array.shape}".encode())
        h.update(array.tobytes())
    return h.hexdigest()[:16]


def _plain(value):
    """``value`` as JSON that names it stably: a loss function by its name, an array by its digest."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.ndarray):
        return _digest([value])
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if hasattr(value, "get_config"):
        return {type(value).__qualname__: _plain(value.get_config())}
    if callable(value):
        return f"{value.__module__}.{value.__qualname__}"
    raise TypeError(f"fit_or_load cannot record a setting of type {type(value).__name__}")


def _ship(model: keras.Model, start: list, weights: Path, record_path: Path, run: dict) -> None:
    """Write the weights of ``model`` that differ from ``start`` and the record of its run beside
    them, each atomically."""
    trained = {f"w{i}": value for i, (value, before) in enumerate(zip(model.get_weights(), start))
               if not np.array_equal(value, before)}
    write_atomically(weights, lambda partial: np.savez(partial, **trained))
    record = {**run, "weights_sha256": pooch.file_hash(str(weights)),
              "weights_bytes": weights.stat().st_size, "command": SHIPPED_COMMAND,
              "made": {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                       "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()}",
                       "tensorflow": tf.__version__, "keras": keras.__version__}}
    text = json.dumps(record, indent=1, default=float) + "\n"
    write_atomically(record_path, lambda partial: partial.write_text(text))

