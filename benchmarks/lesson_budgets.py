"""Run every lesson (or those named) in normal and FAST mode; print wall time and peak memory.

    .venv/bin/python benchmarks/lesson_budgets.py [lessons/01_color_spaces.ipynb ...]

Each run executes the notebook with nbconvert in a fresh process (outputs go to a temporary
file; the lesson is not modified). Peak memory is the largest resident set size among the
processes it waited for, which is the kernel's. Budgets (2 CPU cores; see CONTRIBUTING.md): normal
<= 180 s and <= 1.5 GB; FAST <= 45 s.
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
JUPYTER = Path(sys.executable).with_name("jupyter")
MEASURE = (
    "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
    "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def run(lesson: Path, fast: bool) -> tuple[float, float]:
    """Wall seconds and peak GB of one execution of ``lesson``."""
    env = {**os.environ, "COLORLAB_FAST": "1" if fast else "0"}
    with tempfile.TemporaryDirectory() as out:
        command = [str(JUPYTER), "nbconvert", "--to", "notebook", "--execute", "--output-dir", out,
                   "--ExecutePreprocessor.timeout=900", str(lesson)]
        start = time.perf_counter()
        peak_kb = subprocess.run([sys.executable, "-c", MEASURE, *command], env=env, check=True,
                                 capture_output=True, text=True, cwd=lesson.parent).stdout
        return time.perf_counter() - start, int(peak_kb) / 1e6


def main(paths):
    lessons = [Path(p).resolve() for p in paths] or sorted((ROOT / "lessons").glob("[0-9][0-9]_*.ipynb"))
    print("| lesson | normal: wall | normal: peak memory | FAST: wall |")
    print("|---|---|---|---|")
    for lesson in lessons:
        normal_s, normal_gb = run(lesson, fast=False)
        fast_s, _ = run(lesson, fast=True)
        print(f"| {lesson.stem} | {normal_s:.0f} s | {normal_gb:.2f} GB | {fast_s:.0f} s |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
