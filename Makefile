# The commands of the quick start, the plots page and the performance figures (bench/RESULTS.md). Each
# creates .venv and installs the pinned requirements when they are missing or changed, then runs with that
# environment first on PATH. `make bench BENCH_ARGS="--only throughput"` measures a subset.
PYTHON ?= python3.11
VENV := .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: repro repro-parallel test plots bench

repro: $(VENV)/installed
	dvc repro

# The study with its training runs side by side (one GPU, or many cores): every grid configuration and the
# fine-tunes as queued experiments, JOBS at a time, each in its own workspace but sharing the DVC cache and
# run-cache; `dvc repro` then takes those runs from the run-cache and runs selection onwards.
JOBS ?= 4
repro-parallel: $(VENV)/installed
	dvc repro prepare
	python -c 'import yaml; g = yaml.safe_load(open("params.yaml"))["grid"]; \
	  [print(m, lr, b) for m in g["model"] for lr in g["lr"] for b in g["batch_size"]]' | \
	while read -r model lr batch; do \
	  dvc exp run --queue -S "grid.model=[$$model]" -S "grid.lr=[$$lr]" -S "grid.batch_size=[$$batch]" train || exit 1; \
	done
	dvc exp run --queue finetune
	dvc exp run --run-all --jobs $(JOBS)
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
