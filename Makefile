# Two commands: `make run` starts the app, `make test` runs the whole suite.
# Each creates (or reuses) a virtualenv OUTSIDE the clone, keyed by a hash of the requirement
# files, so a fresh clone (CI) reuses the several-GB torch install instead of downloading it again.
# Then scripts/setup.py fetches what the machine lacks (Fashion-MNIST; for the tests also a
# Chromium and CJK fonts), or says in one block what to run; when all is there it only looks.

SHELL := /bin/bash
PYTHON ?= python3
VENV_ROOT ?= $(HOME)/.cache/genlab/venvs
REQ_HASH := $(shell cat requirements.txt requirements-dev.txt | sha256sum | cut -c1-16)
VENV := $(VENV_ROOT)/$(REQ_HASH)
PY := $(VENV)/bin/python
PORT ?= 8501

.PHONY: run test venv lint bench bench-app gpu clean-venvs

# The marker file is written only after a complete install, so an interrupted install is retried.
$(VENV)/.installed: requirements.txt requirements-dev.txt
	@mkdir -p $(VENV_ROOT)
	@echo "virtualenv: $(VENV)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@
	@# Prune virtualenvs made for superseded requirement files.
	@for d in $(VENV_ROOT)/*; do [ "$$d" = "$(VENV)" ] || rm -rf "$$d"; done

venv: $(VENV)/.installed

run: venv
	@$(PY) scripts/setup.py --for run
	$(PY) -m streamlit run app.py --server.port $(PORT)

test: venv
	@$(PY) scripts/setup.py --for test
	$(PY) -m ruff check .
	$(PY) -m pytest

lint: venv
	$(PY) -m ruff check .

bench: venv
	$(PY) -m genmodels bench

# The app's responsiveness in headless Chromium (first page, page switches, slider, chart, memory).
bench-app: venv
	$(PY) -m genmodels bench --app

# Wherever CUDA is available: the GPU tests, then the GPU benchmark (eager and compiled). Fails with
# a message on a machine without a CUDA GPU.
gpu: venv
	@$(PY) -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)" || \
		{ echo "make gpu: no CUDA GPU is visible to torch here; run it on a machine with one"; exit 1; }
	$(PY) -m pytest tests/gpu -q
	$(PY) -m genmodels bench --device cuda --compile

clean-venvs:
	rm -rf $(VENV_ROOT)
