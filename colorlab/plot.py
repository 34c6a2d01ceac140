"""The figures the lessons show. Each returns its matplotlib Figure; lessons display it."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from . import color


def image_rows(rows: dict, n: int | None = None, size: float = 1.5, title: str | None = None):
    """One row of images per entry of ``rows`` (label -> images (N, H, W, 3) or grey (N, H, W)),
    the label written down the left: "input / prediction / truth" comparisons.

    Introduced in lesson 00.
    """
    rows = {label: np.asarray(images) for label, images in rows.items()}
    n = min(len(images) for images in rows.values()) if n is None else n
    fig, axes = plt.subplots(len(rows), n, figsize=(size * n, size * len(rows)), squeeze=False)
    for axes_row, (label, images) in zip(axes, rows.items()):
        for ax, image in zip(axes_row, images[:n]):
            grey = image.ndim == 2 or image.shape[-1] == 1
            ax.imshow(np.squeeze(image).clip(0, 1), cmap="gray" if grey else None, vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes_row[0].set_ylabel(label, fontsize=10)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def channels(rgb: np.ndarray, size: float = 2.2):
    """An image split two ways: its R, G, B channels, and its L*, a*, b* channels.

    Introduced in lesson 01.
    """
    lab = color.rgb_to_lab(rgb)
    fig, axes = plt.subplots(2, 4, figsize=(4 * size, 2 * size))
    axes[0, 0].imshow(rgb)
    axes[0, 0].set_title("RGB image")
    for i, (name, cmap) in enumerate([("R", "Reds"), ("G", "Greens"), ("B", "Blues")]):
        axes[0, i + 1].imshow(rgb[..., i], cmap=cmap, vmin=0, vmax=1)
        axes[0, i + 1].set_title(f"{name} channel")
    axes[1, 0].imshow(color.lab_to_rgb(np.concatenate([lab[..., :1], np.zeros_like(lab[..., 1:])], -1)))
    axes[1, 0].set_title("L* alone (the model's input)")
    axes[1, 1].imshow(lab[..., 0], cmap="gray", vmin=0, vmax=100)
    axes[1, 1].set_title("L* channel")
    for i, (name, cmap) in enumerate([("a* (green-red)", "PiYG_r"), ("b* (blue-yellow)", "cividis")]):
        axes[1, i + 2].imshow(lab[..., i + 1], cmap=cmap, vmin=-80, vmax=80)
        axes[1, i + 2].set_title(name)
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
        _, ax = plt.subplots(figsize=(3.2, 3.2))
    ax.imshow(rgb, extent=(-extent, extent, -extent, extent))
    ax.axhline(0, color="k", lw=0.5)
    ax.axvline(0, color="k", lw=0.5)
    ax.set_xlabel("a*  (green  <->  red)")
    ax.set_ylabel("b*  (blue  <->  yellow)")
    ax.set_title(f"L* = {lightness:g}")
    return ax.figure


def history(history: dict, title: str = "training", ax=None):
    """Loss curves from a Keras ``History.history`` dict (every key, train and validation).

    Introduced in lesson 00.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 3))
    for key, values in history.items():
        ax.plot(np.arange(1, len(values) + 1), values, marker="o", ms=3,
                ls="--" if key.startswith("val_") else "-", label=key)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    return ax.figure
