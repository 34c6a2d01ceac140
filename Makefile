# colorlab: the two commands of the README, plus helpers for maintainers.
#   make lab     set up .venv (first time only) and open the course in JupyterLab
#   make test    set up .venv (first time only) and run every test, lessons included (FAST mode)
#   make course  re-execute every lesson in normal mode and store its outputs
# Needs only Python 3.10-3.12 and make.

# The first of these that really runs and is 3.10-3.12 (pyenv shims can exist and fail).
PYTHON ?= $(shell for p in python3.12 python3.11 python3.10 python3; do \
	$$p -c 'import sys; assert (3, 10) <= sys.version_info[:2] <= (3, 12)' >/dev/null 2>&1 \
	&& { echo $$p; break; }; done)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.colorlab-installed

.PHONY: lab test course clean

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "colorlab needs Python 3.10, 3.11 or 3.12 on PATH"; exit 1; }
	@test -x "$(BIN)/python" || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $@

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=lessons 00_start_here.ipynb

test: $(STAMP)
	COLORLAB_FAST=1 $(BIN)/python -m pytest -q

course: $(STAMP)
	COLORLAB_FAST=0 $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
		--ExecutePreprocessor.timeout=900 lessons/[0-9]*.ipynb

clean:
	rm -rf $(VENV) .pytest_cache
