import random
import threading

import numpy as np
import pytest
from skimage.color import rgb2lab

from colorlab.widgets import LabExplorer


def test_lab_explorer_shows_two_colors_with_one_gray():
    explorer = LabExplorer(L=60, a=40, b=0)
    c = explorer.colors()
    assert c["in_gamut"].all()
    np.testing.assert_allclose(rgb2lab(c["color"]), [60, 40, 0], atol=0.5)
    np.testing.assert_allclose(rgb2lab(c["mirror"]), [60, -40, 0], atol=0.5)
    np.testing.assert_allclose(c["grays"][0], c["grays"][1], atol=1e-3)
    assert np.ptp(c["grays"][0]) < 1e-3  # a real grey: R = G = B
    assert "rgb(209, 116, 146)" in explorer.view.value and "same grey" in explorer.view.value
    assert "b*=-0" not in explorer.view.value  # the mirror of b* = 0 is 0, not -0


def test_moving_a_slider_redraws():
    explorer = LabExplorer()
    before = explorer.view.value
    explorer.b.value = 30  # the observer fires as it would from the browser
    assert explorer.view.value != before
    np.testing.assert_allclose(rgb2lab(explorer.colors()["color"]), [60, 40, 30], atol=0.5)


def test_out_of_gamut_colors_are_flagged():
    explorer = LabExplorer(L=90, a=-80, b=-80)
    assert not explorer.colors()["in_gamut"].all()
    assert "outside what a screen" in explorer.view.value
    assert "lightness 90: the same grey where a screen can show both" in explorer.view.value  # no bare colon


@pytest.fixture
def small_panel(monkeypatch):
    """Makes small TrainPanels, run as in a normal (not FAST) session; any still training at the
    end of the test is stopped and joined, so no background run carries on into later tests."""
    from colorlab import settings
    from colorlab.widgets import TrainPanel

    monkeypatch.setattr(settings, "FAST", False)

    panels = []

    def make(**settings):
        panels.append(TrainPanel(**{"n_images": 32, "epochs": 2, "size": 32, **settings}))
        return panels[-1]

    yield make
    for panel in panels:
        panel.stop()
        if panel.thread is not None:
            panel.thread.join(timeout=120)
            assert not panel.thread.is_alive(), "a panel kept training after its test"


def test_train_panel_trains_and_draws_each_epoch(small_panel):
    panel = small_panel()
    panel.architecture.value = "sequential_lab"
    panel.learning_rate.value = 3e-3
    panel.train(background=False)
    assert panel.model.name == "sequential_lab_tiny"
    assert len(panel.history["loss"]) == 2 and panel.history["stopped_by"] is None
    assert panel.picture.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert panel.status.value.startswith("finished: 2 epochs")
    assert "(predicting grey: " in panel.status.value  # the loss to beat, beside the model's
    assert not panel.train_button.disabled and panel.stop_button.disabled


def test_train_panel_stop_keeps_the_model_trained_so_far(small_panel):
    import time

    panel = small_panel()
    panel.epochs.value = 50
    panel.train()  # background thread: the notebook stays live
    assert panel.stop_button.disabled is False
    deadline = time.time() + 60
    while not panel.picture.value and time.time() < deadline:  # wait for the first epoch's figure
        time.sleep(0.2)
    panel.stop()
    panel.thread.join(timeout=60)
    assert panel.history["stopped_by"] == "request" and 1 <= len(panel.history["loss"]) < 50
    assert panel.status.value.startswith("stopped")
    assert panel.model is not None and not panel.train_button.disabled


def test_train_panel_reports_errors_and_stays_usable(monkeypatch, small_panel):
    from colorlab import train

    def fail(*args, **kwargs):
        raise RuntimeError("out of memory <on purpose>")

    monkeypatch.setattr(train, "fit", fail)
    panel = small_panel()
    panel.train(background=False)
    assert "RuntimeError" in panel.status.value and "out of memory &lt;on purpose&gt;" in panel.status.value
    assert not panel.train_button.disabled and panel.stop_button.disabled


