# Billcycle: `make demo` serves a seeded app with a worker; `make cluster` serves it the production
# way (gunicorn and qclusters on PostgreSQL and Redis); `make test` runs the whole suite.
# All create or update .venv first; `make demo` and `make test` need only python3.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# tests/postgres runs against this server; it skips with a reason when none answers.
TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/billcycle
DEMO_ACCOUNTS ?= 2000

.PHONY: demo cluster test test-sqlite test-postgres test-faults lint format venv migrate clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@touch $(STAMP)

migrate: $(STAMP)
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py seed_demo --if-empty --accounts $(DEMO_ACCOUNTS)
	$(PY) manage.py seed_demo_history --if-empty
	@bash scripts/serve-demo

# gunicorn plus CLUSTER_QCLUSTERS qclusters; settings from the environment (docs/operations.md).
cluster: $(STAMP)
	@PY=$(PY) bash scripts/serve-cluster

test: test-sqlite test-postgres test-faults

# One pytest process per core (pytest-xdist; each has its own test database).
test-sqlite: $(STAMP)
	$(PY) -m pytest -n auto --ignore=tests/postgres --ignore=tests/faults

test-postgres: $(STAMP)
	DATABASE_URL=$(TEST_POSTGRES_URL) $(PY) -m pytest tests/postgres

# Real qcluster processes killed and restarted, against PostgreSQL + Redis and SQLite + the ORM
# broker (each test states its time bound); skips with a reason where a server cannot be reached.
test-faults: $(STAMP)
	$(PY) -m pytest tests/faults

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) staticfiles test-results .pytest_cache .ruff_cache
