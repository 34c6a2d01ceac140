"""The widgets as a learner meets them: JupyterLab 4 in headless Chromium, driven by Playwright.

The test writes a small notebook into a temporary folder, starts ``jupyter lab`` on 127.0.0.1 with
a random token, runs the notebook in Chromium and clicks through TrainPanel, LabExplorer,
RealOrFake and HintPicker, then checks that the browser logged no errors. It needs Debian's ``chromium`` (CI's
``.ci/run`` installs it) and the ``playwright`` package; without them it is skipped.
"""

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = next((p for p in (shutil.which("chromium"), "/usr/bin/chromium") if p and os.access(p, os.X_OK)), None)
if CHROMIUM is None:
    pytest.skip("no Chromium at /usr/bin/chromium: apt-get install chromium to run the browser test",
                allow_module_level=True)
playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="no playwright: pip install -e '.[test]' to run the browser test")
expect = playwright_api.expect
pytest.importorskip("jupyterlab", reason="no JupyterLab: pip install -e '.[dev]' to run the browser test")

SECONDS = 1000  # Playwright counts in milliseconds
NOTEBOOK = "widgets.ipynb"
# The last two cells are run on their own: AGAIN while the panel trains, POINTS after the hints.
CELLS = [
    "import numpy as np\n"
    "from colorlab import color, data, models\n"
    "from colorlab.widgets import HintPicker, LabExplorer, RealOrFake, TrainPanel",
    "panel = TrainPanel(architecture='sequential_lab', n_images=32, epochs=50, size=32)\npanel",
    "LabExplorer(L=60, a=40, b=0)",
    "truth = data.toyworld(6, 32, seed=2).images\n"
    "RealOrFake(truth, np.asarray(color.to_gray(truth)), n=4, side=64)",
    # An untrained hint U-Net: a hint still changes its output, which is all the browser needs to see.
    "picker = HintPicker(models.build('hint_unet'), data.toyworld(1, 32, seed=2).images[0], side=192)\npicker",
    "print(panel.train(), '|', panel.status.value)",
    "print(picker.points)",
]
TRAIN, EXPLORER, GAME, HINTS, AGAIN, POINTS = range(1, 7)  # cell indices

# Mean |R-G| + |G-B| of an <img>'s decoded pixels: about 0 for a greyscale picture.
COLORFULNESS_JS = """async img => {
    await img.decode();
    const canvas = document.createElement("canvas");
    canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
    const context = canvas.getContext("2d");
    context.drawImage(img, 0, 0);
    const d = context.getImageData(0, 0, canvas.width, canvas.height).data;
    let sum = 0;
    for (let i = 0; i < d.length; i += 4) sum += Math.abs(d[i] - d[i + 1]) + Math.abs(d[i + 1] - d[i + 2]);
    return sum / (d.length / 4);
}"""
DRAWN_JS = "img => img.complete && img.naturalWidth > 0"


