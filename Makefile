# One entry point for people and CI. `make demo` installs everything, runs the demo and serves it
# at http://127.0.0.1:8000 (Ctrl-C stops);
# `make test` installs everything, lints, type-checks and runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test check lint typecheck layers pytest nightly bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,spark]'
	touch $(STAMP)

# The web application's tests drive Debian's Chromium (a browser download from elsewhere is
# neither wanted nor possible here).
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(CHROMIUM):
	$(SUDO) apt-get install -y --no-install-recommends chromium \
	  || ($(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends chromium)

# Spark (the [spark] extra, tests marked spark) needs a Java 17+ runtime.
JAVA := /usr/bin/java

$(JAVA):
	$(SUDO) apt-get install -y --no-install-recommends openjdk-17-jre-headless \
	  || ($(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends openjdk-17-jre-headless)

install: $(STAMP) $(CHROMIUM) $(JAVA)

demo: install
	$(BIN)/quaywatch demo --serve

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: install
	$(BIN)/mypy

layers: install
	$(BIN)/lint-imports

pytest: install
	$(BIN)/pytest -n 2

check: lint typecheck layers

test: check pytest

# The nightly profile: the fuzz suite feeds each reader 10,000 mutated files instead of 1,000.
nightly: install
	QUAYWATCH_TEST_PROFILE=nightly $(BIN)/pytest -n 2

bench: install
	$(BIN)/python benchmarks/ingest.py

clean:
	rm -rf $(VENV) quaywatch.db quaywatch.db-wal quaywatch.db-shm
