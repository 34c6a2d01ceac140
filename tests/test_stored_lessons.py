"""The lessons as stored (what a reader sees on GitHub, and what `make course` writes): each ran
top to bottom in normal mode, with no error and no failed claim."""

import json
from pathlib import Path

import pytest

LESSONS = sorted((Path(__file__).resolve().parents[1] / "lessons").glob("*.ipynb"))


def outputs_text(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        parts += output.get("text", [])
        parts += output.get("data", {}).get("text/plain", [])
    return "".join(parts)


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_a_stored_lesson_ran_in_full_in_normal_mode_with_every_claim_holding(path):
    cells = [c for c in json.loads(path.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"]
    counts = [c["execution_count"] for c in cells]
    assert None not in counts, f"{path.name}: code cell {counts.index(None)} was never run; re-execute the lesson"
    assert counts == sorted(counts), f"{path.name}: cells were run out of order ({counts})"
    for i, cell in enumerate(cells):
        errors = [o for o in cell.get("outputs", []) if o["output_type"] == "error"]
        assert not errors, f"{path.name}: code cell {i} stored an error: {errors[0]['ename']}: {errors[0]['evalue']}"
        text = outputs_text(cell)
        assert "✗" not in text, f"{path.name}: code cell {i} stored a failed claim: {text[text.index('✗'):][:200]}"
        assert "colorlab: training '" not in text, (f"{path.name}: code cell {i} trained a run that colorlab should ship: "
                                                    f"{text[text.index('colorlab: training'):][:200]} (run `make shipped`, "
                                                    "then store the lesson again)")
    environment = [outputs_text(c) for c in cells if "check_environment()" in "".join(c["source"])]
    assert all("normal mode" in text for text in environment), f"{path.name}: not stored from a normal-mode run"
