# The commands of the quick start, the plots page and the performance figures (bench/RESULTS.md). Each
# creates .venv and installs the pinned requirements when they are missing or changed, then runs with that
# environment first on PATH. `make bench BENCH_ARGS="--only throughput"` measures a subset.
PYTHON ?= python3.11
VENV := .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: repro test plots bench

repro: $(VENV)/installed
	dvc repro

test: $(VENV)/installed
	python -m pytest

# dvc_plots/index.html with vega, vega-lite and vega-embed from web/node_modules instead of a CDN (renders offline).
plots: $(VENV)/installed web/node_modules/.package-lock.json
	dvc plots show --html-template web/plots.html

web/node_modules/.package-lock.json: web/package.json web/package-lock.json
	npm ci --prefix web --no-audit --no-fund

bench: $(VENV)/installed
	python bench/bench.py $(BENCH_ARGS)

$(VENV)/installed: requirements.txt pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.txt
	$(VENV)/bin/pip install --quiet --no-deps -e .
	touch $@
