# One word per loop: `make run IN=… OUT=…`, `make test`, `make check`, `make bench`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The project's verified weights live in ../shared/models when it is beside the checkout;
# elsewhere Veil uses its cache folder and downloads the pinned files.
SHARED_MODELS := $(abspath ../shared/models)
export VEIL_MODELS_DIR ?= $(if $(wildcard $(SHARED_MODELS)/MANIFEST.md),$(SHARED_MODELS),)
IN  ?= ../shared/data/video/dashcam_highway_640x360.mp4
OUT ?= out/$(basename $(notdir $(IN))).anon$(suffix $(IN))

.PHONY: install install-dev browser run check test bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .

install-dev: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,serve,audit]'

run: install
	mkdir -p "$(dir $(OUT))"
	$(BIN)/veil anonymize "$(IN)" -o "$(OUT)"

check: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The web console's browser test drives Debian's Chromium (installed once, with apt).
browser:
	bash .ci/install-browser

test: check browser
	$(BIN)/pytest

bench: install-dev
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/run_all.py
