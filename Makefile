# The commands of the quick start. Each creates .venv and installs the pinned requirements when they are
# missing or changed, then runs the pipeline, the tests or `dvc plots show` with that environment first on PATH.
PYTHON ?= python3.11
VENV := .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: repro test plots

repro: $(VENV)/installed
	dvc repro

test: $(VENV)/installed
	python -m pytest

# dvc_plots/index.html with vega, vega-lite and vega-embed from web/node_modules instead of a CDN (renders offline).
plots: $(VENV)/installed web/node_modules/.package-lock.json
	dvc plots show --html-template web/plots.html

web/node_modules/.package-lock.json: web/package.json web/package-lock.json
	npm ci --prefix web --no-audit --no-fund

$(VENV)/installed: requirements.txt pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.txt
	$(VENV)/bin/pip install --quiet --no-deps -e .
	touch $@
