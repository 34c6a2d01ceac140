"""What the lessons show of each model (``models.code``) is the code that builds it."""

import ast
import importlib
import inspect

import keras
import numpy as np
import pytest

from colorlab import models, plot


def layer_rows(model):
    """Each layer's type, output shape and parameter count, in order."""
    return [(type(layer).__name__, tuple(layer.output.shape[1:]), layer.count_params()) for layer in model.layers]


def networks(model):
    """The Keras networks inside ``model``: a GAN's two, or the model itself."""
    return [model.generator, model.discriminator] if hasattr(model, "generator") else [model]


@pytest.fixture(autouse=True)
def fresh_session():
    yield
    keras.backend.clear_session()


@pytest.mark.parametrize("name", models.names())
def test_the_code_shown_builds_the_same_network_as_build(name):
    options = {"weights": None} if name == "vgg_transformer" else {}  # no download in tests
    shown = models.code(name, **options)
    namespace = {}
    exec(compile(shown, f"<models.code({name!r})>", "exec"), namespace)
    built = models.build(name, **options)
    assert type(namespace["model"]) is type(built) and namespace["model"].name == built.name
    for from_code, from_build in zip(networks(namespace["model"]), networks(built), strict=True):
        assert layer_rows(from_code) == layer_rows(from_build)
        assert from_code.count_params() == from_build.count_params()
    assert models.predicts(namespace["model"]) == models.predicts(built)


def test_show_code_highlights_the_same_code():
    from IPython.display import Code

    shown = models.show_code("unet")
    assert isinstance(shown, Code) and shown.data == models.code("unet")
    assert "def conv_bn_act(" in shown.data and "def unet_model(" in shown.data  # the blocks it calls, too
    assert "widths=(8, 16, 32)," in shown.data and "widths=(64, 128, 256)," in models.code("unet", "original")


@pytest.mark.parametrize("name", models.names())
def test_the_code_shown_defines_every_function_that_makes_layers(name):
    """Only data, layer classes and plain functions are imported from colorlab.models: the Keras
    code that wires its layers together is all on the page (pretrained backbones are imported)."""
    tree = ast.parse(models.code(name))
    defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    assert name + "_model" in defined
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module.startswith("colorlab.models"):
            for alias in node.names:
                value = getattr(importlib.import_module(node.module), alias.name)
                wires_layers = inspect.isfunction(value) and {"keras", "layers"} & set(value.__code__.co_names)
                assert not wires_layers, f"{alias.name} is imported, not shown"


def drawn(fig):
    """Per diagram of ``fig``: its boxes, its skip arcs, and the parameter counts written in its boxes."""
    result = []
    for ax in fig.axes:
        boxes = [p for p in ax.patches if p.get_gid() == "block"]
        skips = [p for p in ax.patches if p.get_gid() == "skip"]
        params = [int(t.get_text().split()[0].replace(",", "")) for t in ax.texts if t.get_gid() == "params"]
        result.append((boxes, skips, params))
    return result


# name -> skip connections per network (a GAN's generator, then its discriminator).
# The hint U-Net's third arc carries the spread hints from their pooling layer past the first
# concatenation, into the input of the first convolution; its fourth carries them past the whole
# U-Net to the gated blend at its output.
SKIPS = {"unet": [2], "residual_unet": [2], "hint_unet": [4], "pix2pix": [4, 0]}


@pytest.mark.parametrize("name", models.names())
def test_architecture_diagram_draws_every_layer_once_and_finds_the_skips(name):
    import matplotlib.pyplot as plt

    model = models.build(name, **({"weights": None} if name == "vgg_transformer" else {}))
    fig = plot.architecture(model)
    diagrams = drawn(fig)
    assert len(diagrams) == len(networks(model))
    for (boxes, skips, params), network, expected_skips in zip(diagrams, networks(model), SKIPS.get(name, [0, 0])):
        assert len(boxes) >= 2
        assert sum(params) == network.count_params()  # every layer with weights is in one box
        assert len(skips) == expected_skips
    plt.close(fig)


def test_architecture_boxes_sit_one_row_lower_per_halving_of_the_size():
    import matplotlib.pyplot as plt

    fig = plot.architecture(models.build("unet", input_shape=(64, 64, 1)))
    ax = fig.axes[0]
    shapes = {t.get_text(): t.get_position()[1] for t in ax.texts if t.get_gid() == "shape"}
    assert set(shapes) == {"64×64×8", "32×32×16", "16×16×32", "64×64×2"}
    centres = sorted({round(p.get_y() + p.get_height() / 2, 3) for p in ax.patches if p.get_gid() == "block"})
    assert len(centres) == 3 and np.isclose(*np.diff(centres))  # full, 1/2 and 1/4 size, equally spaced
    assert shapes["64×64×8"] > shapes["32×32×16"] > shapes["16×16×32"]  # smaller ones lower
    plt.close(fig)
