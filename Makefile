# atlas-drills: every target sets itself up from nothing (a Python 3.11+ with venv is all it needs).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)
PYTEST_ARGS ?=
DRILL_ARGS ?=
SOAK_ARGS ?=

.PHONY: help install lint engine images drill soak fault-matrix test clean bench-restore bench

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP) ## create .venv and install the project with its pinned dependencies

lint: $(STAMP) ## ruff check, ruff format --check, mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

engine: $(STAMP) ## find a Docker engine, or (root on Debian/Ubuntu) install docker.io and start one
	$(VENV)/bin/atlas-drills engine ensure || echo "atlas-drills: no Docker engine here: drills fall back to local processes; Docker tests skip" >&2

images: engine ## build the base image (mmdebstrap, no registry) and the stand-in image when missing
	$(VENV)/bin/atlas-drills images build >/dev/null || echo "atlas-drills: no target images: drills fall back to local processes" >&2

soak: images ## the good drill 20 times and every fault 5 times; fails if any verdict flips
	$(PY) -m tests.faults.soak $(SOAK_ARGS)

fault-matrix: images ## run the detection matrix and write it into README.md
	$(PY) -m pytest tests/faults -n 2 --dist loadgroup -p no:cacheprovider
	$(PY) -m tests.faults.render_matrix

drill: images ## run the drill plan (ops/drills/plan.toml) on the embedded default and write the report
	$(PY) -m pytest drills -n auto --dist loadgroup --max-worker-restart=0 -p no:hypothesispytest $(DRILL_ARGS)

test: lint images ## lint, then the suite's own tests (tests/), in parallel
	$(PY) -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS) tests

clean: ## remove the virtualenv and caches (never reports/)
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis *.egg-info

bench-restore: $(STAMP) ## restore throughput on a >= 1 GiB backup: ours (one pass) vs tar -x + sha256sum -c
	$(PY) -m tests.bench.bench_restore $(BENCH_ARGS)

bench: images ## every benchmark side by side (restore vs shell vs restic, RSS, readiness, drill throughput); writes BENCHMARKS.md
	@command -v restic >/dev/null || { [ "$$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -q restic >/dev/null; } || echo "atlas-drills: restic missing (apt-get install -y restic): the restic comparison is left out" >&2
	$(PY) -m tests.bench $(BENCH_ARGS)
