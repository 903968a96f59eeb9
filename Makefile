# `make run` and `make test` set everything up from a fresh clone.
VENV    ?= .venv
PYTHON  ?= python3
BIN      = $(VENV)/bin
RUNTIME  = $(VENV)/.runtime-installed
DEV      = $(VENV)/.dev-installed

.PHONY: run test lint typecheck pytest install clean ui frontend-test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(RUNTIME): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(DEV): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[dev]"
	touch $@ $(RUNTIME)

install: $(RUNTIME)

# The admin UI (frontend/) is built into app/static/admin when missing or older than its sources.
UI_DEPS    = frontend/node_modules/.package-lock.json
UI_BUNDLE  = app/static/admin/index.html
UI_SOURCES = $(shell find frontend/src -type f) frontend/index.html frontend/vite.config.ts \
             frontend/tsconfig.json frontend/package-lock.json

$(UI_DEPS): frontend/package-lock.json
	cd frontend && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
	touch $@

$(UI_BUNDLE): $(UI_DEPS) $(UI_SOURCES)
	cd frontend && npx vite build
	touch $@

ui: $(UI_BUNDLE)

# Type check, unit tests, and the generated API types against the app (like schema.graphql).
frontend-test: $(UI_DEPS) $(DEV)
	cd frontend && npx tsc --noEmit -p tsconfig.json
	cd frontend && npx vitest run
	cd frontend && MAILGATE_PYTHON=$(abspath $(BIN))/python node scripts/gen-types.mjs --check

run: $(RUNTIME) ui
	$(BIN)/mailgate migrate
	$(BIN)/mailgate serve

lint: $(DEV)
	$(BIN)/ruff check app tests alembic bench
	$(BIN)/ruff format --check app tests alembic bench

typecheck: $(DEV)
	$(BIN)/mypy app

pytest: $(DEV) ui  # tests/e2e drives the built UI in chromium
	$(BIN)/python -m pytest

test: lint typecheck frontend-test pytest

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
