# The two commands of README.md: `make demo` and `make test`. Everything a fresh machine needs is here.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test venv install install-test browser lint typecheck format

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-test: $(BIN)/python browser
	$(BIN)/pip install --quiet -e '.[test]'

# The browser tests' own needs, each installed only when missing, so `make test` stays fast:
# Debian's chromium (Playwright drives it; its own browser download cannot reach a closed
# network) and axe-core from its npm package, pinned with its integrity hash in the lock file.
CHROMIUM := /usr/bin/chromium
AXE := tests/browser/node_modules/axe-core/axe.min.js
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT := DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get -qq -o=Dpkg::Use-Pty=0

browser: $(CHROMIUM) $(AXE)

$(CHROMIUM):
	@echo "installing Debian's chromium for the browser tests (apt-get)"
	@log=$$(mktemp); { $(APT) update && $(APT) install -y --no-install-recommends \
	  chromium fonts-dejavu-core; } >$$log 2>&1 || { cat $$log; rm -f $$log; exit 1; }; rm -f $$log

$(AXE): tests/browser/package.json tests/browser/package-lock.json
	@command -v npm >/dev/null || { echo "installing npm (apt-get)"; \
	  $(APT) update >/dev/null && $(APT) install -y --no-install-recommends npm >/dev/null; }
	npm ci --prefix tests/browser --silent --no-audit --no-fund
	@touch $@

demo: install
	$(BIN)/d365xero demo

lint:
	$(BIN)/ruff format --check src tests $(wildcard bench)
	$(BIN)/ruff check src tests $(wildcard bench)

typecheck:
	$(BIN)/mypy

format:
	$(BIN)/ruff format src tests $(wildcard bench)
	$(BIN)/ruff check --fix src tests $(wildcard bench)

# Two test processes, a test file each at a time (a file's tests share fixtures and, on
# PostgreSQL, lock keys): on the 2-core CI machine the suite takes about 16 minutes instead of
# 20. TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= 2

test: install-test lint typecheck
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile
