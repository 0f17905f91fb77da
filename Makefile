# The two commands of the README: `make run` (install, then the main job) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: setup run test lint bench

# Installs into .venv whenever pyproject.toml changes.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# Without a GPU, take the CPU build of torch (a plain install would fetch a 5 GB CUDA build).
	command -v nvidia-smi >/dev/null || $(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

setup: $(VENV)/.installed

# The main job: the whole pipeline, then the comparison it produced and each stage's time.
run: setup
	dvc repro
	@cat reports/compare.md
	@echo "Stage times (reports/timings/):"
	@python -m pipelines.timings

test: setup
	ruff check .
	ruff format --check .
	python -m pytest

bench: setup
	python benchmarks/ingest.py
