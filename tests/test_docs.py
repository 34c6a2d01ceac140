"""The lessons' links into docs/ land on something, and every lesson ends with its references."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / "lessons").glob("[0-9][0-9]_*.ipynb"))
LINK = re.compile(r"\]\(((?:\.\./)?(?:docs|lessons)/[^)#\s]+)(?:#([\w-]+))?\)")


def markdown(lesson: Path) -> list[str]:
    cells = json.loads(lesson.read_text(encoding="utf-8"))["cells"]
    return ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown"]


def anchors(page: Path) -> set[str]:
    return set(re.findall(r'<a id="([\w-]+)"></a>', page.read_text(encoding="utf-8")))


def broken_links(text: str, base: Path) -> list[str]:
    broken = []
    for target, anchor in LINK.findall(text):
        page = (base / target).resolve()
        if not page.is_file():
            broken.append(target)
        elif anchor and anchor not in anchors(page):
            broken.append(f"{target}#{anchor}")
    return broken


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_lesson_links_into_docs_resolve(lesson):
    assert broken_links("\n".join(markdown(lesson)), lesson.parent) == []


@pytest.mark.parametrize("page", sorted((ROOT / "docs").glob("*.md")), ids=lambda p: p.name)
def test_docs_links_resolve(page):
    text = page.read_text(encoding="utf-8")
    internal = set(re.findall(r"\]\(#([\w-]+)\)", text))
    assert internal - anchors(page) == set()
    assert broken_links(text, page.parent) == []


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_every_lesson_ends_with_references(lesson):
    last = markdown(lesson)[-1]
    assert last.startswith("## References")
    assert "docs/student_projects.md#seed-" in last
