"""How good is a colorization? Error measures on CIELAB a*b*, always reported next to the
grayscale baseline (``color.to_grey``: predict no colour at all). Introduced in lesson 03;
lesson 12 adds the rest (PSNR, SSIM, CIEDE2000, colourfulness ratio).
"""

from __future__ import annotations

import numpy as np

from . import color


def ab_mae(predicted_rgb, true_rgb, mask=None) -> float:
    """Mean absolute a*b* error in CIELAB units (mean over a* and b*, then over pixels), over
    the pixels where ``mask`` (..., H, W) is True, or all."""
    error = np.abs(color.rgb_to_lab(predicted_rgb)[..., 1:] - color.rgb_to_lab(true_rgb)[..., 1:]).mean(-1)
    if mask is None:
        return float(error.mean())
    mask = np.broadcast_to(mask, error.shape)
    if not mask.any():
        raise ValueError("ab_mae: the mask selects no pixel")
    return float(error[mask].mean())


def lightness_mae(predicted_rgb, true_rgb, mask=None) -> float:
    """Mean absolute L* error in CIELAB units: how well a model that outputs RGB reproduces the
    lightness it was given."""
    error = np.abs(color.rgb_to_lab(predicted_rgb)[..., 0] - color.rgb_to_lab(true_rgb)[..., 0])
    return float(error.mean() if mask is None else error[np.broadcast_to(mask, error.shape)].mean())
