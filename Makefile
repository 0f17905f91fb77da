# The two commands of the README: `make run` (install, then the main job) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: setup browser run test lint bench

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

# The web page's end-to-end test drives Debian's Chromium: installed here when missing, on Debian as root;
# elsewhere that one test is skipped (CI sets FERDATA_REQUIRE_BROWSER=1 so it fails instead).
browser:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
		&& apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
		|| echo "no chromium: the browser test will be skipped"

test: setup browser
	ruff check .
	ruff format --check .
	python -m pytest -n auto --dist loadfile

bench: setup
	python benchmarks/ingest.py
