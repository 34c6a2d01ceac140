"""The set-up files agree with each other and with the README's contract."""

import re
from importlib.metadata import requires
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# conda-forge and PyPI spell a few packages differently; Binder installs TensorFlow's CPU build.
SAME_PACKAGE = {"tensorflow-cpu": "tensorflow"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[;]", requirement.strip(), maxsplit=1)[0].lower()


def pyproject_packages() -> set:
    """What pyproject.toml asks for, core and extras, as the installed package's metadata says."""
    return {_name(r) for r in requires("colorlab")} - {"colorlab"}


def environment_packages() -> set:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    names = set()
    for entry in env["dependencies"]:
        for requirement in entry["pip"] if isinstance(entry, dict) else [entry]:
            names.add(SAME_PACKAGE.get(_name(requirement), _name(requirement)))
    return names - {"python", "pip"}


def test_environment_yml_lists_the_same_packages_as_pyproject():
    assert environment_packages() == pyproject_packages()


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make lab" in readme
    ci = [line for line in (ROOT / ".ci/run").read_text().splitlines() if line and not line.startswith("#")]
    assert ci[-1] == "make test"


def test_every_lesson_is_in_the_readme_course_map():
    readme = (ROOT / "README.md").read_text()
    for lesson in sorted((ROOT / "lessons").glob("[0-9][0-9]_*.ipynb")):
        assert lesson.name in readme, f"{lesson.name} is missing from the README's course map"
