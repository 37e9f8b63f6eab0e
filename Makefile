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

.PHONY: run test venv lint i18n bench bench-app gpu clean-venvs

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

# The two languages (genmodels/i18n.py): extract every string marked with _, L_, N_ or ngettext from
# the app, the pages and the package into a template (not kept in git), then merge it into the
# Simplified Chinese catalog, which any translation tool edits. New strings arrive untranslated and
# changed ones as fuzzy; tests/test_i18n.py fails until each has a reviewed translation. Without
# source locations in the files, moving code around does not churn the catalog.
I18N_POT := genmodels/locale/genmodels.pot
I18N_KEYWORDS := --no-default-keywords -k _ -k L_ -k N_ -k ngettext:1,2
i18n: venv
	@mkdir -p genmodels/locale
	$(VENV)/bin/pybabel extract -F babel.cfg $(I18N_KEYWORDS) --no-location --sort-output --no-wrap \
		--add-comments TRANSLATORS: --project "Generative Models Lab" -o $(I18N_POT) .
	$(VENV)/bin/pybabel update -i $(I18N_POT) -d genmodels/locale -D genmodels -l zh_CN \
		--no-wrap --ignore-obsolete --ignore-pot-creation-date --init-missing

bench: venv
	$(PY) -m genmodels bench

# The app's responsiveness in headless Chromium (first page, page switches, slider, chart, memory).
bench-app: venv
	$(PY) -m genmodels bench --app

# Wherever CUDA is available: the GPU tests, then the GPU benchmarks (training eager and compiled; the
# style-transfer lesson at 128, 256 and 512 px). Fails with
# a message on a machine without a CUDA GPU.
gpu: venv
	@$(PY) -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)" || \
		{ echo "make gpu: no CUDA GPU is visible to torch here; run it on a machine with one"; exit 1; }
	$(PY) -m pytest tests/gpu -q
	$(PY) -m genmodels bench --device cuda --compile
	$(PY) -m genmodels bench --style --device cuda
	$(PY) -m genmodels bench --diffusion --device cuda --samples 5000
	@# the diffusion goal: beat the shipped DCGAN's Frechet distance after 60 s of training
	$(PY) -m genmodels train ddpm --dataset fashion-mnist --hidden 64,128 --batch-size 256 --lr 2e-3 \
		--epochs 100 --max-seconds 60 --device cuda --name ddpm-gpu-60s --out runs/ddpm-gpu-60s.safetensors
	$(PY) -m genmodels eval runs/ddpm-gpu-60s.safetensors --device cuda
	$(PY) -m genmodels eval checkpoints/dcgan-fashion.safetensors --device cuda

clean-venvs:
	rm -rf $(VENV_ROOT)
