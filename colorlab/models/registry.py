"""The architecture registry: name -> builder, with what each predicts and where it comes from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import keras

from ..color import TARGETS

PRESETS = ("seed", "tiny")


@dataclass(frozen=True)
class Architecture:
    name: str
    builder: Callable[..., keras.Model]
    source: str  # the seed report (and model) it reproduces
    summary: str


_ARCHITECTURES: dict[str, Architecture] = {}


def register(name: str, source: str, summary: str):
    """Decorator: add a builder ``fn(preset, **options) -> keras.Model`` to the registry."""

    def decorate(builder):
        _ARCHITECTURES[name] = Architecture(name, builder, source, summary)
        return builder

    return decorate


def build(name: str, preset: str = "tiny", **options) -> keras.Model:
    """Build architecture ``name`` at ``preset`` (``"seed"`` or ``"tiny"``); ``options`` override
    the preset (e.g. ``output="ab"``, ``widths=(8, 16, 32)``)."""
    if name not in _ARCHITECTURES:
        raise KeyError(f"no architecture {name!r}; available: {', '.join(sorted(_ARCHITECTURES))}")
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {PRESETS}, got {preset!r}")
    return _ARCHITECTURES[name].builder(preset, **options)


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


def available() -> list[dict]:
    """One row per architecture: name, what it predicts, input size and parameter count of each
    preset, and the seed it comes from."""
    rows = []
    for name, arch in sorted(_ARCHITECTURES.items()):
        seed, tiny = build(name, "seed"), build(name, "tiny")
        rows.append({
            "name": name,
            "predicts": predicts(seed),
            "seed input": seed.input_shape[1:3],
            "seed params": seed.count_params(),
            "tiny params": tiny.count_params(),
            "source": arch.source,
            "summary": arch.summary,
        })
        keras.backend.clear_session()
    return rows
