"""Interactive tools for the lessons, built from core ipywidgets only, so they work in
JupyterLab 4, Notebook 7 and Colab (ipywidgets 7.7 and 8). Each is a widget box: display it by
leaving it as a cell's last line. Its logic lives in plain methods that tests call directly.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import io
import random
import threading

import ipywidgets as widgets
import keras
import numpy as np

from . import color, data, losses, models
from . import settings as course_settings


def _css(rgb) -> str:
    r, g, b = (int(round(255 * float(v))) for v in rgb)
    return f"rgb({r}, {g}, {b})"


def _swatch(rgb, caption: str) -> str:
    return (
        '<div style="display:inline-block; margin:0 12px 0 0; text-align:center; font-size:12px">'
        f'<div style="width:110px; height:70px; border:1px solid #888; background:{_css(rgb)}"></div>'
        f"{html.escape(caption)}</div>"
    )


class _StaticPicture:
    """A widget whose display also carries a PNG of what it shows (``png()``): Jupyter draws the
    live widget, while a reader without a kernel (GitHub, nbviewer, an exported page) sees the
    picture. ipywidgets 7 displays widgets another way and simply shows the widget."""

    def png(self) -> bytes | None:
        raise NotImplementedError

    def _repr_mimebundle_(self, **kwargs):
        bundle = dict(super()._repr_mimebundle_(**kwargs) or {})
        png = self.png()
        if png:
            bundle["image/png"] = base64.b64encode(png).decode("ascii")
        return bundle


class LabExplorer(_StaticPicture, widgets.VBox):
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

    def colors(self) -> dict:
        """RGB of the colour, its mirror and their greys, and whether each colour fits in sRGB."""
        L, a, b = self.L.value, self.a.value, self.b.value
        lab = np.array([[L, a, b], [L, -a, -b]])
        rgb = color.lab_to_rgb(lab)  # clipped to what a screen can show
        in_gamut = np.abs(color.rgb_to_lab(rgb) - lab).max(axis=-1) < 1.0
        return {"color": rgb[0], "mirror": rgb[1], "grays": color.to_gray(rgb), "in_gamut": in_gamut}

    def png(self) -> bytes:
        """The four swatches as a picture: the colour, its mirror, and their greys."""
        c = self.colors()
        swatches = np.stack([c["color"], c["mirror"], *c["grays"]]).astype(np.float32)
        strip = np.ones((70, 4 * 110 + 3 * 12, 3), np.float32)
        for i, rgb in enumerate(swatches):
            strip[:, i * 122:i * 122 + 110] = rgb
        return _image_bytes(strip, side=70)

    def update(self, change=None):
        """Redraw the swatches for the sliders' current values."""
        c = self.colors()
        L, a, b = self.L.value, self.a.value, self.b.value
        note = "" if c["in_gamut"].all() else (
            '<p style="color:#b00">One of these colours is outside what a screen (sRGB) can show: '
            "it is drawn clipped, so its grey differs.</p>")
        self.view.value = (
            _swatch(c["color"], f"L*={L:g} a*={a:g} b*={b:g}")
            + _swatch(c["mirror"], f"L*={L:g} a*={0 - a:g} b*={0 - b:g}")
            + _swatch(c["grays"][0], "grey of the first")
            + _swatch(c["grays"][1], "grey of the second")
            + f"<p>Chroma {np.hypot(a, b):.0f}, lightness {L:g}: "
            + ("both colours become the same grey.</p>" if c["in_gamut"].all()
               else "the same grey where a screen can show both.</p>")
            + note
        )


