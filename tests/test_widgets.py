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


def small_panel(**settings):
    from colorlab.widgets import TrainPanel

    return TrainPanel(n_images=32, epochs=2, size=32, **settings)


def test_train_panel_trains_and_draws_each_epoch():
    panel = small_panel()
    panel.architecture.value = "sequential_lab"
    panel.learning_rate.value = 3e-3
    panel.train(background=False)
    assert panel.model.name == "sequential_lab_tiny"
    assert len(panel.history["loss"]) == 2 and panel.history["stopped_by"] is None
    assert panel.picture.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert panel.status.value.startswith("finished: 2 epochs")
    assert not panel.train_button.disabled and panel.stop_button.disabled


def test_train_panel_stop_keeps_the_model_trained_so_far():
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


def test_train_panel_reports_errors_and_stays_usable(monkeypatch):
    from colorlab import train

    def fail(*args, **kwargs):
        raise RuntimeError("out of memory <on purpose>")

    monkeypatch.setattr(train, "fit", fail)
    panel = small_panel()
    panel.train(background=False)
    assert "RuntimeError" in panel.status.value and "out of memory &lt;on purpose&gt;" in panel.status.value
    assert not panel.train_button.disabled and panel.stop_button.disabled


def test_train_panel_offers_every_architecture_and_classifiers_train():
    from colorlab import models

    panel = small_panel(architecture="palette_classifier")
    assert set(panel.architecture.options) == set(models.names())
    panel.train(background=False)
    assert panel.history["loss"][-1] < panel.history["loss"][0]
