VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test bench lint clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/foxplug run

test: $(STAMP)
	$(VENV)/bin/ruff check engine script_api tests benchmarks
	$(VENV)/bin/ruff format --check engine script_api tests benchmarks
	$(PY) -m pytest -q -n 2

bench: $(STAMP)
	$(PY) -m benchmarks

lint: $(STAMP)
	$(VENV)/bin/ruff check --fix engine script_api tests benchmarks
	$(VENV)/bin/ruff format engine script_api tests benchmarks

clean:
	rm -rf $(VENV) build dist *.egg-info
