"""The set-up files agree with each other and with the README's contract."""

import re
import sys
from pathlib import Path

import yaml
from packaging.requirements import Requirement  # a dependency of pytest itself
from packaging.specifiers import SpecifierSet

if sys.version_info >= (3, 11):
    import tomllib
else:  # the test extra installs tomli on Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
# conda-forge and PyPI spell a few packages differently; Binder installs TensorFlow's CPU build.
SAME_PACKAGE = {"tensorflow-cpu": "tensorflow"}
#: conda's ``name=8``: any 8.x release.
CONDA_SERIES = re.compile(r"(?P<name>[\w.-]+)=(?P<version>[\w.]+)")


def pyproject() -> dict:
    """pyproject.toml's ``[project]`` table."""
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def environment() -> tuple[str, dict[str, SpecifierSet]]:
    """environment.yml's Python version and its other packages, conda's and pip's, each with its
    version specifier (``ipywidgets=8`` reads as ``ipywidgets==8.*``)."""
    python, packages = None, {}
    for entry in yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]:
        for line in entry["pip"] if isinstance(entry, dict) else [entry]:
            series = CONDA_SERIES.fullmatch(line.strip())
            requirement = Requirement(f"{series['name']}=={series['version']}.*" if series else line)
            name = SAME_PACKAGE.get(requirement.name.lower(), requirement.name.lower())
            if name == "python":
                python = series["version"]
            elif name != "pip":
                packages[name] = requirement.specifier
    return python, packages


def pyproject_packages(python: str) -> dict[str, SpecifierSet]:
    """pyproject.toml's packages, core and extras, each with its version specifier; those whose
    environment marker leaves them out on Python ``python`` (tomli from 3.11 on) are left out."""
    project = pyproject()
    lines = project["dependencies"] + [line for extra in project["optional-dependencies"].values() for line in extra]
    packages = {}
    for requirement in map(Requirement, lines):
        name = requirement.name.lower()
        left_out = requirement.marker and not requirement.marker.evaluate({"python_version": python})
        if name == project["name"] or left_out:
            continue
        assert packages.setdefault(name, requirement.specifier) == requirement.specifier, \
            f"pyproject.toml asks for {name} twice, with different versions"
    return packages


def test_environment_yml_lists_the_same_packages_as_pyproject():
    python, packages = environment()
    requires_python = pyproject()["requires-python"]
    assert SpecifierSet(requires_python).contains(python), \
        f"environment.yml's Python {python} is outside pyproject.toml's {requires_python}"
    assert set(packages) == set(pyproject_packages(python))


def test_environment_yml_asks_for_the_versions_pyproject_does():
    """pyproject.toml gives a lower bound for every package, and at most an upper bound below the
    next major release where colorlab patches a library's internals (exact pins break installs on
    Colab); environment.yml gives the same, or pins a release series for Binder (``ipywidgets=8``)
    that pyproject.toml allows."""
    python, pinned = environment()
    for name, wanted in pyproject_packages(python).items():
        operators = sorted(s.operator for s in wanted)
        assert operators in ([">="], ["<", ">="]), \
            f"pyproject.toml: {name}{wanted} is not a lower bound (with at most an upper one)"
        if name not in pinned:  # the test above names it
            continue
        got = pinned[name]
        if all(s.operator in (">=", "<") for s in got):
            assert got == wanted, f"environment.yml asks for {name}{got}, pyproject.toml for {name}{wanted}"
        else:  # a release series such as ==8.*, whose first release pyproject.toml must allow
            first = [s.version.removesuffix(".*") for s in got if s.operator == "==" and s.version.endswith(".*")]
            assert len(got) == len(first) == 1 and wanted.contains(first[0]), \
                f"environment.yml's {name}{got} is not a release series that pyproject.toml's {name}{wanted} allows"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make lab" in readme
    ci = [line for line in (ROOT / ".ci/run").read_text().splitlines() if line and not line.startswith("#")]
    assert ci[-1] == "make test"


def test_every_lesson_is_in_the_readme_course_map():
    readme = (ROOT / "README.md").read_text()
    for lesson in sorted((ROOT / "lessons").glob("[0-9][0-9]_*.ipynb")):
        assert lesson.name in readme, f"{lesson.name} is missing from the README's course map"
