# Two commands do all set-up on a fresh machine with Python 3.11+:
#   make serve   the service on http://127.0.0.1:8000 (embedded PostgreSQL and Redis if none is configured)
#   make test    lint, format check, types and the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: serve test lint openapi clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

serve: $(STAMP)
	$(BIN)/statuspage serve

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

openapi: $(STAMP)
	$(BIN)/statuspage openapi

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