def _notebook() -> dict:
    cells = [{"cell_type": "code", "execution_count": None, "id": f"cell-{i}", "metadata": {}, "outputs": [],
              "source": source} for i, source in enumerate(CELLS)]
    return {"cells": cells, "nbformat": 4, "nbformat_minor": 5, "metadata": {
        "kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}}}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture
def lab(tmp_path):
    """A JupyterLab server on 127.0.0.1 serving a notebook in tmp_path; yields the notebook's URL."""
    root = tmp_path / "notebooks"  # what JupyterLab's file browser shows
    root.mkdir()
    (root / NOTEBOOK).write_text(json.dumps(_notebook(), indent=1))
    settings = tmp_path / "lab-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    # No "Would you like to receive Jupyter news?" toast over the widgets: a fresh learner sees it
    # once, but it is JupyterLab's, not the course's.
    (settings / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
    port, token = _free_port(), secrets.token_hex(16)
    # Normal mode: in FAST mode a panel run is cut to one epoch, over before Stop can be pressed.
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
               COLORLAB_FAST="0", JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "lab-settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "lab-workspaces"),
               JUPYTER_RUNTIME_DIR=str(tmp_path / "jupyter-runtime"))
    command = [str(Path(sys.executable).with_name("jupyter")), "lab", "--no-browser", "--ip=127.0.0.1",
               f"--port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
               f"--ServerApp.root_dir={root}"] + (["--allow-root"] if os.geteuid() == 0 else [])
    log = open(tmp_path / "jupyter.log", "w")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _answers(f"{base}/api/status?token={token}"):
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"jupyter lab did not start:\n{(tmp_path / 'jupyter.log').read_text()[-3000:]}")
            time.sleep(0.25)
        yield f"{base}/lab/tree/{NOTEBOOK}?token={token}"
    finally:
        try:  # the server shuts its kernels down too
            urllib.request.urlopen(urllib.request.Request(f"{base}/api/shutdown?token={token}", method="POST"),
                                   timeout=5)
            server.wait(timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            server.kill()
            server.wait(timeout=10)
        log.close()


@pytest.fixture
def browser():
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, timeout=60 * SECONDS)
        try:
            yield chromium
        finally:
            chromium.close()


def test_widgets_work_in_jupyterlab(lab, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1280, "height": 1400})
    page.set_default_timeout(30 * SECONDS)
    expect.set_options(timeout=30 * SECONDS)
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(f"console: {message.text}"))
    page.on("pageerror", lambda error: errors.append(f"page error: {error}"))

    try:
        page.goto(lab, timeout=60 * SECONDS)
        cells = page.locator(".jp-NotebookPanel .jp-Cell")
        expect(cells).to_have_count(len(CELLS), timeout=60 * SECONDS)
        expect(page.get_by_title(f"Change kernel for {NOTEBOOK}")).to_have_text(re.compile(r"\| Idle$"))
        # Everything but the last cell, as a learner would from the Run menu.
        cells.nth(AGAIN).locator(".cm-content").click()
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name=re.compile("^Run All Above Selected Cell")).click()

        # TrainPanel: Train draws a picture, then redraws it each epoch.
        train = cells.nth(TRAIN)
        train_button = train.get_by_role("button", name="Train")
        expect(train_button).to_be_visible(timeout=90 * SECONDS)  # once the kernel has loaded TensorFlow
        train_button.click()
        picture = train.locator("img.widget-image").element_handle()
        page.wait_for_function(DRAWN_JS, arg=picture, timeout=60 * SECONDS)
        first = picture.get_attribute("src")
        page.wait_for_function(f"img => img.src !== {json.dumps(first)} && ({DRAWN_JS})(img)", arg=picture)
        # A second run while one is going is refused, and the first carries on. (Needs the refusal in
        # TrainPanel.train: before it, train() started a second thread and returned None.)
        cells.nth(AGAIN).locator(".cm-content").click()
        page.keyboard.press("Control+Enter")
        expect(cells.nth(AGAIN).locator(".jp-OutputArea-output")).to_contain_text(
            re.compile(r"^False \| Already training"))
        # Stop ends the run at the end of the current epoch (a second or two; a few on a busy machine),
        # not after the remaining epochs.
        status = train.locator(".widget-html-content")
        stop = train.get_by_role("button", name="Stop")
        expect(stop).to_be_enabled()  # still training
        stop.click()
        expect(status).to_have_text(re.compile(r"^stopped: \d+ epochs"), timeout=20 * SECONDS)
        assert int(re.match(r"stopped: (\d+)", status.inner_text()).group(1)) < 50
        expect(train_button).to_be_enabled()

        # LabExplorer: moving the a* slider by keyboard redraws the swatches.
        explorer = cells.nth(EXPLORER)
        swatches = explorer.locator(".widget-html-content")
        expect(swatches).to_contain_text("L*=60 a*=40 b*=0")
        before = swatches.inner_html()
        a_slider = explorer.locator(".widget-slider", has=page.locator(".widget-label", has_text=re.compile(r"^a\*$")))
        a_slider.locator(".noUi-handle").focus()
        for _ in range(5):
            page.keyboard.press("ArrowRight")
        expect(swatches).to_contain_text("L*=60 a*=45 b*=0")
        expect(swatches).to_contain_text(re.compile(r"L\*=60 a\*=-45 b\*="))  # and its mirror
        assert swatches.inner_html() != before

        # RealOrFake: pick the real side twice and the grey fake once; the score counts one fooled.
        game = cells.nth(GAME)
        game_status = game.locator(".widget-html-content")
        left, right = game.locator("img.widget-image").element_handles()
        for i, fooled in enumerate([False, True, False]):
            expect(game_status).to_have_text(f"Pair {i + 1} of 4: which one has the real colours?")
            left_colors, right_colors = (img.evaluate(COLORFULNESS_JS) for img in (left, right))
            assert min(left_colors, right_colors) < 1 < max(left_colors, right_colors)  # one is grey
            real = "left" if left_colors > right_colors else "right"
            pick = {"left": "right", "right": "left"}[real] if fooled else real
            game.get_by_role("button", name=f"{pick} is real").click()
        expect(game_status).to_have_text("Pair 4 of 4: which one has the real colours?")
        game.get_by_role("button", name="score so far").click()
        expect(game_status).to_contain_text("Fooled on 1 of 3 pairs: fooled rate 33%")

        # HintPicker: move the cursor, pick a colour, add a hint; the result is coloured again, and
        # Undo and Clear take hints back.
        hints = cells.nth(HINTS)
        hint_status = hints.locator(".widget-html-content")
        expect(hint_status).to_contain_text("No hints yet")
        gray, result = hints.locator("img.widget-image").element_handles()
        undo = hints.get_by_role("button", name="Undo")
        expect(undo).to_be_disabled()
        gray_before, result_before = gray.get_attribute("src"), result.get_attribute("src")
        row_slider = hints.locator(".widget-slider", has=page.locator(".widget-label", has_text=re.compile(r"^row$")))
        row_slider.locator(".noUi-handle").focus()
        for _ in range(3):
            page.keyboard.press("ArrowRight")
        page.wait_for_function(f"img => img.src !== {json.dumps(gray_before)}", arg=gray)  # the cursor moved
        color_text = hints.locator(".widget-colorpicker input[type='text']")
        color_text.fill("#00a0a0")
        color_text.press("Tab")  # a text field commits its value when it loses focus
        add = hints.get_by_role("button", name="Add hint")
        add.click()
        expect(hint_status).to_contain_text("1 hint(s).")
        page.wait_for_function(f"img => img.src !== {json.dumps(result_before)} && ({DRAWN_JS})(img)", arg=result)
        add.click()
        expect(hint_status).to_contain_text("2 hint(s).")
        undo.click()
        expect(hint_status).to_contain_text("1 hint(s).")
        cells.nth(POINTS).locator(".cm-content").click()
        page.keyboard.press("Control+Enter")
        expect(cells.nth(POINTS).locator(".jp-OutputArea-output")).to_have_text("[(19, 16, '#00a0a0')]")
        hints.get_by_role("button", name="Clear").click()
        expect(hint_status).to_contain_text("No hints yet")
        expect(undo).to_be_disabled()

    finally:  # what the learner saw, for a look when something fails
        page.screenshot(path=tmp_path / "jupyterlab.png")
    assert not errors, "the browser logged errors:\n" + "\n".join(errors)
