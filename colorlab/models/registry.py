"""The architecture registry: name -> builder, with what each predicts and where it comes from."""

from __future__ import annotations

import os
import sys
import warnings
from dataclasses import dataclass
from typing import Callable

import keras

from ..color import TARGETS

#: Every architecture's presets: ``"original"``, the seed report's model at its input size, and
#: ``"tiny"``, the same topology small enough to train in about a minute on 2 CPU cores.
PRESETS = ("original", "tiny")

#: Parameter counts of these models do not depend on the input's height and width (convolutions,
#: per-pixel dense layers, attention over positions), so ``available`` counts them on inputs this
#: small: VGG16's minimum, and divisible by 16 (pix2pix's generator pools four times).
COUNTING_INPUT = (32, 32, 1)


@dataclass(frozen=True)
class Architecture:
    name: str
    builder: Callable[..., keras.Model]
    presets: dict  # preset name -> its settings
    source: str  # the seed report (and model) it reproduces, or the paper
    summary: str


_ARCHITECTURES: dict[str, Architecture] = {}


def register(name: str, presets: dict, source: str, summary: str):
    """Decorator: add a builder ``fn(preset, **options) -> keras.Model`` to the registry, with its
    ``presets`` (``PRESETS`` -> settings)."""
    if set(presets) != set(PRESETS):
        raise ValueError(f"{name}: presets must be {PRESETS}, got {tuple(presets)}")

    def decorate(builder):
        _ARCHITECTURES[name] = Architecture(name, builder, presets, source, summary)
        return builder

    return decorate


def preset_name(preset: str) -> str:
    """``preset``, checked; the old name ``"seed"`` still means ``"original"``, with a FutureWarning
    that points at the code outside this package that asked for it."""
    if preset == "seed":
        here, frame, level = os.path.dirname(__file__), sys._getframe(1), 2
        while frame is not None and os.path.dirname(frame.f_code.co_filename) == here:
            frame, level = frame.f_back, level + 1
        warnings.warn("preset 'seed' is now called 'original'; 'seed' will stop working in the next release",
                      FutureWarning, stacklevel=level)
        return "original"
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {PRESETS}, got {preset!r}")
    return preset


def build(name: str, preset: str = "tiny", **options) -> keras.Model:
    """Build architecture ``name`` at ``preset`` (``"original"`` or ``"tiny"``); ``options``
    override the preset (e.g. ``output="ab"``, ``scale=0.25``)."""
    if name not in _ARCHITECTURES:
        raise KeyError(f"no architecture {name!r}; available: {', '.join(sorted(_ARCHITECTURES))}")
    return _ARCHITECTURES[name].builder(preset_name(preset), **options)


def predicts(model: keras.Model) -> str:
    """What ``model`` outputs: ``"ab"``, ``"rgb"`` or ``"classes"``: its final layer's name."""
    kind = model.layers[-1].name
    if kind not in TARGETS:
        raise ValueError(f"{model.name}: final layer {kind!r} is not named after a target {TARGETS}")
    return kind


def layer_table(model: keras.Model) -> str:
    """A compact layer table (type, output shape, parameters), like the seeds print with
    ``model.summary()``, to set side by side with a seed's table. Introduced in lesson 03."""
    lines = [f"{'layer':28s} {'output shape':22s} {'params':>10s}"]
    for layer in model.layers:
        shape = tuple(layer.output.shape[1:]) if hasattr(layer, "output") else ()
        lines.append(f"{type(layer).__name__:28s} {str(shape):22s} {layer.count_params():>10,}")
    lines.append(f"{'total':28s} {'':22s} {model.count_params():>10,}")
    return "\n".join(lines)


def names() -> list[str]:
    """The registered architectures' names, without building anything."""
    return sorted(_ARCHITECTURES)


def _unallocated(name: str, preset: str) -> keras.Model:
    """``build(name, preset)`` on ``COUNTING_INPUT``, its weights neither allocated nor loaded
    (a ``keras.StatelessScope`` defers their initialisation): the same layers and parameter
    count, built faster and in little memory. Only for counting: it cannot run."""
    options = {"input_shape": COUNTING_INPUT}
    if "weights" in _ARCHITECTURES[name].presets[preset]:
        options["weights"] = None
    with keras.StatelessScope():
        return build(name, preset, **options)


def available() -> list[dict]:
    """One row per architecture: name, what it predicts, the original preset's input size and
    each preset's parameter count, and the seed report (or paper) it comes from."""
    rows = []
    for name, arch in sorted(_ARCHITECTURES.items()):
        original, tiny = _unallocated(name, "original"), _unallocated(name, "tiny")
        rows.append({
            "name": name,
            "predicts": predicts(original),
            "original input": tuple(arch.presets["original"]["input_shape"][:2]),
            "original params": original.count_params(),
            "tiny params": tiny.count_params(),
            "source": arch.source,
            "summary": arch.summary,
        })
        keras.backend.clear_session()
    return rows
