"""toyworld: procedural scenes whose colour is partly learnable from grey and partly not.

Every scene has a sky (a gradient that brightens towards the horizon), sometimes a sun, textured
ground and up to three objects on top. Two kinds of colour live in it:

* **learnable** - the grey image determines it: the sky, sun and ground of a theme, and objects
  whose colour follows their shape (circles are always orange, squares always purple);
* **ambiguous** - the grey image cannot determine it: diamonds all have the same lightness
  (L* = 60) but each is painted, at random, one of two hues of equal L* that sit opposite each
  other on the ab plane (pink, a* = +40, and teal, a* = -40). Their average is grey.

``Scenes.ambiguous`` marks, per pixel, the visible diamond pixels, so a lesson can measure the
error on learnable pixels and the averaging on ambiguous ones apart (lessons 10-11);
``Scenes.objects`` marks the visible circles and squares, the learnable colour that takes a
model more than sky and ground to get right (lessons 03-07).

Themes change the palette of sky and ground. Mixing themes (``themes=("meadow", "sunset")``)
adds scene-level ambiguity where themes share lightness (a meadow sky and a sunset sky are the
same grey): the heterogeneous-data effect of seed 004. ``ambiguous`` marks only the diamonds.

Introduced in lesson 00; lesson 02 takes it apart.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from skimage.color import lab2rgb

#: Theme -> CIELAB colours of (sky at the top, sky at the horizon, sun, ground).
THEMES = {
    "meadow": ((45, 5, -45), (80, -5, -20), (92, -5, 70), (50, -40, 40)),
    "beach": ((50, 0, -40), (85, -10, -10), (95, -5, 55), (75, 3, 25)),
    "sunset": ((45, 45, 20), (78, 15, 55), (90, 5, 85), (30, 10, 15)),
}
#: Shape -> CIELAB colour, for the objects whose colour the shape decides.
SHAPE_COLORS = {"circle": (70, 30, 65), "square": (35, 45, -50)}
#: The two hues a diamond may take: equal L*, opposite ab, so their mean is grey.
AMBIGUOUS_COLORS = ((60, 40, 0), (60, -40, 0))

_MAX_OBJECTS = 3
_SHAPES = ("circle", "square", "diamond")


class Scenes(NamedTuple):
    """``images``: float32 RGB (n, size, size, 3) in [0, 1]; ``ambiguous`` (diamonds) and
    ``objects`` (circles and squares): bool (n, size, size); ``theme``: each scene's theme."""

    images: np.ndarray
    ambiguous: np.ndarray
    theme: np.ndarray
    objects: np.ndarray


def _rgb(lab_colors) -> np.ndarray:
    return lab2rgb(np.asarray(lab_colors, float)).astype(np.float32)


_THEME_RGB = {name: _rgb(colors) for name, colors in THEMES.items()}
_SHAPE_RGB = _rgb([SHAPE_COLORS["circle"], SHAPE_COLORS["square"]])
_AMBIGUOUS_RGB = _rgb(AMBIGUOUS_COLORS)


def toyworld(n: int, size: int = 64, seed: int = 0, themes=("meadow",)) -> Scenes:
    """``n`` scenes of ``size`` x ``size`` pixels; the same ``seed`` always gives the same scenes.

    Introduced in lesson 00.
    """
    if n < 0 or size < 8:
        raise ValueError(f"toyworld needs n >= 0 and size >= 8, got n={n}, size={size}")
    unknown = set(themes) - set(THEMES)
    if unknown or not themes:
        raise ValueError(f"unknown themes {sorted(unknown)}; choose from {sorted(THEMES)}")
    rng = np.random.default_rng(seed)

    def uniform(low, high):  # one float32 draw per scene
        return rng.uniform(low, high, n).astype(np.float32)

    coords = (np.arange(size, dtype=np.float32) + 0.5) / size
    Y, X = coords[None, :, None], coords[None, None, :]

    theme_index = rng.integers(len(themes), size=n)
    palette = np.stack([_THEME_RGB[t] for t in themes])[theme_index]  # (n, 4, 3)
    sky_top, sky_horizon, sun, ground = (palette[:, i, None, None, :] for i in range(4))

    horizon = uniform(0.4, 0.65)[:, None, None]
    t = np.clip(Y / horizon, 0.0, 1.0)[..., None]
    images = np.broadcast_to(sky_top * (1 - t) + sky_horizon * t, (n, size, size, 3)).copy()

    has_sun = rng.random(n) < 0.7
    sun_x, sun_r = uniform(0.15, 0.85), uniform(0.07, 0.11)
    sun_y = uniform(0.1, 1.0) * (horizon[:, 0, 0] - 0.12) + 0.02
    in_sun = _disc(X, Y, sun_x, sun_y, sun_r) & has_sun[:, None, None]
    np.copyto(images, np.broadcast_to(sun, images.shape), where=in_sun[..., None])

    texture = 1.0 + 0.12 * rng.standard_normal((n, size, size, 1), dtype=np.float32)
    on_ground = np.broadcast_to(Y >= horizon, (n, size, size))
    np.copyto(images, np.clip(ground * texture, 0.0, 1.0), where=on_ground[..., None])
    del texture

    owner = np.full((n, size, size), -1, np.int8)  # index into _SHAPES of the visible object
    for _ in range(_MAX_OBJECTS):
        present = rng.random(n) < 0.8
        shape = rng.integers(len(_SHAPES), size=n)
        cx, cy, r = uniform(0.15, 0.85), uniform(0.35, 0.85), uniform(0.1, 0.17)
        hue = rng.integers(len(AMBIGUOUS_COLORS), size=n)
        dx, dy = X - cx[:, None, None], Y - cy[:, None, None]
        inside = np.where(
            (shape == 0)[:, None, None],
            _disc(X, Y, cx, cy, r),
            np.where(
                (shape == 1)[:, None, None],
                np.maximum(np.abs(dx), np.abs(dy)) < 0.8 * r[:, None, None],
                np.abs(dx) + np.abs(dy) < 1.15 * r[:, None, None],
            ),
        ) & present[:, None, None]
        rgb = np.where((shape == 2)[:, None], _AMBIGUOUS_RGB[hue], _SHAPE_RGB[np.minimum(shape, 1)])
        np.copyto(images, np.broadcast_to(rgb[:, None, None, :], images.shape), where=inside[..., None])
        np.copyto(owner, shape[:, None, None].astype(np.int8), where=inside)

    return Scenes(images, owner == 2, np.asarray(themes)[theme_index], (owner == 0) | (owner == 1))


def _disc(X, Y, cx, cy, r):
    return (X - cx[:, None, None]) ** 2 + (Y - cy[:, None, None]) ** 2 < (r**2)[:, None, None]
