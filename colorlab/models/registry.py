"""The architecture registry: name -> builder, with what each predicts and where it comes from."""

from __future__ import annotations

import ast
import inspect
import os
import sys
import textwrap
import warnings
from collections.abc import Callable
from dataclasses import dataclass

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
    network: Callable[..., keras.Model]  # the Keras code: network(**arguments) -> the model
    arguments: Callable[..., dict]  # (preset, **options) -> the network's arguments
    presets: dict  # preset name -> its settings
    source: str  # the seed report (and model) it reproduces, or the paper
    summary: str


_ARCHITECTURES: dict[str, Architecture] = {}


def register(name: str, presets: dict, network: Callable[..., keras.Model], arguments: Callable[..., dict],
             source: str, summary: str) -> Callable[..., keras.Model]:
    """Add an architecture to the registry and return its builder ``fn(preset="tiny", **options)``:
    ``network(**arguments(preset, **options))``. ``network`` is the plain Keras code (what
    ``code(name)`` shows); ``arguments`` turns one of the ``presets`` (``PRESETS`` -> settings),
    with ``options`` overriding it, into the network's arguments."""
    if set(presets) != set(PRESETS):
        raise ValueError(f"{name}: presets must be {PRESETS}, got {tuple(presets)}")
    _ARCHITECTURES[name] = Architecture(name, network, arguments, presets, source, summary)

    def builder(preset: str = "tiny", **options) -> keras.Model:
        return network(**arguments(preset_name(preset), **options))

    builder.__name__ = builder.__qualname__ = name
    builder.__doc__ = (f"Build {name} ({source}) at ``preset``, ``options`` overriding it: "
                       f"``{network.__name__}(**{arguments.__name__}(preset, **options))``.")
    return builder


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
    arch = _architecture(name)
    return arch.network(**arch.arguments(preset_name(preset), **options))


def input_shape(name: str, preset: str = "tiny") -> tuple:
    """The input shape architecture ``name`` has at ``preset``; ``None`` for a side of any size."""
    return _architecture(name).arguments(preset_name(preset))["input_shape"]


def _architecture(name: str) -> Architecture:
    if name not in _ARCHITECTURES:
        raise KeyError(f"no architecture {name!r}; available: {', '.join(sorted(_ARCHITECTURES))}")
    return _ARCHITECTURES[name]


def all_layers(model: keras.Model):
    """Every layer of ``model``, those of the models nested in it (an encoder) included, parents first."""
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):
            yield from all_layers(layer)


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
    return rows


def code(name: str, preset: str = "tiny", **options) -> str:
    """The Keras code ``build(name, preset, **options)`` runs, as one runnable script: imports, the
    helper functions that make layers, the architecture's function, and the call that builds the
    preset's model into ``model``. Introduced in lesson 03."""
    arch = _architecture(name)
    arguments = arch.arguments(preset_name(preset), **options)
    functions, imports = [], {}
    _collect(arch.network, functions, imports)
    call = "".join(f"    {key}={_literal(value)},\n" for key, value in arguments.items())
    call = f"# The {preset} preset:\nmodel = {arch.network.__name__}(\n{call})"
    header = [f"# The code behind models.build({name!r}, {preset!r}): run it as it stands, and `model` is that network.",
              *sorted(imports.values(), key=_import_order)]
    sources = [textwrap.dedent(inspect.getsource(function)).strip() for function in functions]
    return "\n\n\n".join(["\n".join(header), *sources, call]) + "\n"


def show_code(name: str, preset: str = "tiny", **options):
    """``code(name, preset, **options)``, syntax-highlighted in a notebook. Introduced in lesson 03."""
    from IPython.display import Code

    return Code(code(name, preset, **options), language="python")


def _collect(function, functions: list, imports: dict) -> None:
    """Add ``function`` to ``functions`` after the helpers it calls that make Keras layers
    (functions of this package that use ``layers`` or ``keras``); everything else it uses from
    outside goes into ``imports`` (name -> import line)."""
    if function in functions:
        return
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    local = {node.arg for node in ast.walk(tree) if isinstance(node, ast.arg)}
    local |= {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
    used = [node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)]
    for used_name in dict.fromkeys(used):
        if used_name in local or used_name not in function.__globals__:
            continue
        value = function.__globals__[used_name]
        if _makes_layers(value):
            _collect(value, functions, imports)
        else:
            imports[used_name] = _import_line(used_name, value, function.__module__)
    functions.append(function)


def _makes_layers(value) -> bool:
    if not (inspect.isfunction(value) and value.__module__.startswith(__package__ + ".")):
        return False
    return bool({"keras", "layers"} & set(value.__code__.co_names))


_MODULE_IMPORTS = {"keras": "import keras", "layers": "from keras import layers",
                   "np": "import numpy as np", "tf": "import tensorflow as tf"}


def _import_line(name: str, value, module: str) -> str:
    if inspect.ismodule(value):
        if name not in _MODULE_IMPORTS:
            raise ValueError(f"no import line for module {value.__name__} as {name!r}")
        return _MODULE_IMPORTS[name]
    return f"from {getattr(value, '__module__', None) or module} import {name}"


def _import_order(line: str) -> tuple:
    return (not line.startswith("import"), "colorlab" in line, line)


def _literal(value) -> str:
    """``value`` as Python source (arrays as nested lists)."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    return repr(value)
