# The two commands a newcomer needs: `make run` and `make test`. Everything else is a helper of those.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run test lint typecheck pytest bench scenarios postgres-test browsers clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

$(VENV): $(STAMP)

var:
	mkdir -p var

# `make run ADDR=0.0.0.0 PORT=8001` serves elsewhere; the logins are printed with the address served.
ADDR ?= 127.0.0.1
PORT ?= 8000

run: $(STAMP) var
	DEBUG=1 $(BIN)/isotrack migrate --no-input
	DEBUG=1 $(BIN)/isotrack demo --if-empty --url http://$(ADDR):$(PORT)/
	DEBUG=1 $(BIN)/isotrack serve --addr $(ADDR):$(PORT)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

# The browser tests drive Debian's Chromium (Playwright cannot download its own browsers here).
browsers:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian's chromium for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "the browser tests need /usr/bin/chromium: sudo apt-get install chromium"; exit 1; fi; }

pytest: $(STAMP) browsers
	$(BIN)/pytest --durations=20 $(PYTEST_ARGS)  # the slowest twenty named: where the suite's time goes

test: lint typecheck pytest

bench: $(STAMP)
	@missed=0; for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || missed=1; done; \
	 test $$missed = 0 || { echo "a benchmark missed its target"; exit 1; }

scenarios: $(STAMP)
	$(PYTHON) ../shared/scenarios/check.py --cmd '$(BIN)/isotrack evaluate {file}' ../shared/scenarios ../shared/scenarios/medications

clean:
	rm -rf $(VENV) var/*.sqlite3 test-output