def test_train_panel_offers_every_architecture_and_classifiers_train(small_panel):
    from colorlab import models

    panel = small_panel(architecture="palette_classifier")
    assert set(panel.architecture.options) == set(models.names())
    panel.train(background=False)
    assert panel.history["loss"][-1] < panel.history["loss"][0]


def test_the_panel_builds_a_fixed_size_model_at_the_size_it_trains_at():
    """The VGG model's preset is 64 x 64; a 32-pixel panel run trains it on 32-pixel pictures,
    not on pictures enlarged to 64. Models of any input size stay so."""
    from colorlab import models, widgets

    assert models.input_shape("vgg_transformer")[:2] == (64, 64)
    assert widgets._built_reproducibly("vgg_transformer", 32).input_shape == (None, 32, 32, 1)
    assert widgets._built_reproducibly("unet", 32).input_shape == (None, None, None, 1)


def test_train_during_a_run_is_refused_and_stop_still_reaches_the_run(small_panel):
    panel = small_panel(architecture="simple_cnn", epochs=50)
    assert panel.train() is True and panel.training
    running, threads = panel.thread, threading.active_count()
    assert panel.train() is False  # a second call, or a click that got through
    assert panel.thread is running and threading.active_count() == threads  # no second run
    assert panel.status.value.startswith("Already training") and "Stop" in panel.status.value
    panel.stop()
    running.join(timeout=120)
    assert panel.history["stopped_by"] == "request" and len(panel.history["loss"]) < 50
    assert not panel.training and not panel.train_button.disabled
    panel.epochs.value = 1
    assert panel.train(background=False) is True and len(panel.history["loss"]) == 1  # usable again


def test_settings_changed_after_train_do_not_affect_the_run(small_panel, monkeypatch):
    from colorlab import losses, widgets

    release, asked = threading.Event(), []
    toyworld = widgets.PANEL_DATASETS["toyworld"]

    def held_back(n, size, seed):  # the run waits here until the settings below have changed
        asked.append(n)
        release.wait(timeout=60)
        return toyworld(n, size, seed)

    monkeypatch.setitem(widgets.PANEL_DATASETS, "toyworld", held_back)
    panel = small_panel(architecture="simple_cnn", learning_rate=3e-3, loss="l1")
    panel.train()
    panel.architecture.value, panel.dataset.value, panel.n_images.value = "sequential_lab", "photos", 8
    panel.epochs.value, panel.learning_rate.value, panel.loss.value = 1, 1e-4, "l2"
    release.set()
    panel.thread.join(timeout=120)
    assert panel.model.name == "simple_cnn_tiny" and len(panel.history["loss"]) == 2
    assert asked == [32, 64]  # training and validation sets, both from toyworld
    assert float(panel.model.optimizer.learning_rate) == pytest.approx(3e-3)
    assert panel.model.loss is losses.PIXEL_LOSSES["l1"]


def test_a_panel_run_leaves_the_notebooks_random_generators_alone(small_panel):
    panel = small_panel(architecture="simple_cnn")
    random.seed(123)
    np.random.seed(123)
    python_state, numpy_state = random.getstate(), np.random.get_state()
    panel.train()
    panel.thread.join(timeout=120)
    assert panel.status.value.startswith("finished")
    assert random.getstate() == python_state
    assert np.random.get_state()[2] == numpy_state[2]
    np.testing.assert_array_equal(np.random.get_state()[1], numpy_state[1])


def test_panel_runs_are_reproducible(small_panel):
    first, second = small_panel(architecture="simple_cnn"), small_panel(architecture="simple_cnn")
    first.train()
    first.thread.join(timeout=120)
    random.random()  # the learner's own draws in between change nothing
    second.train()
    second.thread.join(timeout=120)
    assert first.history["loss"] == pytest.approx(second.history["loss"], rel=1e-5)


