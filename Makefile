# Arco developer commands. `make demo` and `make test` work on a fresh machine (Python only).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test lint typecheck imports parity unit bench dev clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[s3]' --group dev
	touch $(STAMP)

install: $(STAMP)  ## create .venv with everything the tests need

demo: $(STAMP)  ## run the main job on the embedded local store (./.arco)
	@bash scripts/demo.sh

lint: $(STAMP)
	$(BIN)/ruff check core functions tests benchmarks scripts
	$(BIN)/ruff format --check core functions tests benchmarks scripts

typecheck: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)
	$(BIN)/lint-imports

parity: $(STAMP)
	$(BIN)/python scripts/parity_matrix.py check

unit: $(STAMP)  ## fast tests only
	$(BIN)/pytest tests/unit tests/property -q

test: lint typecheck imports parity  ## everything CI runs: static checks, then the whole suite
	$(BIN)/pytest -q -p no:cacheprovider

bench: $(STAMP)  ## benchmarks; JSON results in benchmarks/results/
	$(BIN)/python -m benchmarks.run

dev: $(STAMP)  ## local API + timer loop on ./.arco
	$(BIN)/arco dev

clean:
	rm -rf $(VENV) .arco .mypy_cache .ruff_cache .pytest_cache benchmarks/results
