import numpy as np
from skimage.color import rgb2lab

from colorlab.widgets import LabExplorer


def test_lab_explorer_shows_two_colours_with_one_grey():
    explorer = LabExplorer(L=60, a=40, b=0)
    c = explorer.colours()
    assert c["in_gamut"].all()
    np.testing.assert_allclose(rgb2lab(c["colour"]), [60, 40, 0], atol=0.5)
    np.testing.assert_allclose(rgb2lab(c["mirror"]), [60, -40, 0], atol=0.5)
    np.testing.assert_allclose(c["greys"][0], c["greys"][1], atol=1e-3)
    assert np.ptp(c["greys"][0]) < 1e-3  # a real grey: R = G = B
    assert "rgb(209, 116, 146)" in explorer.view.value and "same grey" in explorer.view.value


def test_moving_a_slider_redraws():
    explorer = LabExplorer()
    before = explorer.view.value
    explorer.b.value = 30  # the observer fires as it would from the browser
    assert explorer.view.value != before
    np.testing.assert_allclose(rgb2lab(explorer.colours()["colour"]), [60, 40, 30], atol=0.5)


def test_out_of_gamut_colours_are_flagged():
    explorer = LabExplorer(L=90, a=-80, b=-80)
    assert not explorer.colours()["in_gamut"].all()
    assert "outside what a screen" in explorer.view.value