def test_live_view_and_progress_figure_keep_out_of_pyplot():
    import matplotlib.pyplot as plt
    from IPython.core.formatters import DisplayFormatter

    from colorlab import callbacks, models, plot

    model = models.build("simple_cnn")
    images = np.random.default_rng(0).random((2, 32, 32, 3)).astype(np.float32)
    plt.close("all")
    figure = plot.progress_figure(model, {"loss": [1.0, 0.5], "val_loss": [1.1, 0.6]}, images)
    assert plt.get_fignums() == [] and len(figure.axes) == 1 + 3 * 2
    shown, _ = DisplayFormatter().format(figure)  # what a notebook does with a cell's last value
    assert shown["image/png"][:8] == b"\x89PNG\r\n\x1a\n"
    seen = []
    view = callbacks.LiveView(images, show=lambda png: seen.append((png[:8], plt.get_fignums())))
    view.set_model(model)
    view.on_epoch_end(0, {"loss": 1.0, "val_loss": 1.1})
    assert seen == [(b"\x89PNG\r\n\x1a\n", [])] and view.history == {"loss": [1.0], "val_loss": [1.1]}


def test_live_view_shows_a_png_in_the_notebook_and_updates_it_in_place(monkeypatch):
    import IPython.display

    from colorlab import callbacks, models

    shown = []

    class Handle:
        def update(self, picture):
            shown.append(("update", picture))

    def display(picture, display_id):
        shown.append(("display", picture))
        return Handle()

    monkeypatch.setattr(IPython.display, "display", display)
    view = callbacks.LiveView(np.random.default_rng(0).random((2, 32, 32, 3)).astype(np.float32))
    view.set_model(models.build("simple_cnn"))
    view.on_epoch_end(0, {"loss": 1.0})
    view.on_epoch_end(1, {"loss": 0.5})
    assert [how for how, _ in shown] == ["display", "update"]
    assert all(isinstance(picture, IPython.display.Image) and picture.data[:4] == b"\x89PNG"
               for _, picture in shown)


def real_or_fake(n=12, seed=0, **options):
    from colorlab.widgets import RealOrFake

    rng = np.random.default_rng(1)
    truth = rng.random((n, 8, 8, 3)).astype(np.float32)
    return RealOrFake(truth, truth * 0.5, n=n, seed=seed, **options), truth


def test_real_or_fake_order_is_random_but_reproducible_per_seed():
    a, truth = real_or_fake(seed=0)
    b, _ = real_or_fake(seed=0)
    c, _ = real_or_fake(seed=1)
    np.testing.assert_array_equal(a.index, b.index)
    np.testing.assert_array_equal(a.real_left, b.real_left)
    assert sorted(a.index) == list(range(12)) and 0 < a.real_left.sum() < 12  # both sides used
    assert not (np.array_equal(a.index, c.index) and np.array_equal(a.real_left, c.real_left))
    left, right = a.pair(0)
    real = left if a.real_left[0] else right
    np.testing.assert_array_equal(real, truth[a.index[0]])
    assert a.left.value[:8] == b"\x89PNG\r\n\x1a\n" and a.status.value.startswith("Pair 1 of 12")


def test_real_or_fake_scores_the_fooled_rate():
    always_fake, _ = real_or_fake()
    for real_left in always_fake.real_left:
        (always_fake.right_button if real_left else always_fake.left_button).click()
    assert always_fake.score()["rate"] == 1.0 and always_fake.score()["fooled"] == 12
    assert "Fooled on 12 of 12" in always_fake.status.value and always_fake.left_button.disabled
    always_real, _ = real_or_fake()
    for real_left in always_real.real_left:
        always_real.choose("left" if real_left else "right")
    s = always_real.score()
    assert s["rate"] == 0.0 and s["low"] == 0.0 and 0.15 < s["high"] < 0.35  # Wilson: 0 of 12 -> 0-24%