#: Training sets the panel offers: name -> function(n, size, seed) returning RGB images; the
#: panel asks for seed 0 (training set) and seed 1 (validation set, other scenes or photos).
PANEL_DATASETS = {
    "toyworld": lambda n, size, seed: data.toyworld(n, size, seed=seed).images,
    "toyworld, three themes": lambda n, size, seed: data.toyworld(
        n, size, seed=seed, themes=("meadow", "beach", "sunset")).images,
    "photos": lambda n, size, seed: _photo_subset(n, size, "train" if seed == 0 else "val"),
}
SUBSET_SIZES = [8, 16, 32, 64, 128, 256, 512, 1024, 2048]
#: The most a TrainPanel run does in FAST mode.
FAST_RUN = {"n_images": 64, "epochs": 1}


def _photo_subset(n, size, split):
    images = data.photos(size, split=split).images
    return images[np.random.default_rng(0).permutation(len(images))[:n]]


@dataclasses.dataclass(frozen=True)
class RunSettings:
    """Everything one ``TrainPanel`` run uses, read from its widgets when Train is pressed."""

    architecture: str
    dataset: str
    n_images: int
    epochs: int
    learning_rate: float
    loss: str
    size: int
    budget_s: float | None


def _built_reproducibly(architecture: str, size: int, seed: int = 0) -> keras.Model:
    """``models.build(architecture)`` with the same starting weights every time, leaving the
    notebook's own random generators as they were. An architecture whose preset fixes its input
    size (the VGG model's 64 x 64) is built for ``size`` x ``size`` pictures instead, so that the
    run trains at the size asked for, not on pictures enlarged to the preset's.

    Keras draws the seed of each unseeded initializer from Python's global ``random``, so it is
    seeded for the build and its earlier state put back after (NumPy's and TensorFlow's global
    generators play no part in building). Call it on the notebook's main thread, as
    ``TrainPanel.train`` does: none of the learner's code runs meanwhile. From a background
    thread, putting the state back would undo whatever the learner's cells drew in between.
    """
    state = random.getstate()
    random.seed(seed)
    fixed = None not in models.input_shape(architecture)[:2]
    try:
        return models.build(architecture, **({"input_shape": (size, size, 1)} if fixed else {}))
    finally:
        random.setstate(state)


