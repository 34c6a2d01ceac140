"""Practice copies (colorlab.practice, `make practice`): no outputs, no solutions, still runnable."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from colorlab import practice

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / "lessons").glob("[0-9][0-9]_*.ipynb"))
SOLUTION_BODY = re.compile(r"<summary>Solution</summary>(.*?)</details>", re.DOTALL)


def text(notebook, cell_type):
    return "\n".join("".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == cell_type)


@pytest.fixture(scope="module")
def copies(tmp_path_factory):
    out = tmp_path_factory.mktemp("practice")
    written = practice.write_practice(ROOT / "lessons", out)
    assert [p.name for p in written] == [p.name for p in LESSONS]
    return out


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_a_copy_has_no_solution_and_no_output_but_keeps_the_exercise(copies, lesson):
    original = json.loads(lesson.read_text(encoding="utf-8"))
    copy_text = (copies / lesson.name).read_text(encoding="utf-8")
    copy = nbformat.reads(copy_text, as_version=4)
    nbformat.validate(copy)
    solutions = SOLUTION_BODY.findall(text(original, "markdown"))
    assert solutions, f"{lesson.name} has no solution blocks: has the lessons' markup changed?"
    markdown = text(copy, "markdown")
    for body in solutions:
        lines = [line for line in body.splitlines() if len(line.strip()) > 20]
        assert lines and not any(line in markdown for line in lines), body[:80]
    assert "<details" not in markdown and "Solution" not in markdown
    assert markdown.count(practice.PLACEHOLDER) == len(solutions)
    first_exercise = re.search(r"\n1\. ([^\n]{20,})", text(original, "markdown")).group(1)
    assert first_exercise in markdown
    code_cells = [c for c in copy.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None and "execution" not in c.metadata for c in code_cells)
    assert practice.CHECK_MARKER not in text(copy, "code")


def test_the_lesson_itself_is_not_changed():
    original = json.loads(LESSONS[0].read_text(encoding="utf-8"))
    before = json.dumps(original)
    practice.practice_copy(original)
    assert json.dumps(original) == before


def notebook(*cells):
    return {"cells": list(cells), "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def markdown(source):
    return {"cell_type": "markdown", "metadata": {}, "source": source}


def test_other_spellings_of_a_solution_block_are_removed_and_hints_are_kept():
    source = ("1. Do it.\n\n<details><summary>Hint</summary>Look up.</details>\n\n"
              "<DETAILS open>\n<summary><b>Solution (worked)</b></summary>\n\n```python\nsecret = 42\n```\n</DETAILS>\n")
    out = text(practice.practice_copy(notebook(markdown(source))), "markdown")
    assert "secret" not in out and "Solution" not in out
    assert "<summary>Hint</summary>Look up." in out and practice.PLACEHOLDER in out


@pytest.mark.parametrize("source", [
    "1. Do it.\n\n<details>\n<summary>Solution</summary>\n\nsecret\n",  # never closed
    "1. Do it.\n\n<summary>Solution</summary>\n\nsecret\n",              # no <details>
    "<details><summary>Solution</summary><details>x</details> secret</details>",  # nested
])
def test_a_solution_that_cannot_be_removed_cleanly_is_refused(tmp_path, source):
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    (lessons / "00_fine.ipynb").write_text(json.dumps(notebook(markdown("fine"))))
    (lessons / "01_broken.ipynb").write_text(json.dumps(notebook(markdown("intro"), markdown(source))))
    with pytest.raises(practice.SolutionError, match=r"01_broken\.ipynb, cell 1"):
        practice.write_practice(lessons, tmp_path / "out")
    assert not list((tmp_path / "out").glob("*")), "nothing is written when a lesson is refused"


def test_a_code_cell_tagged_solution_becomes_a_placeholder():
    cell = {"cell_type": "code", "metadata": {"tags": ["solution"]}, "execution_count": 3,
            "outputs": [{"output_type": "stream", "name": "stdout", "text": "42\n"}], "source": "answer = 42\n"}
    out = practice.practice_copy(notebook(cell))["cells"][0]
    assert out["source"] == [practice.CODE_PLACEHOLDER] and out["outputs"] == []


def test_the_command_line_writes_the_copies(tmp_path):
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    (lessons / "00_one.ipynb").write_text(json.dumps(notebook(markdown("1. Q\n<details><summary>Solution</summary>A</details>"))))
    result = subprocess.run([sys.executable, "-m", "colorlab.practice", str(lessons), str(tmp_path / "out")],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert text(json.loads((tmp_path / "out" / "00_one.ipynb").read_text()), "markdown") == "1. Q\n" + practice.PLACEHOLDER


def test_make_practice_writes_into_an_ignored_folder():
    assert "practice" in (ROOT / "Makefile").read_text()
    ignored = subprocess.run(["git", "check-ignore", "-q", "practice/00_start_here.ipynb"], cwd=ROOT)
    assert ignored.returncode == 0


def test_a_copy_runs_under_nbval(tmp_path):
    """One small lesson's copy, end to end, in FAST mode (the rest are checked above without running)."""
    lesson = ROOT / "lessons" / "01_color_spaces.ipynb"
    copy = tmp_path / lesson.name
    copy.write_text(json.dumps(practice.practice_copy(json.loads(lesson.read_text(encoding="utf-8")))))
    env = {**os.environ, "COLORLAB_FAST": "1", "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
                             "--nbval-lax", "--nbval-current-env", str(copy)],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:]
