# colorlab: the two commands of the README, plus helpers for maintainers.
#   make lab     set up .venv (first time only) and open the course in JupyterLab
#   make test    set up .venv (first time only) and run every test, lessons included (FAST mode)
#   make course  re-execute every lesson in normal mode and store its outputs
#   make shipped train the lesson runs colorlab ships (train.fit_or_load, lessons 07, 09-11) and write
#                their weights into colorlab/models/weights/; then `make course`
#   make budgets time every lesson (normal and FAST) and measure its peak memory
#   make bench   every architecture's tiny preset (speed, GFLOP/s, quality after 60 s) and seed
#                presets' speed; loss averaging (lesson 10's table); input pipeline and scaling;
#                the ImageNet encoder's images/s and what caching its features saves
#   make practice  copies of every lesson without outputs or exercise solutions, in practice/
#   make test-ipywidgets7  the widget tests under ipywidgets 7.7.1 (what Colab ships), in a
#                second environment, .venv-ipywidgets7 (set VENV7 to put it elsewhere)
# Needs only Python 3.10-3.12 and make.

# The first of these that really runs and is 3.10-3.12 (pyenv shims can exist and fail).
PYTHON ?= $(shell for p in python3.12 python3.11 python3.10 python3; do \
	$$p -c 'import sys; assert (3, 10) <= sys.version_info[:2] <= (3, 12)' >/dev/null 2>&1 \
	&& { echo $$p; break; }; done)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.colorlab-installed

.PHONY: lab test course shipped budgets bench clean test-ipywidgets7 practice

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "colorlab needs Python 3.10, 3.11 or 3.12 on PATH"; exit 1; }
	@test -x "$(BIN)/python" || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $@

# Jupyter refuses to run as root unless told (containers, CI boxes); a normal user needs nothing.
AS_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: $(STAMP)
	$(BIN)/jupyter lab lessons/00_start_here.ipynb --notebook-dir=lessons $(AS_ROOT)

# Two processes, each taking whole files (a lesson's cells share one kernel), longest first in
# conftest.py's LONGEST_FIRST order (--no-loadscope-reorder: xdist would otherwise order files by
# how many tests they hold): on 2 cores pytest takes about 7 minutes. TEST_WORKERS=0 runs it in
# one process.
TEST_WORKERS ?= 2

test: $(STAMP)
	$(BIN)/ruff check .
	COLORLAB_FAST=1 $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=15

course: $(STAMP)
	COLORLAB_FAST=0 $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
		--ExecutePreprocessor.timeout=900 lessons/[0-9]*.ipynb

# Run in full, outputs not kept: `make course` then stores the lessons loading what this wrote.
shipped: $(STAMP)
	COLORLAB_FAST=0 COLORLAB_SHIPPED=make $(BIN)/jupyter nbconvert --to notebook --execute --stdout \
		--ExecutePreprocessor.timeout=900 $(shell grep -l fit_or_load lessons/[0-9]*.ipynb) > /dev/null

bench: $(STAMP)
	$(BIN)/python benchmarks/architectures.py --original-presets
	$(BIN)/python benchmarks/losses.py
	$(BIN)/python benchmarks/scaling.py
	$(BIN)/python benchmarks/encoder.py

budgets: $(STAMP)
	$(BIN)/python benchmarks/lesson_budgets.py

# Needs no .venv: the script uses only the standard library.
practice:
	$(or $(PYTHON),python3) -m colorlab.practice lessons practice

# Colab ships ipywidgets 7.7; the course's own environment has 8. The editable install is
# redone when the environment was made from another checkout, so the tests see this one.
VENV7  ?= .venv-ipywidgets7
STAMP7 := $(VENV7)/.colorlab-installed

$(STAMP7): pyproject.toml
	@test -n "$(PYTHON)" || { echo "colorlab needs Python 3.10, 3.11 or 3.12 on PATH"; exit 1; }
	@test -x "$(VENV7)/bin/python" || $(PYTHON) -m venv $(VENV7)
	$(VENV7)/bin/python -m pip install --quiet --upgrade pip
	$(VENV7)/bin/python -m pip install --quiet -e ".[test]" "ipywidgets==7.7.1"
	@touch $@

test-ipywidgets7: $(STAMP7)
	@$(VENV7)/bin/python -I -c 'import colorlab, sys; sys.exit(not colorlab.__file__.startswith("$(CURDIR)/"))' \
		|| $(VENV7)/bin/python -m pip install --quiet --no-deps -e .
	COLORLAB_FAST=1 $(VENV7)/bin/python -m pytest -q tests/test_widgets.py

clean:
	rm -rf $(VENV) $(VENV7) .pytest_cache