class TrainPanel(_StaticPicture, widgets.VBox):
    """Train any architecture on a small subset and watch it learn: pick the model, data, subset
    size, epochs, learning rate and loss; Train runs in a background thread (the notebook stays
    live); curves and predictions on validation images refresh every epoch; Stop ends training
    after the current batch and keeps the model trained so far (``panel.model``). One run at a
    time: Train during a run is refused.

    Thread safety: Train reads the settings (``RunSettings``) and builds the model, with seeded
    starting weights, on the notebook's thread; the background thread only loads the data and
    runs ``train.fit``. Drawing goes through an Image widget (PNG bytes from ``callbacks.LiveView``,
    which never uses pyplot), not an Output widget, so it is safe from a background thread
    under ipykernel 6 and 7.

    Keras's global state is left alone between runs: ``keras.backend.clear_session()`` would
    reset the dtype policy and layer naming of every thread, and clear TensorFlow's kernel
    cache, under a model the learner may be training in their own cell. Nothing a run leaves
    behind needs it: a build adds only layer-name counters to Keras's state, ``train.fit``
    gives back the graphs it traced, and the previous model is freed once neither the panel
    nor the learner holds it. Introduced in lesson 03.
    """

    # The defaults teach in about 15 s on 2 cores: the U-Net's validation loss ends at a quarter
    # of grey's (tests/test_widgets.py); 256 images for 5 epochs at 1e-3 still painted pink skies.
    def __init__(self, architecture="unet", dataset="toyworld", n_images=512, epochs=8,
                 learning_rate=3e-3, loss="l1", size=32, budget_s=120):
        style = {"description_width": "110px"}
        self.architecture = widgets.Dropdown(options=models.names(), value=architecture,
                                             description="architecture", style=style)
        self.dataset = widgets.Dropdown(options=list(PANEL_DATASETS), value=dataset, description="data", style=style)
        self.n_images = widgets.SelectionSlider(options=SUBSET_SIZES, value=n_images,
                                                description="images", style=style)
        self.epochs = widgets.IntSlider(value=epochs, min=1, max=50, description="epochs", style=style)
        self.learning_rate = widgets.FloatLogSlider(value=learning_rate, base=10, min=-4, max=-2, step=0.25,
                                                    description="learning rate", readout_format=".0e", style=style)
        self.loss = widgets.Dropdown(options=list(losses.PIXEL_LOSSES), value=loss, description="loss", style=style)
        self.train_button = widgets.Button(description="Train", button_style="success", icon="play")
        self.stop_button = widgets.Button(description="Stop", button_style="danger", icon="stop", disabled=True)
        self.status = widgets.HTML("Pick a model and press <b>Train</b>.")
        self.picture = widgets.Image(format="png")
        self.size, self.budget_s = size, budget_s
        self.model, self.history, self.thread, self._budget = None, None, None, None
        self._busy = threading.Lock()  # held from Train until the run ends, whichever thread ends it
        self.train_button.on_click(lambda _: self.train())
        self.stop_button.on_click(lambda _: self.stop())
        controls = widgets.VBox([self.architecture, self.dataset, self.n_images, self.epochs,
                                 self.learning_rate, self.loss, widgets.HBox([self.train_button, self.stop_button])])
        super().__init__([controls, self.status, self.picture])

    def __repr__(self):  # shown where no widget can be drawn
        return "TrainPanel: a training panel (open the notebook in Jupyter or Colab to use it)"

    def png(self) -> bytes | None:
        """The last run's figure (curves, predictions), or None before the first run."""
        return self.picture.value or None

    @property
    def training(self) -> bool:
        """Whether a run is going."""
        return self._busy.locked()

    def settings(self) -> RunSettings:
        """The widgets' current values: what Train would use now. In FAST mode (the tests) a run
        is cut to ``FAST_RUN``'s images and epochs, like every other run in the lessons."""
        n_images, epochs = self.n_images.value, self.epochs.value
        if course_settings.FAST:
            n_images, epochs = min(n_images, FAST_RUN["n_images"]), min(epochs, FAST_RUN["epochs"])
        return RunSettings(self.architecture.value, self.dataset.value, n_images, epochs,
                           self.learning_rate.value, self.loss.value, self.size, self.budget_s)

    def train(self, background: bool = True) -> bool:
        """Train with the current settings, in a background thread (or here, for scripts and
        tests). Returns whether a run started: while one is going, Train is refused (press Stop
        first), and the running one carries on."""
        from . import callbacks

        if not self._busy.acquire(blocking=False):
            self.status.value = "Already training: press <b>Stop</b> first, then <b>Train</b> again."
            return False
        settings, budget = self.settings(), callbacks.TimeBudget()
        self._budget, self.history = budget, None
        self.train_button.disabled, self.stop_button.disabled = True, False
        self.status.value = f"Preparing {settings.architecture} on {settings.n_images} images..."
        try:
            self.model = model = _built_reproducibly(settings.architecture, settings.size)
        except Exception as error:
            self._finish(_error_html(error))
            return False
        if background:
            self.thread = threading.Thread(target=self._run, args=(settings, model, budget), daemon=True,
                                           name="colorlab TrainPanel")
            self.thread.start()
        else:
            self._run(settings, model, budget)
        return True

    def stop(self):
        """Ask training to stop after the current batch; the model keeps what it learned."""
        if self.training:
            self._budget.stop()
            self.status.value = "Stopping after this batch..."

    def _run(self, settings: RunSettings, model: keras.Model, budget):
        from . import callbacks, train

        try:
            make = PANEL_DATASETS[settings.dataset]
            images = make(settings.n_images, settings.size, 0)
            validation = make(64, settings.size, 1)
            classifier = models.predicts(model) == "classes"  # classifiers always use cross-entropy
            self.status.value = f"Training {model.name} ({model.count_params():,} parameters)..."
            view = callbacks.LiveView(validation[:4], show=self._show, baseline_images=validation)
            self.history = history = train.fit(
                model, images, validation, epochs=settings.epochs, budget_s=settings.budget_s,
                stopper=budget, learning_rate=settings.learning_rate,
                loss=None if classifier else losses.PIXEL_LOSSES[settings.loss], live=False, verbose=0,
                callbacks=[view])
            done = {"request": "stopped", "budget": f"stopped by the {settings.budget_s} s budget"}.get(
                history["stopped_by"], history["stopped_by"] or "finished")
            gray = "" if view.baseline is None else f" (predicting grey: {view.baseline:.4f})"
            message = (f"{html.escape(done)}: {len(history['loss'])} epochs in {history['total_seconds']:.0f} s, "
                       f"validation loss {history['val_loss'][-1]:.4f}{gray}")
        except Exception as error:  # shown in the panel, which stays usable
            message = _error_html(error)
        self._finish(message)

    def _finish(self, message: str):
        self.status.value = message
        self.train_button.disabled, self.stop_button.disabled = False, True
        self._busy.release()

    def _show(self, png: bytes):
        self.picture.value = png


