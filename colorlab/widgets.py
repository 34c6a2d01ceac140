"""Interactive tools for the lessons, built from core ipywidgets only, so they work in
JupyterLab 4, Notebook 7 and Colab (ipywidgets 7.7 and 8). Each is a widget box: display it by
leaving it as a cell's last line. Its logic lives in plain methods that tests call directly.
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np

from . import color


def _css(rgb) -> str:
    r, g, b = (int(round(255 * float(v))) for v in rgb)
    return f"rgb({r}, {g}, {b})"


def _swatch(rgb, caption: str) -> str:
    return (
        '<div style="display:inline-block; margin:0 12px 0 0; text-align:center; font-size:12px">'
        f'<div style="width:110px; height:70px; border:1px solid #888; background:{_css(rgb)}"></div>'
        f"{html.escape(caption)}</div>"
    )


class LabExplorer(widgets.VBox):
    """"They look the same, but are they?" (seed 000). Pick a colour with L*, a*, b* sliders; see
    it beside its mirror colour (-a*, -b*), and both as a greyscale camera records them: the
    same grey. That grey is all a colorization model is given.

    Introduced in lesson 01.
    """

    def __init__(self, L: float = 60.0, a: float = 40.0, b: float = 0.0):
        slider = dict(continuous_update=True, style={"description_width": "30px"})
        self.L = widgets.FloatSlider(value=L, min=5, max=95, step=1, description="L*", **slider)
        self.a = widgets.FloatSlider(value=a, min=-80, max=80, step=1, description="a*", **slider)
        self.b = widgets.FloatSlider(value=b, min=-80, max=80, step=1, description="b*", **slider)
        self.view = widgets.HTML()
        for control in (self.L, self.a, self.b):
            control.observe(self.update, names="value")
        super().__init__([widgets.HBox([self.L, self.a, self.b]), self.view])
        self.update()

    def __repr__(self):  # what a notebook shows where no widget can be drawn (GitHub, nbconvert)
        return "LabExplorer: L*, a*, b* sliders (open the notebook in Jupyter or Colab to use them)"

    def colours(self) -> dict:
        """RGB of the colour, its mirror and their greys, and whether each colour fits in sRGB."""
        L, a, b = self.L.value, self.a.value, self.b.value
        lab = np.array([[L, a, b], [L, -a, -b]])
        rgb = color.lab_to_rgb(lab)  # clipped to what a screen can show
        shown = color.rgb_to_lab(rgb)
        greys = color.lab_to_rgb(shown * [1.0, 0.0, 0.0])  # keep L*, drop a* and b*
        in_gamut = np.abs(shown - lab).max(axis=-1) < 1.0
        return {"colour": rgb[0], "mirror": rgb[1], "greys": greys, "in_gamut": in_gamut}

    def update(self, change=None):
        """Redraw the swatches for the sliders' current values."""
        c = self.colours()
        L, a, b = self.L.value, self.a.value, self.b.value
        note = "" if c["in_gamut"].all() else (
            '<p style="color:#b00">One of these colours is outside what a screen (sRGB) can show: '
            "it is drawn clipped, so its grey differs.</p>")
        self.view.value = (
            _swatch(c["colour"], f"L*={L:g} a*={a:g} b*={b:g}")
            + _swatch(c["mirror"], f"L*={L:g} a*={-a:g} b*={-b:g}")
            + _swatch(c["greys"][0], "grey of the first")
            + _swatch(c["greys"][1], "grey of the second")
            + f"<p>Chroma {np.hypot(a, b):.0f}, lightness {L:g}: "
            + ("both colours become the same grey.</p>" if c["in_gamut"].all() else "</p>")
            + note
        )
