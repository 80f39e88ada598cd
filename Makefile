# The commands of the quick start, the plots page and the performance figures (bench/RESULTS.md). Each
# creates .venv and installs the pinned requirements when they are missing or changed, and writes the page
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

.PHONY: repro test plots bench pull push verify diff install-remote

# The study as `dvc repro` runs it, with the training runs side by side: JOBS at once (default: usable cores /
# params.yaml's threads). The files are the same as a sequential `dvc repro`, which keeps working.
repro: $(SETUP)
	foodcnn repro $(if $(JOBS),--jobs $(JOBS))

# The remote tests' Python needs (both plugins, moto's S3 server) come with the test target, not with the
# study's environment, which stays as small as `make repro` needs; sshd comes from apt (.ci/run).
test: $(SETUP) $(VENV)/test-installed
	python -m pytest

$(VENV)/test-installed: requirements-remote-test.txt requirements-s3.txt requirements-ssh.txt | $(VENV)/installed
	$(VENV)/bin/pip install --quiet -r requirements-remote-test.txt
	touch $@

# The default DVC remote (.dvc/config): this commit's data and models and the run-cache, with one-line errors;
# every object is re-hashed before it is sent and after it arrives.
pull: $(VENV)/installed
	python scripts/remote.py pull

push: $(VENV)/installed
	python scripts/remote.py push

# DVC's plugin for a remote on S3 or SSH (pinned in requirements-$(KIND).txt); the default install has neither.
install-remote: $(VENV)/installed
	@test -f requirements-$(KIND).txt || { echo "error: make install-remote KIND=s3 or KIND=ssh"; exit 1; }
	$(VENV)/bin/pip install --quiet -r requirements-$(KIND).txt

# Is a difference between revisions evidence or noise? `make diff A=main B=my-branch`; A defaults to HEAD and B
# to the workspace, as for `dvc metrics diff`.
diff: $(VENV)/installed
	foodcnn diff $(A) $(B)

# Re-hash the cache objects and workspace outputs dvc.lock names: one line per corrupt one, exit status 2.
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
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.txt
	$(VENV)/bin/pip install --quiet --no-deps -e .
	touch $@