def _error_html(error: Exception) -> str:
    return f'<span style="color:#b00"><b>{type(error).__name__}</b>: {html.escape(str(error))}</span>'


def _image_bytes(image, side: int = 160, format: str = "PNG") -> bytes:
    """PNG (or, for photographs, ``format="JPEG"``: a fifth of the bytes in a stored notebook) of an
    RGB image in [0, 1], enlarged without smoothing to ``side`` pixels high."""
    from PIL import Image

    picture = Image.fromarray(np.round(255 * np.clip(image, 0, 1)).astype(np.uint8))
    scale = max(1, side // picture.height)
    buffer = io.BytesIO()
    picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST).save(buffer, format=format, quality=85)
    return buffer.getvalue()


class RealOrFake(widgets.VBox):
    """"Which one is real?": the colorization Turing test of Zhang, Isola and Efros (2016). Each
    of ``n`` pairs shows a true colour image and its colorization (``fakes``, same shape) side by
    side, the real one on a random side (seeded); the learner clicks "left is real" or "right is
    real". The fooled rate is the share of pairs in which the fake was picked as real: 50% means
    the two cannot be told apart; Zhang et al.'s best model fooled people 32% of the time.
    ``figure()`` shows the same pairs as a static picture where no widget can be drawn.

    Introduced in lesson 12.
    """

    def __init__(self, truth, fakes, n: int = 10, seed: int = 0, side: int = 160):
        truth, fakes = np.asarray(truth, np.float32), np.asarray(fakes, np.float32)
        if truth.shape != fakes.shape or truth.ndim != 4 or truth.shape[-1] != 3 or not len(truth):
            raise ValueError(f"RealOrFake needs true and fake RGB images of one shape (N, H, W, 3), "
                             f"got {truth.shape} and {fakes.shape}")
        rng = np.random.default_rng(seed)
        self.index = rng.permutation(len(truth))[:n]  # which images, in the order shown
        self.real_left = rng.random(len(self.index)) < 0.5  # where the real one sits, per pair
        self.truth, self.fakes, self.side, self.fooled = truth, fakes, side, []
        self.left, self.right = widgets.Image(format="png"), widgets.Image(format="png")
        self.left_button = widgets.Button(description="left is real", icon="arrow-left")
        self.right_button = widgets.Button(description="right is real", icon="arrow-right")
        self.score_button = widgets.Button(description="score so far")
        self.left_button.on_click(lambda _: self.choose("left"))
        self.right_button.on_click(lambda _: self.choose("right"))
        self.score_button.on_click(lambda _: self._report())
        self.status = widgets.HTML()
        super().__init__([widgets.HBox([self.left, self.right]),
                          widgets.HBox([self.left_button, self.right_button, self.score_button]), self.status])
        self._draw()

    def __repr__(self):  # shown where no widget can be drawn
        return f"RealOrFake: {len(self.index)} pairs to judge (open the notebook in Jupyter or Colab; figure() shows them)"

    def pair(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """The (left, right) images of pair ``i``."""
        real, fake = self.truth[self.index[i]], self.fakes[self.index[i]]
        return (real, fake) if self.real_left[i] else (fake, real)

    def choose(self, side: str):
        """Record that the learner called ``side`` ("left" or "right") real; ignored once all are answered."""
        if side not in ("left", "right"):
            raise ValueError(f"choose: side must be 'left' or 'right', got {side!r}")
        i = len(self.fooled)
        if i < len(self.index):
            self.fooled.append((side == "left") != self.real_left[i])
            self._draw()

    def score(self) -> dict:
        """Pairs answered, times fooled, the fooled rate and its 95% Wilson confidence interval."""
        from scipy import stats

        n, k = len(self.fooled), int(sum(self.fooled))
        if n == 0:
            return {"answered": 0, "fooled": 0, "rate": float("nan"), "low": 0.0, "high": 1.0}
        interval = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
        return {"answered": n, "fooled": k, "rate": k / n, "low": float(interval.low), "high": float(interval.high)}

    def _report(self):
        s = self.score()
        self.status.value = ("No answers yet." if not s["answered"] else
                             f"Fooled on {s['fooled']} of {s['answered']} pairs: fooled rate {s['rate']:.0%} "
                             f"(95% interval {s['low']:.0%} to {s['high']:.0%}). 50% = the fakes pass for real; "
                             "Zhang et al. (2016) reported 32% for their best model.")

    def _draw(self):
        done = len(self.fooled) >= len(self.index)
        self.left_button.disabled = self.right_button.disabled = done
        if done:
            return self._report()
        left, right = self.pair(len(self.fooled))
        self.left.value, self.right.value = _image_bytes(left, self.side), _image_bytes(right, self.side)
        self.status.value = f"Pair {len(self.fooled) + 1} of {len(self.index)}: which one has the real colours?"

    def figure(self, per_row: int = 5):
        """All pairs in one static picture, numbered, in the order and on the sides the widget shows them."""
        import matplotlib.pyplot as plt

        from . import plot

        (h, w), gap = self.truth.shape[1:3], max(2, self.truth.shape[2] // 4)
        rows, cell_h, cell_w = -(-len(self.index) // per_row), h + 2 * gap, 2 * w + 3 * gap
        sheet = np.ones((rows * cell_h, per_row * cell_w, 3), np.float32)
        fig, ax = plt.subplots(figsize=(2.4 * per_row, 1.4 * rows), dpi=plot.DPI)
        for i in range(len(self.index)):
            y, x = (i // per_row) * cell_h + int(1.5 * gap), (i % per_row) * cell_w + gap
            left, right = self.pair(i)
            sheet[y:y + h, x:x + w], sheet[y:y + h, x + w + gap // 2:x + 2 * w + gap // 2] = left, right
            ax.text(x + w + gap / 4, y - 1, f"{i + 1}: left | right", ha="center", va="bottom", fontsize=8)
        ax.imshow(sheet.clip(0, 1), interpolation="nearest")
        ax.set_axis_off()
        fig.tight_layout(pad=0.2)
        return fig


# ----------------------------------------------------------------------------------------------
# Your own photos (lesson 14).

#: What every colourised picture should say about itself.
GUESS_LABEL = "colourised by a model: a guess, not a record"


def uploaded_files(upload) -> list[tuple[str, bytes]]:
    """(name, bytes) of each file in a ``FileUpload`` (or its ``value``), whichever ipywidgets
    made it: version 8 (JupyterLab 4) keeps a tuple of dicts with "name" and "content" (a
    memoryview); version 7 (Colab) a dict of file name -> {"content": bytes, "metadata": {...}}."""
    value = getattr(upload, "value", upload)
    if isinstance(value, dict):
        return [(name, bytes(entry["content"])) for name, entry in value.items()]
    return [(entry["name"], bytes(entry["content"])) for entry in value]


def uploaded_bytes(upload) -> bytes | None:
    """The bytes of the last file uploaded to ``upload`` (see ``uploaded_files``), or None."""
    files = uploaded_files(upload)
    return files[-1][1] if files else None


def labelled_guess(image, text: str = GUESS_LABEL) -> np.ndarray:
    """``image`` (RGB in [0, 1]) with a band beneath it that says ``text``: how to publish a
    colourised photograph without passing a guess off as a record."""
    from PIL import Image, ImageDraw

    picture = Image.fromarray(data.to_uint8(image))
    band = max(14, picture.height // 20)
    sheet = Image.new("RGB", (picture.width, picture.height + band), (255, 255, 255))
    sheet.paste(picture, (0, 0))
    ImageDraw.Draw(sheet).text((4, picture.height + (band - 11) // 2), text, fill=(0, 0, 0))
    return np.asarray(sheet, np.float32) / 255.0


class PhotoColorizer(widgets.VBox):
    """Upload a photo (or pass its bytes, a path or an array to ``show``) and see it colourised
    at full resolution by ``model``: grey input, the model's guess (labelled as one), and, for a
    colour photo, the original with the CIEDE2000 between them. The saturation slider scales
    the guess's a*b* (``color.boost_saturation``): cosmetic, it changes no decision of the model.
    A file that is not a usable image shows ``load_image``'s message instead. Lesson 14."""

    def __init__(self, model: keras.Model, side: int = 256):
        self.model, self.side = model, side
        self.photo = self.guess = None
        self._boosted = (None, None)  # (guess and gain, the guess at that saturation)
        self.upload = widgets.FileUpload(accept="image/*", multiple=False, description="photo")
        self.saturation = widgets.FloatSlider(value=1.0, min=0.0, max=2.5, step=0.1, description="saturation")
        self.picture, self.status = widgets.Image(format="jpeg"), widgets.HTML("Upload a photo (JPEG, PNG, ...).")
        self.upload.observe(lambda _: self._uploaded(), names="value")
        self.saturation.observe(lambda _: self._draw(), names="value")
        super().__init__([widgets.HBox([self.upload, self.saturation]), self.picture, self.status])

    def __repr__(self):  # shown where no widget can be drawn
        return "PhotoColorizer: upload a photo to colourise (open the notebook in Jupyter or Colab; show() takes a path)"

    def _uploaded(self):
        content = uploaded_bytes(self.upload)
        if content is not None:
            self.show(content)

    def show(self, source) -> bool:
        """Colourise ``source``: image bytes, a path, or an RGB array. False (and the reason shown
        in ``status``) when it is not a usable image."""
        from . import inference

        try:
            photo = source if isinstance(source, np.ndarray) else data.load_image(source)
        except (data.ImageError, OSError) as error:
            self.photo = self.guess = None
            self.picture.value, self.status.value = b"", _error_html(error)
            return False
        self.photo, self.guess = photo, inference.colorize(self.model, photo, side=self.side)
        self._draw()
        return True

    def result(self) -> np.ndarray | None:
        """The guess at the slider's saturation (None before a photo is shown)."""
        if self.guess is None:
            return None
        gain = float(self.saturation.value)
        if gain == 1.0:
            return self.guess
        if self._boosted[0] != (id(self.guess), gain):  # kept: drawing and measuring ask for the same one
            self._boosted = ((id(self.guess), gain), np.asarray(color.boost_saturation(self.guess, gain, gain)))
        return self._boosted[1]

    def error(self) -> float | None:
        """CIEDE2000 between the guess and the original, or None for a photo with no colour."""
        if self.guess is None or data.is_gray(self.photo[None])[0]:
            return None
        from . import metrics

        return metrics.ciede2000(self.result(), self.photo)

    def _draw(self):
        if self.guess is None:
            return
        panels = [color.to_gray(self.photo), labelled_guess(self.result())]
        de = self.error()
        if de is not None:
            panels.append(labelled_guess(self.photo, "original"))
        height = max(p.shape[0] for p in panels)
        gap = np.ones((height, 8, 3), np.float32)
        padded = [np.pad(p, ((0, height - p.shape[0]), (0, 0), (0, 0)), constant_values=1.0) for p in panels]
        sheet = np.concatenate([x for p in padded for x in (p, gap)][:-1], axis=1)
        self.picture.value = _image_bytes(sheet, side=0, format="JPEG")
        h, w = self.photo.shape[:2]
        self.status.value = (f"{w} x {h} pixels: grey input, the model's guess"
                             + (f", the original; CIEDE2000 {de:.2f}" if de is not None else
                                " (a photo without colour: no original to compare with)")
                             + f"; saturation x{float(self.saturation.value):.1f}.")


def hint_markers(image: np.ndarray, points, cursor=None, side: int = 320) -> np.ndarray:
    """``image`` enlarged (without smoothing) to about ``side`` pixels on its longer side, with a
    square marker ringed in black and white on each hint point ``(row, col, colour)``, filled
    with what the hint says there: its a*b* at the image's own L*. ``cursor`` (row, col), where
    the next hint would go, gets an empty ring."""
    from .models.hints import hint_ab

    h, w = image.shape[:2]
    scale = max(1, side // max(h, w))
    big = np.repeat(np.repeat(np.clip(image, 0, 1), scale, axis=0), scale, axis=1).astype(np.float32)
    radius = max(3, scale // 2 + 2)

    def square(row, col, r, rgb):
        y, x = int(row) * scale + scale // 2, int(col) * scale + scale // 2
        big[max(0, y - r):y + r + 1, max(0, x - r):x + r + 1] = rgb

    for row, col, hint_color in points:
        L = color.rgb_to_lab(np.asarray(image[int(row), int(col)], np.float32)[None, None])[0, 0, 0]
        fill = color.lab_to_rgb(np.array([[[L, *hint_ab(hint_color)]]], np.float32))[0, 0]
        for r, rgb in ((radius + 1, 0.0), (radius, 1.0), (radius - 1, fill)):
            square(row, col, r, rgb)
    if cursor is not None:
        y, x = int(cursor[0]) * scale + scale // 2, int(cursor[1]) * scale + scale // 2
        inside = big[max(0, y - radius + 1):y + radius, max(0, x - radius + 1):x + radius].copy()
        square(*cursor, radius + 1, 0.0)
        square(*cursor, radius, 1.0)
        big[max(0, y - radius + 1):y + radius, max(0, x - radius + 1):x + radius] = inside
    return big


class HintPicker(widgets.VBox):
    """Colour hints, as in Zhang et al. (2017): pick a point (row and column sliders) and a colour,
    press "Add hint", and the model (one that takes hints, e.g. ``models.build("hint_unet")``)
    colours ``image`` again with every hint given so far. The grey image shows the hints as
    markers (filled with what each hint says: its a*b* at the image's own L*) and an empty ring
    where the next one would go; Undo takes the last hint back, Clear all of them. ``image`` is
    any RGB array (a toyworld scene, a photo, an upload), float in [0, 1] or uint8.
    ``figure()`` shows grey image, hints and results as a static picture where no widget runs.

    Introduced in lesson 15.
    """

    def __init__(self, model, image, hint_color: str = "#e0508c", side: int = 320):
        from .models.hints import takes_hints

        if not takes_hints(model):
            raise ValueError(f"HintPicker needs a model that takes colour hints (e.g. 'hint_unet'); "
                             f"{model.name} does not")
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[-1] != 3:
            raise ValueError(f"HintPicker needs one RGB image (H, W, 3), got shape {image.shape}")
        self.model, self.side, self.points = model, side, []
        self.image = image.astype(np.float32) / 255 if image.dtype == np.uint8 else image.astype(np.float32)
        self.gray = color.to_gray(self.image)
        h, w = self.image.shape[:2]
        self.row = widgets.IntSlider(value=h // 2, min=0, max=h - 1, description="row")
        self.col = widgets.IntSlider(value=w // 2, min=0, max=w - 1, description="column")
        self.hint_color = widgets.ColorPicker(value=hint_color, description="colour")
        self.add_button = widgets.Button(description="Add hint", button_style="success", icon="plus")
        self.undo_button = widgets.Button(description="Undo", icon="undo")
        self.clear_button = widgets.Button(description="Clear", icon="trash")
        self.add_button.on_click(lambda _: self.add())
        self.undo_button.on_click(lambda _: self.undo())
        self.clear_button.on_click(lambda _: self.clear())
        for control in (self.row, self.col):
            control.observe(lambda _: self._draw_gray(), names="value")
        self.gray_view, self.result_view = widgets.Image(format="png"), widgets.Image(format="png")
        self.status = widgets.HTML()
        super().__init__([widgets.HBox([self.gray_view, self.result_view]),
                          widgets.HBox([self.row, self.col, self.hint_color]),
                          widgets.HBox([self.add_button, self.undo_button, self.clear_button]), self.status])
        self.update()

    def __repr__(self):  # shown where no widget can be drawn
        return (f"HintPicker: {len(self.points)} colour hint(s) on a {self.image.shape[0]} x {self.image.shape[1]} "
                "image (open the notebook in Jupyter or Colab to add more; figure() shows the result)")

    def add(self, row: int | None = None, col: int | None = None, hint_color: str | None = None):
        """Add a hint at (``row``, ``col``) of ``hint_color`` ("#rrggbb"); the sliders' and the colour
        picker's values where not given."""
        row = self.row.value if row is None else int(row)
        col = self.col.value if col is None else int(col)
        h, w = self.image.shape[:2]
        if not (0 <= row < h and 0 <= col < w):
            raise ValueError(f"hint at row {row}, column {col} lies outside the {h} x {w} image")
        self.points.append((row, col, self.hint_color.value if hint_color is None else hint_color))
        self.update()

    def undo(self):
        """Take the last hint back (nothing happens when there is none)."""
        if self.points:
            self.points.pop()
            self.update()

    def clear(self):
        """Take every hint back."""
        self.points = []
        self.update()

    def result(self) -> np.ndarray:
        """The image coloured by the model with the current hints, RGB at the image's size."""
        from . import inference

        return inference.colorize(self.model, self.image, hints=list(self.points))

    def update(self):
        """Colour the image again with the current hints and redraw both pictures."""
        self.colored = self.result()
        self.result_view.value = _image_bytes(hint_markers(self.colored, [], side=self.side), side=1)
        self._draw_gray()
        self.undo_button.disabled = self.clear_button.disabled = not self.points
        self.status.value = (f"{len(self.points)} hint(s). " if self.points else "No hints yet: the model's own guess. ") \
            + "Pick a point and a colour, then press <b>Add hint</b>."

    def _draw_gray(self):
        cursor = (self.row.value, self.col.value)
        self.gray_view.value = _image_bytes(hint_markers(self.gray, self.points, cursor, self.side), side=1)

    def figure(self):
        """Grey image with the hints, the model's colours without hints and with them, and the truth."""
        import matplotlib.pyplot as plt

        from . import inference, plot

        panels = {"grey + hints": hint_markers(self.gray, self.points, side=self.side),
                  "no hints": inference.colorize(self.model, self.image),
                  f"{len(self.points)} hint(s)": self.colored, "original": self.image}
        fig, axes = plt.subplots(1, 4, figsize=(10, 2.9), dpi=plot.DPI)
        for ax, (title, picture) in zip(axes, panels.items()):
            ax.imshow(np.clip(picture, 0, 1), interpolation="nearest")
            ax.set_title(title, fontsize=10)
            ax.set_axis_off()
        fig.tight_layout()
        return fig
