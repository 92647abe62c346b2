# perdure: make setup | demo | test | bench | lint  (bench-quick: a smoke run of the benchmarks)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup demo test bench bench-quick lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: setup
	$(VENV)/bin/perdure run examples/order.py:handler --input '{"order_id": "o-1001", "items": ["book", "lamp"]}' --memory --skip-time

test: setup lint
	$(PY) -m pytest -q -n 2

lint: setup
	$(VENV)/bin/ruff check perdure tests examples benchmarks
	$(VENV)/bin/ruff format --check perdure tests examples benchmarks
	$(VENV)/bin/mypy

bench: setup
	$(PY) benchmarks/run.py

bench-quick: setup
	$(PY) benchmarks/run.py --quick

clean:
	rm -rf $(VENV) .perdure
