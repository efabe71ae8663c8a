# One virtual environment, made on first use; every target below goes through it.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run chat test lint typecheck unit bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The main job: a consultation with the embedded engine (no model weights). The knowledge base
# is fetched into the data directory when it is not there yet.
run: install
	$(BIN)/ddx data fetch ddxplus --kb-only --skip-existing
	$(BIN)/ddx chat

chat: run

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy agent retrieval simulator eval data ui tests

unit: install
	$(BIN)/pytest -n 2

# What CI runs (.ci/run): style, types, then the whole suite.
test: lint typecheck unit

bench: install
	$(BIN)/ddx eval ddxplus --patients $${DDX_DATA_DIR:-data}/ddxplus/dev_patients.csv --questions 10 --workers 2 --out runs/bench-q10

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache
