# The two commands of the quick start, and the performance figures (bench/RESULTS.md). Each creates .venv
# and installs the pinned requirements when they are missing or changed, then runs with that environment
# first on PATH. `make bench BENCH_ARGS="--only throughput"` measures a subset.
PYTHON ?= python3.11
VENV := .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: repro test bench

repro: $(VENV)/installed
	dvc repro

test: $(VENV)/installed
	python -m pytest

bench: $(VENV)/installed
	python bench/bench.py $(BENCH_ARGS)

$(VENV)/installed: requirements.txt pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.txt
	$(VENV)/bin/pip install --quiet --no-deps -e .
	touch $@
