# perdure: make setup | demo | test | bench | lint | fuzz  (bench-quick: a smoke run of the benchmarks;
# fuzz: 20,000 mutated requests against `perdure serve`, with a summary; browsers: the chromium the
# console's browser tests drive, installed with apt-get when missing; js: the official JavaScript durable SDK
# the JavaScript end-to-end test runs, installed with npm from tests/js/package-lock.json when missing;
# screenshots: docs/img from them)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

CHROMIUM := /usr/bin/chromium

JS_SDK := tests/js/node_modules/.package-lock.json

.PHONY: setup browsers js demo test bench bench-quick lint fuzz screenshots clean

setup: $(STAMP)

browsers: $(CHROMIUM)

$(CHROMIUM):
	@if [ "$$(id -u)" != 0 ]; then \
		echo "make browsers: $(CHROMIUM) is missing and installing it needs root: run 'sudo apt-get install -y chromium' (the console's browser tests drive it)" >&2; exit 1; fi
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

js: $(JS_SDK)

# npm writes node_modules/.package-lock.json on every install: present and newer than the lock file,
# nothing is fetched (offline-safe)
$(JS_SDK): tests/js/package-lock.json
	@command -v npm >/dev/null || { echo "make js: npm is missing: install Node.js 20 or later with npm (the JavaScript end-to-end test needs them)" >&2; exit 1; }
	cd tests/js && npm ci --no-audit --no-fund --loglevel=error
	touch $(JS_SDK)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: setup
	$(VENV)/bin/perdure run examples/order.py:handler --input '{"order_id": "o-1001", "items": ["book", "lamp"]}' --memory --skip-time

test: setup browsers js lint
	$(PY) -m pytest -q -n 2

lint: setup
	$(VENV)/bin/ruff check perdure tests examples benchmarks
	$(VENV)/bin/ruff format --check perdure tests examples benchmarks
	$(VENV)/bin/mypy

screenshots: setup browsers
	PERDURE_SCREENSHOTS=docs $(PY) -m pytest -q tests/console/test_console_browser.py

bench: setup
	$(PY) benchmarks/run.py

bench-quick: setup
	$(PY) benchmarks/run.py --quick

fuzz: setup
	$(PY) -m tests.e2e.server_fuzz --requests 20000

clean:
	rm -rf $(VENV) .perdure tests/js/node_modules
