"""The figures the lessons show. Each returns its matplotlib Figure; lessons display it."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from . import color


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
    grey, ``train.grey_baseline_loss``) as a dotted line to get under.

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