def test_real_or_fake_interval_and_partial_score():
    quiz, _ = real_or_fake(n=4)
    assert quiz.score()["answered"] == 0
    quiz.score_button.click()
    assert "No answers yet" in quiz.status.value
    quiz.choose("left" if quiz.real_left[0] else "right")  # right
    quiz.choose("right" if quiz.real_left[1] else "left")  # fooled
    s = quiz.score()
    assert (s["answered"], s["fooled"], s["rate"]) == (2, 1, 0.5) and s["low"] < 0.5 < s["high"]
    assert quiz.status.value.startswith("Pair 3 of 4")


def test_real_or_fake_ignores_answers_after_the_last_pair():
    quiz, _ = real_or_fake(n=3)
    for _ in range(3):
        quiz.choose("left")
    before = quiz.score()
    quiz.choose("right")
    quiz.left_button.click()
    assert quiz.score() == before and len(quiz.fooled) == 3


def test_real_or_fake_rejects_mismatched_images():
    import pytest

    from colorlab.widgets import RealOrFake

    with pytest.raises(ValueError, match="one shape"):
        RealOrFake(np.zeros((4, 8, 8, 3)), np.zeros((4, 8, 9, 3)))
    with pytest.raises(ValueError, match="one shape"):
        RealOrFake(np.zeros((8, 8, 3)), np.zeros((8, 8, 3)))
    quiz, _ = real_or_fake(n=3)
    with pytest.raises(ValueError, match="left"):
        quiz.choose("up")


def test_real_or_fake_draws_a_static_figure():
    quiz, _ = real_or_fake(n=6)
    figure = quiz.figure(per_row=4)
    sheet = figure.axes[0].get_images()[0].get_array()
    assert sheet.shape == (2 * (8 + 2 * 2), 4 * (2 * 8 + 3 * 2), 3)  # 2 rows of 4 pairs, 8-pixel images
    assert len(figure.axes[0].texts) == 6 and figure.axes[0].texts[5].get_text() == "6: left | right"
    assert "6 pairs" in repr(quiz)


def test_the_panel_defaults_beat_gray_clearly(monkeypatch):
    """Pressing Train with the defaults must teach something: a validation loss well under that
    of predicting grey (measured: 0.058 against 0.231 on 2 cores in about 15 s)."""
    from colorlab import settings
    from colorlab.widgets import FAST_RUN, TrainPanel

    panel = TrainPanel()
    monkeypatch.setattr(settings, "FAST", True)
    assert (panel.settings().n_images, panel.settings().epochs) == (FAST_RUN["n_images"], FAST_RUN["epochs"])
    monkeypatch.setattr(settings, "FAST", False)
    assert panel.train(background=False)
    gray = float(panel.status.value.split("(predicting grey: ")[1].rstrip(")"))
    assert panel.history["stopped_by"] is None
    assert panel.history["val_loss"][-1] < 0.5 * gray


def test_widgets_carry_a_static_picture_for_readers_without_a_kernel(small_panel):
    import base64

    explorer = LabExplorer(L=60, a=40, b=0)
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle  # Jupyter still draws the widget
    png = base64.b64decode(bundle["image/png"])
    import io

    from PIL import Image

    strip = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    first, mirror = strip[35, 5], strip[35, strip.shape[1] // 4 + 10]
    assert first[0] > first[1] and mirror[1] > mirror[0]  # pinkish red, then its green mirror
    explorer.a.value = -40
    assert base64.b64decode(explorer._repr_mimebundle_()["image/png"]) != png

    panel = small_panel()
    assert "image/png" not in panel._repr_mimebundle_()  # nothing to show before a run
    panel.train(background=False)
    assert base64.b64decode(panel._repr_mimebundle_()["image/png"]) == panel.picture.value
