"""The figures the lessons show. Each returns its matplotlib Figure; lessons display it."""

from __future__ import annotations

import io

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from . import color, compat
from .inference import colorize

#: Figures are stored in the lesson notebooks: a modest resolution keeps them small to read on GitHub.
DPI = 72


def image_rows(rows: dict, n: int | None = None, size: float = 1.4, title: str | None = None):
    """One row of images per entry of ``rows`` (label -> images (N, H, W, 3) or grey (N, H, W)),
    the label written down the left: "input / prediction / truth" comparisons.

    Introduced in lesson 00.
    """
    rows = {label: np.asarray(images) for label, images in rows.items()}
    n = min(len(images) for images in rows.values()) if n is None else n
    fig, axes = plt.subplots(len(rows), n, figsize=(size * n, size * len(rows)), squeeze=False, dpi=DPI)
    for axes_row, (label, images) in zip(axes, rows.items()):
        for ax, image in zip(axes_row, images[:n]):
            if image.ndim == 3 and image.shape[-1] == 1:
                image = image[..., 0]
            ax.imshow(image.clip(0, 1), cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=1,
                      interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
        axes_row[0].set_ylabel(label, fontsize=10)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def photos(pictures: dict, size: float = 3.2):
    """Photographs side by side, titled by their keys (label -> RGB, or grey (H, W)); unlike
    ``image_rows`` they keep their own shapes. Introduced in lesson 00."""
    fig, axes = plt.subplots(1, len(pictures), figsize=(size * len(pictures), size * 0.75), squeeze=False, dpi=DPI)
    for ax, (title, picture) in zip(axes[0], pictures.items()):
        ax.imshow(np.clip(picture, 0, 1), cmap="gray" if np.ndim(picture) == 2 else None, vmin=0, vmax=1,
                  interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.set_axis_off()
    fig.tight_layout()
    return fig


def channels(rgb: np.ndarray, size: float = 2.2):
    """An image split two ways: its R, G, B channels, and its L*, a*, b* channels, with the colour
    of a*b* shown on its own at a constant lightness.

    Introduced in lesson 01.
    """
    lab = color.rgb_to_lab(rgb)
    fig, axes = plt.subplots(2, 4, figsize=(4 * size, 2 * size), dpi=DPI)
    axes[0, 0].imshow(rgb)
    axes[0, 0].set_title("RGB image")
    for i, (name, cmap) in enumerate([("R", "Reds"), ("G", "Greens"), ("B", "Blues")]):
        axes[0, i + 1].imshow(rgb[..., i], cmap=cmap, vmin=0, vmax=1)
        axes[0, i + 1].set_title(f"{name} channel")
    axes[1, 0].imshow(lab[..., 0], cmap="gray", vmin=0, vmax=100)
    axes[1, 0].set_title("L* (the model's input)")
    for i, (name, cmap) in enumerate([("a* (green-red)", "PiYG_r"), ("b* (blue-yellow)", "cividis")]):
        axes[1, i + 1].imshow(lab[..., i + 1], cmap=cmap, vmin=-60, vmax=60)
        axes[1, i + 1].set_title(name)
    flat = np.concatenate([np.full_like(lab[..., :1], 70.0), lab[..., 1:]], axis=-1)
    axes[1, 3].imshow(color.lab_to_rgb(flat))
    axes[1, 3].set_title("a*b* alone (L* set to 70)")
    for ax in axes.ravel():
        ax.axis("off")
    fig.tight_layout()
    return fig


def ab_plane(lightness: float = 60.0, extent: float = 110.0, resolution: int = 201, ax=None):
    """The a*b* plane at one lightness, colours outside the sRGB gamut left white: every colour
    here turns into the same grey.

    Introduced in lesson 01.
    """
    ab = np.linspace(-extent, extent, resolution)
    a, b = np.meshgrid(ab, -ab)  # b* grows upwards
    lab = np.stack([np.full_like(a, lightness), a, b], axis=-1)
    rgb = color.lab_to_rgb(lab)
    in_gamut = np.abs(color.rgb_to_lab(rgb) - lab).max(axis=-1) < 1.0
    rgb[~in_gamut] = 1.0
    if ax is None:
        _, ax = plt.subplots(figsize=(3.2, 3.2), dpi=DPI)
    ax.imshow(rgb, extent=(-extent, extent, -extent, extent))
    ax.axhline(0, color="k", lw=0.5)
    ax.axvline(0, color="k", lw=0.5)
    ax.set_xlabel("a*  (green  <->  red)")
    ax.set_ylabel("b*  (blue  <->  yellow)")
    ax.set_title(f"L* = {lightness:g}")
    return ax.figure


def history(history: dict, title: str = "training", ax=None, baseline: float | None = None):
    """Loss curves from a Keras ``History.history`` dict or ``train.fit``'s result: every key
    ending in "loss", training solid and validation dashed; ``baseline`` (the loss of predicting
    grey, ``callbacks.gray_baseline_loss``) as a dotted line to get under.

    Introduced in lesson 00.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 3), dpi=DPI)
    for key, values in history.items():
        if not key.endswith("loss"):
            continue
        ax.plot(np.arange(1, len(values) + 1), values, marker="o", ms=3,
                ls="--" if key.startswith("val_") else "-", label=key)
    if baseline is not None:
        ax.axhline(baseline, color="0.45", ls=":", lw=1.5, label="predict grey (val)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    return ax.figure


def ab_scatter(sets: dict, n_pixels: int = 4000, seed: int = 0, size: float = 3.2):
    """For each named set of RGB images, a scatter of its pixels on the a*b* plane (drawn in their
    own colours) with the set's mean a*b* marked: the colour a model that averages would paint.

    Introduced in lesson 02.
    """
    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(1, len(sets), figsize=(size * len(sets), size), squeeze=False, dpi=DPI)
    for ax, (name, images) in zip(axes[0], sets.items()):
        pixels = np.asarray(images, np.float32).reshape(-1, 3)
        pixels = pixels[rng.choice(len(pixels), size=min(n_pixels, len(pixels)), replace=False)]
        lab = color.rgb_to_lab(pixels)
        ax.scatter(lab[:, 1], lab[:, 2], c=pixels, s=4, alpha=0.6, linewidths=0)
        mean = lab[:, 1:].mean(axis=0)
        ax.scatter(*mean, marker="X", s=140, c="k")
        ax.set_title(f"{name}\nmean chroma {color.chroma(lab).mean():.0f}, chroma of mean {np.hypot(*mean):.0f}",
                     fontsize=10)
        ax.set_xlim(-80, 80)
        ax.set_ylim(-80, 80)
        ax.axhline(0, color="grey", lw=0.5)
        ax.axvline(0, color="grey", lw=0.5)
        ax.set_xlabel("a*")
        ax.set_ylabel("b*")
    fig.tight_layout()
    return fig


# ---- Architecture diagrams ------------------------------------------------------------------

#: Box colours of ``architecture``'s blocks, by what the block does, and their legend.
BLOCK_COLORS = {"input": "#ffffff", "down": "#cfe2f3", "same": "#eeeeee", "up": "#fde5c8",
                "pretrained": "#e4d7f5", "head": "#d9ead3"}
BLOCK_LEGEND = {"down": "smaller", "same": "same size", "up": "larger", "pretrained": "pretrained", "head": "output"}


def architecture(model, title: str | None = None):
    """A diagram of ``model`` drawn from its layer graph: one box per block (a run of layers at one
    resolution, with its output shape and what it is made of), lower boxes at lower resolution,
    arrows for the flow and dashed arcs for skip connections. A GAN (with ``generator`` and
    ``discriminator``) gets one diagram per network.

    Introduced in lesson 03.
    """
    from matplotlib.patches import Patch

    networks = [model.generator, model.discriminator] if hasattr(model, "discriminator") else [model]
    analysed = [_blocks(net) for net in networks]
    extents = [_extent(blocks) for blocks in analysed]
    width, height = max(w for w, _ in extents), sum(h for _, h in extents) + (0.4 if title else 0)
    fig = plt.figure(figsize=(width, height), dpi=DPI)
    bottom = height - (0.4 if title else 0)
    for net, blocks, (_, h) in zip(networks, analysed, extents):
        bottom -= h
        ax = fig.add_axes((0, bottom / height, 1, h / height))  # one data unit is one inch
        _draw_blocks(ax, blocks, width, h)
        ax.text(0.1, ax.get_ylim()[1] - 0.1, f"{net.name}: {net.count_params():,} parameters", fontsize=10,
                va="top")
        kinds = [kind for kind in BLOCK_LEGEND if any(block.kind == kind for block in blocks)]
        ax.legend(handles=[Patch(fc=BLOCK_COLORS[kind], ec="#555555", label=BLOCK_LEGEND[kind]) for kind in kinds],
                  loc="upper right", ncol=len(kinds), fontsize=8, frameon=False)
    if title:
        fig.suptitle(title, y=1 - 0.1 / height, va="top")
    return fig


class PNGFigure(Figure):
    """A matplotlib figure made without pyplot, which a notebook shows as a PNG."""

    def png(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png")
        return buffer.getvalue()

    _repr_png_ = png  # how IPython shows an object as a picture (pyplot's figures get a formatter instead)


def progress_figure(model, losses: dict, images: np.ndarray, baseline: float | None = None):
    """Loss curves (``losses``: per-epoch values by name, as in ``history``) and the ``baseline``
    loss of predicting grey, if given, beside grey input, prediction and truth for ``images``.
    Drawn outside pyplot, whose list of open figures every thread shares with the notebook's own
    cells, so it can be drawn in any thread; a notebook shows it as a PNG, like pyplot's figures.
    ``callbacks.LiveView`` draws it after each epoch."""
    n = len(images)
    figure = PNGFigure(figsize=(4 + 1.3 * n, 3.9), dpi=DPI)
    grid = figure.add_gridspec(3, n + 3)
    history(losses, title=f"{model.name}: loss", ax=figure.add_subplot(grid[:, :3]), baseline=baseline)
    rows = {"grey": color.encode_input(images), "model": colorize(model, images), "truth": images}
    for r, (label, pictures) in enumerate(rows.items()):
        for i, picture in enumerate(pictures):
            ax = figure.add_subplot(grid[r, 3 + i])
            ax.imshow(np.squeeze(picture), cmap="gray" if label == "grey" else None, vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_ylabel(label)
    figure.tight_layout()
    return figure


class _Block:
    """A run of layers drawn as one box."""

    def __init__(self, kind, level):
        self.kind, self.level, self.layers, self.sources = kind, level, [], []

    @property
    def params(self):
        return sum(layer.count_params() for layer in self.layers)


def _inbound(layer, inside):
    """The layers of the model (``inside``) whose outputs ``layer`` takes, in order, once each."""
    return list(dict.fromkeys(source for source in compat.inbound_layers(layer) if id(source) in inside))


def _size_factor(layer) -> float:
    """How much ``layer`` shrinks the image (2: to half size, 0.5: to twice the size)."""
    name = type(layer).__name__
    if hasattr(layer, "layers"):  # a model used as a layer: its layers' factors together
        return float(np.prod([_size_factor(inner) for inner in layer.layers]))
    if name in ("Conv2D", "MaxPooling2D", "AveragePooling2D"):
        return float(layer.strides[0])
    if name == "Conv2DTranspose":
        return 1.0 / layer.strides[0]
    if name == "UpSampling2D":
        return 1.0 / layer.size[0]
    return 1.0


def _blocks(model) -> list:
    """``model``'s layers grouped into blocks, each with its resolution level (0: the input's size,
    1: half of it, ...) and the blocks it takes inputs from."""
    layers_ = model.layers
    inside = {id(layer) for layer in layers_}
    height = model.inputs[0].shape[1]
    last_weighted = max(i for i, layer in enumerate(layers_) if layer.weights)
    level_of, block_of, blocks = {}, {}, []
    for i, layer in enumerate(layers_):
        sources = _inbound(layer, inside)
        shape = layer.output.shape
        if not sources:
            level = 0.0
        elif len(shape) == 4 and height and shape[1]:
            level = float(np.log2(height / shape[1]))
        else:
            level = level_of[id(sources[0])] + float(np.log2(_size_factor(layer)))
        level_of[id(layer)] = level
        previous = blocks[-1] if blocks else None
        nested = hasattr(layer, "layers")
        continues = (previous is not None and previous.kind not in ("input", "pretrained") and not nested
                     and i != last_weighted and level == previous.level and layers_[i - 1] in sources)
        if not continues:
            kind = ("input" if not sources else "pretrained" if nested else "head" if i >= last_weighted
                    else "down" if previous is not None and level > previous.level
                    else "up" if previous is not None and level < previous.level else "same")
            blocks.append(_Block(kind, level))
        block = blocks[-1]
        block.layers.append(layer)
        block_of[id(layer)] = block
        block.sources += [block_of[id(s)] for s in sources if block_of[id(s)] is not block
                          and block_of[id(s)] not in block.sources]
    return blocks


_ACTIVATIONS = {"relu": "ReLU", "leaky_relu": "LeakyReLU", "tanh": "tanh", "sigmoid": "sigmoid",
                "softmax": "softmax"}


def _layer_text(layer) -> tuple[str, bool]:
    """A short description of ``layer``, and whether it starts a new line (False: it follows the
    layer before, like a normalisation or an activation)."""
    name = type(layer).__name__
    activation = getattr(getattr(layer, "activation", None), "__name__", "linear")
    act = f" · {_ACTIVATIONS.get(activation, activation)}" if activation != "linear" else ""
    if name == "Conv2D":
        k = layer.kernel_size[0]
        stride = f" /{layer.strides[0]}" if layer.strides[0] > 1 else ""
        return f"{k}x{k} conv {layer.filters}{stride}{act}", True
    if name == "Conv2DTranspose":
        k = layer.kernel_size[0]
        return f"{k}x{k} conv-transpose {layer.filters}{act}", True
    if name == "Dense":
        return f"dense {layer.units}{act}", True
    followers = {"BatchNormalization": "BN", "LayerNormalization": "LN", "ReLU": "ReLU", "LeakyReLU": "LeakyReLU",
                 "Dropout": "dropout"}
    if name in followers:
        return followers[name], True if name == "LayerNormalization" else False
    if name == "Activation":
        return _ACTIVATIONS.get(activation, activation), False
    if hasattr(layer, "layers"):
        return layer.name + ("" if layer.trainable else " (frozen)"), True
    texts = {"MaxPooling2D": "2x2 max-pool", "UpSampling2D": "upsample x2", "Concatenate": "concatenate",
             "Add": "+ residual", "Reshape": "reshape", "CenterCrop": "centre crop",
             "MultiHeadAttention": "attention, " + _plural(getattr(layer, "num_heads", 1), "head"),
             "PaletteSoftmax": f"softmax over {len(getattr(layer, 'centers', []))} colours",
             "InputLayer": layer.name}
    return texts.get(name, name), True


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _block_lines(block) -> list[str]:
    """The block's layers as lines of text, repeated lines folded into "× n". Normalisation,
    activation and a residual's addition follow the layer before on its line; a layer norm
    leads the layer after it."""
    lines = []
    for layer in block.layers:
        text, new_line = _layer_text(layer)
        if type(layer).__name__ == "Add" and lines and len(_inbound(layer, {id(inner) for inner in block.layers})) == 2:
            new_line = False  # a residual: both inputs in this block
        if lines and lines[-1] == "LN":
            new_line = False
        if new_line or not lines:
            lines.append(text)
        else:
            lines[-1] += f" · {text}"
    folded = []
    for line in lines:
        if folded and folded[-1][0] == line:
            folded[-1][1] += 1
        else:
            folded.append([line, 1])
    return [line if n == 1 else f"{line}  ×{n}" for line, n in folded]


def _shape_text(block) -> str:
    shape = block.layers[-1].output.shape[1:]
    if len(shape) == 3 and shape[0]:
        return f"{shape[0]}×{shape[1]}×{shape[2]}"
    if len(shape) == 3:
        size = "full size" if block.level == 0 else f"1/{2 ** block.level:g} size" if block.level > 0 \
            else f"{2 ** -block.level:g}x size"
        return f"{size} · {shape[2]} ch"
    return f"{shape[0]} positions × {shape[1]}" if len(shape) == 2 else str(tuple(shape))


_LINE = 0.19  # inches per line of text in a box
_CHAR = 0.076  # inches per character of the boxes' text, about
_GAP = 0.3  # inches between columns


def _box_width(block) -> float:
    if block.kind == "input":
        return _CHAR * max(len(block.layers[0].name), len(_shape_text(block)))
    return max(1.2, _CHAR * max(len(line) for line in [*_block_lines(block), _shape_text(block)]) + 0.2)


def _box_height(block) -> float:
    return _LINE * (len(_block_lines(block)) + 2) + 0.15


def _row_height(blocks) -> float:
    return max(_box_height(b) for b in blocks) + 0.35


def _extent(blocks) -> tuple[float, float]:
    """The width and height, in inches, that ``_draw_blocks`` needs for ``blocks``."""
    width = _columns(blocks)[-1] + _box_width(blocks[-1]) / 2 + 0.2
    levels = {block.level for block in blocks}
    return width, (max(levels) - min(levels) + 1) * _row_height(blocks) + 0.6


def _columns(blocks) -> list[float]:
    """Each block's x, in inches: inputs (right-aligned) in the first column, then one column per
    block, overlapping the one before where the two sit on different rows."""
    inputs = [b for b in blocks if b.kind == "input"]
    xs, cursor, previous = [], max(map(_box_width, inputs)) + _GAP, None
    for block in blocks:
        if block.kind == "input":
            xs.append(max(map(_box_width, inputs)))
            continue
        w = _box_width(block)
        if previous is not None:
            overlap = 0.45 * min(w, _box_width(previous)) if previous.level != block.level else 0.0
            cursor += _box_width(previous) + _GAP - overlap
        xs.append(cursor + w / 2)
        previous = block
    return xs


def _draw_blocks(ax, blocks, width, height):
    """Draw ``blocks`` on ``ax`` in data units of inches: inputs as labels in the first column,
    each other block a box in its own column, one row per resolution level."""
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    row = _row_height(blocks)
    top = min(b.level for b in blocks)
    inputs = [b for b in blocks if b.kind == "input"]
    centre = {}
    for block, x in zip(blocks, _columns(blocks)):
        if block.kind == "input":  # stacked, right-aligned against the first block
            centre[id(block)] = (x, (top - block.level) * row - inputs.index(block) * 0.5)
        else:
            centre[id(block)] = (x, -(block.level - top) * row)
    for block in blocks:
        x, y = centre[id(block)]
        if block.kind == "input":
            ax.text(x - 0.05, y, f"{block.layers[0].name}\n{_shape_text(block)}", ha="right", va="center", fontsize=9)
            continue
        w, h = _box_width(block), _box_height(block)
        ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0,rounding_size=0.08",
                                    fc=BLOCK_COLORS[block.kind], ec="#555555", lw=0.8, gid="block"))
        ax.text(x, y + h / 2 - 0.07, _shape_text(block), ha="center", va="top", fontsize=9.5, fontweight="bold",
                gid="shape")
        ax.text(x, y + 0.02, "\n".join(_block_lines(block)), ha="center", va="center", fontsize=8.5, linespacing=1.2)
        if block.params:
            ax.text(x, y - h / 2 + 0.05, f"{block.params:,} parameters", ha="center", va="bottom", fontsize=7.5,
                    color="#555555", gid="params")
    for index, block in enumerate(blocks):
        tx, ty = centre[id(block)]
        for source in block.sources:
            sx, sy = centre[id(source)]
            if source.kind == "input" or (blocks.index(source) == index - 1 and source.level == block.level):
                start = (sx, sy) if source.kind == "input" else (sx + _box_width(source) / 2, sy)
                arrow = FancyArrowPatch(start, (tx - _box_width(block) / 2, ty), arrowstyle="-|>", mutation_scale=10,
                                        color="#333333", lw=1, gid="flow")
            elif blocks.index(source) == index - 1:  # down or up a row: from one box's edge to the other's
                down = source.level < block.level
                sh, th = _box_height(source) / 2, _box_height(block) / 2
                arrow = FancyArrowPatch((sx + _box_width(source) / 4, sy - sh if down else sy + sh),
                                        (tx - _box_width(block) / 4, ty + th if down else ty - th), arrowstyle="-|>",
                                        mutation_scale=10, color="#333333", lw=1, gid="flow")
            else:  # a skip connection: over the blocks in between
                start, end = (sx + 0.3, sy + _box_height(source) / 2), (tx - 0.3, ty + _box_height(block) / 2)
                rad = -min(0.3, 0.9 / np.hypot(end[0] - start[0], end[1] - start[1]))
                arrow = FancyArrowPatch(start, end, arrowstyle="-|>", connectionstyle=f"arc3,rad={rad}",
                                        mutation_scale=10, color="#c0392b", lw=1.3, ls="--", gid="skip")
            ax.add_patch(arrow)
    ys = [y for _, y in centre.values()]
    ax.set_xlim(0, width)
    ax.set_ylim(min(ys) - row / 2, min(ys) - row / 2 + height)
    ax.axis("off")
