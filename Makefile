# The commands of the quick start, the plots page and the performance figures (bench/RESULTS.md). Each
# creates .venv and installs the locked requirements when they are missing or changed, and writes the page
# template of `dvc plots show` / `dvc plots diff` (below), then runs with that environment first on PATH.
# `make bench BENCH_ARGS="--only throughput"` measures a subset.
# The environment's Python: python3.11 when on PATH, else python3 (Ubuntu 24.04 has only 3.12); any 3.11 or newer.
PYTHON ?= $(or $(shell command -v python3.11),python3)
VENV := .venv
# .dvc/config points DVC's plots.html_template here: web/plots.html with vega, vega-lite and vega-embed from
# web/node_modules inlined, so that every plots page renders offline, wherever -o writes it. Without npm the
# template keeps DVC's CDN scripts (web/inline_scripts.py says so).
PLOTS_TEMPLATE := web/build/plots.html
SETUP := $(VENV)/installed $(PLOTS_TEMPLATE)
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: install repro test lint plots bench pull push verify diff install-remote lock

# Every package of each environment, dependencies too, is pinned with its hashes in a lock (requirements*.txt,
# compiled from the direct requirements in requirements*.in by `make lock`), and installed by this one command
# here and in CI: pip refuses a package or a file that the lock does not name. Each lock is a whole environment:
# the study's (requirements.txt), it with one remote's plugin (requirements-s3.txt, -ssh.txt), or with both and
# moto for the tests (requirements-remote-test.txt), at the same versions in all four.
INSTALL = $(VENV)/bin/pip install --quiet --require-hashes -r

# The study's environment and nothing more: what `dask worker` processes run from (docs/cluster.md).
install: $(SETUP)

# The study as `dvc repro` runs it, with the training runs side by side: JOBS at once (default: usable cores /
# params.yaml's threads), on a Dask cluster in this process, or on the one at SCHEDULER (docs/cluster.md). The
# files are the same as a sequential `dvc repro`, which keeps working.
repro: $(SETUP)
	foodcnn repro $(if $(JOBS),--jobs $(JOBS)) $(if $(SCHEDULER),--scheduler $(SCHEDULER))

# The remote tests' Python needs (both plugins, moto's S3 server) come with the test target, not with the
# study's environment, which stays as small as `make repro` needs; sshd comes from apt (.ci/run).
test: $(SETUP) $(VENV)/test-installed
	python -m pytest

# ruff (lint and format) and mypy, as configured in pyproject.toml; CI runs it before the tests, and
# .pre-commit-config.yaml runs the same three commands before each commit.
lint: $(VENV)/installed $(VENV)/test-installed
	ruff check .
	ruff format --check .
	mypy

$(VENV)/test-installed: requirements-remote-test.txt | $(VENV)/installed
	$(INSTALL) requirements-remote-test.txt
	touch $@

# The default DVC remote (.dvc/config): this commit's data and models and the run-cache, with one-line errors;
# every object is re-hashed before it is sent and after it arrives.
pull: $(VENV)/installed
	python scripts/remote.py pull

push: $(VENV)/installed
	python scripts/remote.py push

# DVC's plugin for a remote on S3 or SSH (locked in requirements-$(KIND).txt); the default install has neither.
install-remote: $(VENV)/installed
	@test -f requirements-$(KIND).txt || { echo "error: make install-remote KIND=s3 or KIND=ssh"; exit 1; }
	$(INSTALL) requirements-$(KIND).txt

# Is a difference between revisions evidence or noise? `make diff A=main B=my-branch`; A defaults to HEAD and B
# to the workspace, as for `dvc metrics diff`.
diff: $(VENV)/installed
	foodcnn diff $(A) $(B)

# Re-hash the cache objects and workspace outputs dvc.lock names, and check the run-cache's training entries
# against their checkpoints and histories: one line per corrupt, lost or poisoned one, exit status 2.
verify: $(VENV)/installed
	python scripts/verify.py

plots: $(SETUP)
	dvc plots show

NODE_MODULES := $(if $(shell command -v npm),web/node_modules/.package-lock.json)
$(PLOTS_TEMPLATE): web/plots.html web/inline_scripts.py $(NODE_MODULES) | $(VENV)/installed
	python web/inline_scripts.py web/plots.html $@

web/node_modules/.package-lock.json: web/package.json web/package-lock.json
	npm ci --prefix web --no-audit --no-fund

bench: $(SETUP)
	python bench/bench.py $(BENCH_ARGS)

$(VENV)/installed: requirements.txt pyproject.toml
	@test -x $(VENV)/bin/python || $(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
		|| { echo "error: needs Python 3.11 or newer (3.11, 3.12, ...) as python3.11 or python3 on PATH, or make PYTHON=/path/to/python3.x"; exit 1; }
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(INSTALL) requirements.txt
	$(VENV)/bin/pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

# After editing a requirements*.in: pip-tools (in .venv-lock) compiles the test lock, then each smaller lock
# constrained by it, so that a package has one version in all four. A pin already in a lock stays unless the
# .in file rules it out; LOCK_ARGS="--upgrade-package NAME" moves one. The locks are for Linux x86-64 and
# Python 3.11 (torch's CUDA build pulls in nvidia-* wheels that exist there only).
LOCK = $(VENV)-lock/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
	--no-emit-find-links $(LOCK_ARGS)
lock:
	test -x $(VENV)-lock/bin/pip-compile || { $(PYTHON) -m venv $(VENV)-lock \
		&& $(VENV)-lock/bin/pip install --quiet pip==26.3 pip-tools==7.6.2; }
	$(LOCK) --output-file requirements-remote-test.txt requirements-remote-test.in
	for name in requirements requirements-s3 requirements-ssh; do \
		$(LOCK) --constraint requirements-remote-test.txt --output-file $$name.txt $$name.in || exit 1; done
