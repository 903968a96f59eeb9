# `make run` and `make test` set everything up from a fresh clone.
VENV    ?= .venv
PYTHON  ?= python3
BIN      = $(VENV)/bin
RUNTIME  = $(VENV)/.runtime-installed
DEV      = $(VENV)/.dev-installed

.PHONY: run test lint typecheck pytest install clean

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

run: $(RUNTIME)
	$(BIN)/mailgate migrate
	$(BIN)/mailgate serve

lint: $(DEV)
	$(BIN)/ruff check app tests alembic bench
	$(BIN)/ruff format --check app tests alembic bench

typecheck: $(DEV)
	$(BIN)/mypy app

pytest: $(DEV)
	$(BIN)/python -m pytest

test: lint typecheck pytest

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
