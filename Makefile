# Two commands on a fresh machine: `make run` (demo) and `make test` (whole suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export CONTROLPLANE_DATA_DIR ?= $(CURDIR)/var
DEMO_STORE := $(CONTROLPLANE_DATA_DIR)/demo-runs

.PHONY: setup run serve test lint bench load demo-store screenshots interop

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.txt
	touch $@

# Shared, idempotent set-up: venv, Python packages, graphviz, Django's tables.
setup: $(VENV)/.installed
	scripts/ensure-system-packages.sh
	$(PY) manage.py migrate --noinput -v 0

demo-store: setup
	@if [ -z "$$CONTROLPLANE_RUN_STORE" ] && [ ! -d "$(DEMO_STORE)" ]; then \
		$(PY) manage.py demo_store "$(DEMO_STORE)"; fi
	@if [ -z "$$CONTROLPLANE_RUN_STORE" ]; then $(PY) manage.py demo_state --runs "$(DEMO_STORE)"; fi

# The demo login is printed by the server itself, after its start banner, so it is the last thing on screen.
run: demo-store
	$(PY) manage.py rundemo 127.0.0.1:$(PORT)

# gunicorn_conf.py: metrics summed over the workers, one log line per request (text or JSON).
serve: demo-store
	$(PY) manage.py collectstatic --noinput -v 0
	$(VENV)/bin/gunicorn -c controlplane/gunicorn_conf.py controlplane.wsgi --bind 127.0.0.1:$(PORT) --workers $${WEB_CONCURRENCY:-2} --threads 4

$(VENV)/.interop: requirements-interop.txt $(VENV)/.installed
	$(VENV)/bin/pip install --quiet -r requirements-interop.txt
	touch $@

# pytest-xdist workers (each its own browser, PostgreSQL database and Redis database); TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= 2

test: setup $(VENV)/.interop
	scripts/ensure-system-packages.sh --browser
	scripts/ensure-services.sh
	$(PY) -m pytest -n $(TEST_WORKERS) --dist worksteal

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

# Page timings at 1k/10k/100k runs (file store and PostgreSQL); e.g. BENCH_ARGS="--quick" or "--sizes 1000,10000 --no-postgres".
bench: setup
	scripts/ensure-postgres.sh
	$(PY) bench/run.py $(BENCH_ARGS)

# Load and faults at 100k runs: wrk at 64 connections, a writer on a copy of the store, a PostgreSQL
# restart (in a cluster of its own, port 5433); e.g. LOAD_ARGS="--quick" or "--scenarios file,writer".
load: setup
	@command -v wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
	$(PY) bench/load.py $(LOAD_ARGS)

# The browser tests write docs-*.png at 1280x800; this refreshes the README's copies.
screenshots:
	@for f in test-results/screenshots/docs-*.png; do cp "$$f" "docs/screenshots/$${f##*/docs-}"; done

# The OpenTelemetry export against a real receiver: starts Arize Phoenix on 127.0.0.1 (about a minute),
# pushes run families with export_otlp and reads them back. `make test` runs it too; this runs it alone.
interop: setup $(VENV)/.interop
	$(PY) -m pytest -m interop tests/interop
