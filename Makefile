# Conveniences over the commands in README.md; nothing here is needed to use or test the kit.
.PHONY: install plan test lint bench
VENV ?= .venv

install:
	python3 -m venv $(VENV) && $(VENV)/bin/pip install -q -e '.[dev]'

plan: install
	$(VENV)/bin/mtasts plan --stack example

test:
	bash scripts/test

lint:
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/mypy

bench:
	for script in bench/bench_*.py; do echo "== $$script"; $(VENV)/bin/python $$script || exit 1; done
