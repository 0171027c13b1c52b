# Two commands on a fresh machine: `make run` talks to the persona, `make test` runs the suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
SYNAPSE_VENV ?= .venv-synapse
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SYNAPSE_STAMP := $(SYNAPSE_VENV)/.installed-stamp
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run chat test check lint typecheck imports redis-server postgresql chromium synapse bench clean install

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# Starts the terminal chat on the embedded stores (./data). Without a provider configured it
# still starts and explains, in one screen, how to configure one.
run: $(STAMP)
	$(BIN)/familiar chat

chat: run

redis-server:
	@command -v redis-server >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq redis-server; }

# Debian keeps initdb/pg_ctl off PATH (/usr/lib/postgresql/<version>/bin); the test fixture finds them there.
postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || [ -x "$$(pg_config --bindir 2>/dev/null)/initdb" ] || \
		{ $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq postgresql; }

# The dashboard's browser tests drive Debian's chromium through Playwright (never a downloaded browser).
chromium:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }

# Synapse lives in its own venv: its pins must not fight ours.
$(SYNAPSE_STAMP): synapse-constraints.txt
	$(PYTHON) -m venv $(SYNAPSE_VENV)
	$(SYNAPSE_VENV)/bin/pip install -q --disable-pip-version-check -c synapse-constraints.txt matrix-synapse
	touch $(SYNAPSE_STAMP)

synapse: $(SYNAPSE_STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)
	$(BIN)/lint-imports

check: lint typecheck imports

# pytest exits 5 when it collected no test; that is not a failure of the suite.
test: $(STAMP) redis-server postgresql chromium synapse check
	FAMILIAR_SYNAPSE_PYTHON=$(abspath $(SYNAPSE_VENV))/bin/python $(BIN)/python -m pytest -q $(PYTEST_ARGS); \
	rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests collected"; rc=0; fi; exit $$rc

bench: $(STAMP) redis-server postgresql
	$(BIN)/python -m bench.stores
	$(BIN)/python -m bench.turns
	$(BIN)/python -m bench.retrieval --dataset bench/data/familiar_recall.json
	$(BIN)/python -m bench.retrieval --dataset bench/data/familiar_heldout.json

clean:
	rm -rf $(VENV) $(SYNAPSE_VENV) .mypy_cache .pytest_cache .ruff_cache
