"""Practice copies of the lessons: outputs cleared and exercise solutions removed.

    python -m colorlab.practice [LESSONS_DIR [OUT_DIR]]    # default: lessons/ -> practice/

(``make practice`` runs it.) A lesson hides each exercise's solution in a collapsed block,
``<details><summary>Solution</summary> ... </details>`` (see CONTRIBUTING.md, "Lesson anatomy");
a practice copy has ``*Your answer here.*`` in its place. A code cell tagged ``solution`` in its
metadata becomes an empty ``# Your answer here`` cell. Outputs, execution counts and execution
times are cleared, and so are the tests' ``# NBVAL_CHECK_OUTPUT`` markers, which mean nothing
without stored outputs. A lesson whose solution block cannot be removed cleanly (a
``<details>`` left open, a ``Solution`` summary outside one) is refused with an error naming the
lesson and the cell, and nothing is written.
"""

from __future__ import annotations

import copy
import json
import os
import re
import sys
import tempfile
from pathlib import Path

PLACEHOLDER = "*Your answer here.*"
CODE_PLACEHOLDER = "# Your answer here\n"
SOLUTION_TAG = "solution"
CHECK_MARKER = "# NBVAL_CHECK_OUTPUT"

_SUMMARY = r"<summary>(?:(?!</summary>).)*\bsolution\b(?:(?!</summary>).)*</summary>"
_SOLUTION = re.compile(r"<details\b[^>]*>\s*" + _SUMMARY + r".*?</details>", re.IGNORECASE | re.DOTALL)
_SOLUTION_SUMMARY = re.compile(_SUMMARY, re.IGNORECASE | re.DOTALL)


class SolutionError(ValueError):
    """A solution that cannot be removed cleanly; the message names the lesson and the cell."""


def strip_solutions(markdown: str) -> str:
    """``markdown`` with every solution block replaced by ``PLACEHOLDER``."""
    return _SOLUTION.sub(PLACEHOLDER, markdown)


def practice_copy(notebook: dict, name: str = "notebook") -> dict:
    """A practice copy of ``notebook`` (nbformat 4, as JSON): the original is not changed."""
    notebook = copy.deepcopy(notebook)
    for index, cell in enumerate(notebook["cells"]):
        source = "".join(cell["source"])
        cell.get("metadata", {}).pop("execution", None)
        if cell["cell_type"] == "markdown":
            source = strip_solutions(source)
            unbalanced = len(re.findall(r"<details\b", source, re.I)) != len(re.findall(r"</details>", source, re.I))
            if unbalanced or _SOLUTION_SUMMARY.search(source):
                raise SolutionError(f"{name}, cell {index}: a <details> solution block is not closed, or a "
                                    "'Solution' summary is outside one; fix the lesson's markup")
        elif cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
            if SOLUTION_TAG in cell.get("metadata", {}).get("tags", []):
                source = CODE_PLACEHOLDER
            source = "".join(line for line in source.splitlines(keepends=True) if line.strip() != CHECK_MARKER)
        cell["source"] = source.splitlines(keepends=True)
    return notebook


def write_practice(lessons_dir: Path, out_dir: Path) -> list[Path]:
    """Write a practice copy of each numbered lesson in ``lessons_dir`` into ``out_dir``; every
    lesson is converted before any file is written. Returns the paths written."""
    lessons = sorted(Path(lessons_dir).glob("[0-9][0-9]_*.ipynb"))
    if not lessons:
        raise FileNotFoundError(f"no lessons (NN_name.ipynb) in {lessons_dir}")
    copies = {path.name: practice_copy(json.loads(path.read_text(encoding="utf-8")), path.name) for path in lessons}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, notebook in copies.items():
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=out_dir, suffix=".tmp", delete=False) as f:
            json.dump(notebook, f, indent=1, ensure_ascii=False)
            f.write("\n")
        os.replace(f.name, out_dir / name)
        written.append(out_dir / name)
    return written


if __name__ == "__main__":
    root, args = Path(__file__).resolve().parents[1], sys.argv[1:]
    source = Path(args[0]) if args else root / "lessons"
    target = Path(args[1]) if len(args) > 1 else root / "practice"
    for path in write_practice(source, target):
        print(path)
