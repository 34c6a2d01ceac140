"""One builder per architecture, and a registry: ``build(name, preset="tiny")``, ``available()``.

Every builder offers two presets: ``"original"``, faithful to the seed report's layer table at
its input size and parameter count, and ``"tiny"`` (the lessons' default), the same topology with
fewer channels that learns visibly in about a minute on 2 CPU cores. Every model takes the L
channel encoded as L / 100 (``colorlab.color.encode_input``) and says what it predicts in
``predicts(model)``: ``"ab"`` (ab / 128, tanh) or ``"rgb"`` (sigmoid).

Each architecture is one plain Keras function (``unet.unet_model``, ...) that takes its widths
as arguments; ``code(name)`` (``show_code`` in a notebook) shows that function, the blocks it
calls and the call that builds a preset, runnable as it stands.

Introduced in lesson 00; lessons 03-09 walk through the architectures.
"""

from . import (  # noqa: F401  (importing a module registers its architectures)
    classifiers,
    cnn,
    hints,  # noqa: F401  (user-guided colorization, lesson 15)
    lite0_unet,  # noqa: F401  (the colorizer on the pretrained encoder, lessons 09 and 14)
    pix2pix,
    residual_unet,
    unet,
    vgg_transformer,
)
from .reference import load
from .registry import all_layers, available, build, code, input_shape, layer_table, names, predicts, register, show_code

__all__ = [
    "all_layers", "available", "build", "code", "input_shape", "layer_table", "load", "names", "predicts", "register",
    "show_code",
]
