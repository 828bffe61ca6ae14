# BlastDeck: `make run` serves the embedded default on http://127.0.0.1:8000; `make test` runs
# the tests. Both install what is missing first (a venv with the locked Python dependencies,
# the web page's npm packages, and BLAST+ / Node / PostgreSQL / Redis / Chromium through apt
# when run as root).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NPM_STAMP := web/node_modules/.installed
WEB_BUILD := blastdeck/static/index.html
WEB_SOURCES := $(shell find web/src web/public -type f 2>/dev/null) web/index.html \
	web/vite.config.ts web/tsconfig.json web/package.json

.PHONY: run test lint web web-test api-types bench system-deps test-services bytecode clean

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	touch $(STAMP)

system-deps:
	@scripts/install-system-deps
	@scripts/ensure-node

$(NPM_STAMP): web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $(NPM_STAMP)

# The built page lands in blastdeck/static, which `blastdeck serve` serves at /.
$(WEB_BUILD): $(NPM_STAMP) $(WEB_SOURCES)
	cd web && npm run build

web: $(WEB_BUILD)

web-test: $(NPM_STAMP)
	cd web && npm test

# The page's API types and domain tables, generated from the Python code: the OpenAPI document
# (web/src/api/openapi.json), its TypeScript types (schema.ts, openapi-typescript) and the
# domain tables (domain.generated.ts). tests/test_openapi_types.py fails when they drift.
api-types: $(STAMP) $(NPM_STAMP)
	$(BIN)/python -m blastdeck.api.export_openapi web/src/api/openapi.json
	cd web && npm run --silent api-types
	$(BIN)/python -m blastdeck.api.export_domain web/src/api/domain.generated.ts

# The package's bytecode, written once: where PYTHONDONTWRITEBYTECODE is set (as on the CI
# host) every `blastdeck` process (server, worker, CLI call) would compile its ~200 modules
# again, ~0.4 CPU-s each time. Only changed modules are compiled again.
bytecode: $(STAMP)
	$(BIN)/python -m compileall -q blastdeck

test-services:
	@scripts/ensure-test-services

run: system-deps $(STAMP) bytecode web
	$(BIN)/blastdeck serve

# Python lint, the page's unit tests (Vitest), then pytest (API, engines, and the page itself
# end to end in Chromium against the freshly built app), in two pytest-xdist workers: most
# tests wait on servers, workers and BLAST, so two overlap well on two cores. A module stays on
# one worker (--dist loadfile): its deployments are built once; the slowest modules go first
# (tests/conftest.py; --no-loadscope-reorder keeps that order: xdist would sort modules by
# their number of tests), so the run does not end with one of them alone.
test: system-deps test-services $(STAMP) bytecode web web-test
	$(BIN)/ruff check blastdeck tests bench
	$(BIN)/pytest -q -p no:cacheprovider -n 2 --dist loadfile --no-loadscope-reorder

lint: $(STAMP)
	$(BIN)/ruff check blastdeck tests bench

bench: system-deps $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .blastdeck web/node_modules blastdeck/static
