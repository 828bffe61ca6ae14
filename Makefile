# BlastDeck: `make run` serves the embedded default on http://127.0.0.1:8000; `make test` runs
# the tests. Both install what is missing first (a venv with the locked Python dependencies,
# and BLAST+ / PostgreSQL through apt when run as root).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench system-deps test-services clean

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	touch $(STAMP)

system-deps:
	@scripts/install-system-deps

test-services:
	@scripts/ensure-test-services

run: system-deps $(STAMP)
	$(BIN)/blastdeck serve

test: system-deps test-services $(STAMP)
	$(BIN)/ruff check blastdeck tests bench
	$(BIN)/pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check blastdeck tests bench

bench: system-deps $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .blastdeck
