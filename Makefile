# One virtual environment, made on first use; every target below goes through it. It holds every
# optional extra (pyproject.toml: retrieval, llm, plots, finetune, ui) and the dev tools, so that
# `make run` and `make test` each do all their set-up.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run chat test lint typecheck layers unit browser bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[all,dev]'
	touch $(STAMP)

install: $(STAMP)

# The main job: the app in the browser (consult, history, doctors, benchmarks, settings) on the
# embedded engine (no model weights). The knowledge base is fetched into the data directory when
# it is not there yet, and its knowledge index built once (seconds; "up to date" afterwards) so
# that reports cite their sources. Streamlit runs headless and reads nothing from standard input
# (`make run </dev/null` works); `ddx ui` prints the address once the app answers and opens the
# browser where there is a desktop. PORT picks another port.
PORT ?= 8501
run: install
	$(BIN)/ddx data fetch ddxplus --kb-only --if-missing
	$(BIN)/ddx index build --builtin ddxplus
	$(BIN)/ddx ui --port $(PORT)

# The same consultation in the terminal.
chat: install
	$(BIN)/ddx data fetch ddxplus --kb-only --if-missing
	$(BIN)/ddx index build --builtin ddxplus
	$(BIN)/ddx chat

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy agent retrieval simulator eval data ui tests

# The UI's browser test drives Debian's chromium through Playwright (never a browser download):
# installed here when missing; without it (no apt, no sudo) that one test is skipped, saying so.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		{ $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium; } \
		|| echo "warning: could not install chromium; the browser test will be skipped" >&2; }

unit: install browser
	$(BIN)/pytest -n 2 --dist loadgroup

# The layer contract (pyproject.toml, [tool.importlinter]): imports point down the layers only.
layers: install
	$(BIN)/lint-imports

# What CI runs (.ci/run): style, types, layers, then the whole suite.
test: lint typecheck layers unit

# The figures of BENCHMARKS.md: DDXPlus dev patients at 10 and 20 questions and full profile with
# the shipped model, the same with the structural model, then the side-by-side report, the
# accuracy plot and the differential list's size/DDF1 frontier. DDX_DATA_DIR must hold ddxplus/.
BENCH_PATIENTS ?= $${DDX_DATA_DIR:-data}/ddxplus/dev_patients.csv
BENCH_OUT ?= runs/bench
BENCH_EVAL = $(BIN)/ddx eval ddxplus --patients $(BENCH_PATIENTS) --workers 2
bench: install
	rm -rf $(BENCH_OUT)
	$(BENCH_EVAL) --questions 10 --out $(BENCH_OUT)/q10
	$(BENCH_EVAL) --questions 20 --out $(BENCH_OUT)/q20
	$(BENCH_EVAL) --full-profile --out $(BENCH_OUT)/full
	$(BENCH_EVAL) --questions 10 --model structural --out $(BENCH_OUT)/structural-q10
	$(BENCH_EVAL) --questions 20 --model structural --out $(BENCH_OUT)/structural-q20
	$(BENCH_EVAL) --full-profile --model structural --out $(BENCH_OUT)/structural-full
	$(BIN)/ddx eval report $(BENCH_OUT)/q10 $(BENCH_OUT)/q20 $(BENCH_OUT)/full \
		$(BENCH_OUT)/structural-q10 $(BENCH_OUT)/structural-q20 $(BENCH_OUT)/structural-full \
		--plot $(BENCH_OUT)/accuracy.png --frontier $(BENCH_OUT)/frontier.png

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache
