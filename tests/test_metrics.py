import numpy as np
import pytest
from skimage.color import rgb2lab

from colorlab import color, data, metrics

SCENES = data.toyworld(8, size=32, seed=4)


def test_to_grey_keeps_lightness_and_drops_colour():
    grey = color.to_grey(SCENES.images)
    lab = rgb2lab(grey)
    np.testing.assert_allclose(lab[..., 0], rgb2lab(SCENES.images)[..., 0], atol=0.01)
    assert np.abs(lab[..., 1:]).max() < 0.01


def test_ab_mae_is_zero_for_truth_and_the_mean_chroma_offset_for_grey():
    assert metrics.ab_mae(SCENES.images, SCENES.images) == pytest.approx(0.0, abs=1e-4)
    ab = rgb2lab(SCENES.images)[..., 1:]
    expected = np.abs(ab).mean(-1)[SCENES.ambiguous].mean()
    assert metrics.ab_mae(color.to_grey(SCENES.images), SCENES.images, SCENES.ambiguous) == pytest.approx(expected, abs=0.01)
    assert expected == pytest.approx(20.0, abs=0.1)  # diamonds: |a*| = 40, b* = 0
    with pytest.raises(ValueError, match="selects no pixel"):
        metrics.ab_mae(SCENES.images, SCENES.images, np.zeros(SCENES.ambiguous.shape, bool))


def test_lightness_mae():
    darker = np.clip(SCENES.images * 0.8, 0, 1)
    assert metrics.lightness_mae(SCENES.images, SCENES.images) == pytest.approx(0.0, abs=1e-4)
    assert metrics.lightness_mae(darker, SCENES.images) > 3
