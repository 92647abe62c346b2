# perdure: make setup | demo | test | bench | lint | fuzz  (bench-quick: a smoke run of the benchmarks;
# fuzz: 20,000 mutated requests against `perdure serve`, with a summary; browsers: the chromium the
# console's browser tests drive, installed with apt-get when missing)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

CHROMIUM := /usr/bin/chromium

.PHONY: setup browsers demo test bench bench-quick lint fuzz clean

setup: $(STAMP)

browsers: $(CHROMIUM)

$(CHROMIUM):
	@if [ "$$(id -u)" != 0 ]; then \
		echo "make browsers: $(CHROMIUM) is missing and installing it needs root: run 'sudo apt-get install -y chromium' (the console's browser tests drive it)" >&2; exit 1; fi
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: setup
	$(VENV)/bin/perdure run examples/order.py:handler --input '{"order_id": "o-1001", "items": ["book", "lamp"]}' --memory --skip-time

test: setup browsers lint
	$(PY) -m pytest -q -n 2

lint: setup
	$(VENV)/bin/ruff check perdure tests examples benchmarks
	$(VENV)/bin/ruff format --check perdure tests examples benchmarks
	$(VENV)/bin/mypy

bench: setup
	$(PY) benchmarks/run.py

bench-quick: setup
	$(PY) benchmarks/run.py --quick

fuzz: setup
	$(PY) -m tests.e2e.server_fuzz --requests 20000

clean:
	rm -rf $(VENV) .perdure
