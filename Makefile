# Arco developer commands. `make demo` and `make test` work on a fresh machine (Python only).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The Cloud Tasks emulator pins protobuf<5 and google-cloud-tasks<3, which conflict with the
# project's dependencies: it lives in its own venv and the tests run it as a subprocess.
TASKS_EMU_VENV  := .venv-tasks-emu
TASKS_EMU_STAMP := $(TASKS_EMU_VENV)/.installed
# checkov pins its own HCL parser: it too gets a venv of its own (tests/infra runs it).
CHECKOV_VENV  := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
# Dagster itself, the differential suite's oracle (tests/differential): its dependencies are not
# Arco's, so it gets a venv of its own and runs as a subprocess (scripts/dagster_oracle.py).
DAGSTER_VENV  := .venv-dagster
DAGSTER_STAMP := $(DAGSTER_VENV)/.installed

STACK_DIR  ?= .stack
STACK_ARGS ?=

.PHONY: install tasks-emulator checkov dagster terraform-check fuzz mutate demo test lint typecheck imports parity unit bench dev stack stack-down clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[s3,sql]' --group dev
	touch $(STAMP)

$(TASKS_EMU_STAMP):
	$(PYTHON) -m venv $(TASKS_EMU_VENV)
	$(TASKS_EMU_VENV)/bin/pip install --quiet gcloud-tasks-emulator==0.6.2
	touch $(TASKS_EMU_STAMP)

$(CHECKOV_STAMP):
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet checkov==3.3.30
	touch $(CHECKOV_STAMP)

$(DAGSTER_STAMP):
	$(PYTHON) -m venv $(DAGSTER_VENV)
	$(DAGSTER_VENV)/bin/pip install --quiet dagster==1.13.29
	touch $(DAGSTER_STAMP)

install: $(STAMP)  ## create .venv with everything the tests need

tasks-emulator: $(TASKS_EMU_STAMP)  ## create .venv-tasks-emu (the Cloud Tasks emulator)

checkov: $(CHECKOV_STAMP)  ## create .venv-checkov (checkov, run by tests/infra)

dagster: $(DAGSTER_STAMP)  ## create .venv-dagster (Dagster 1.13.29, the differential suite's oracle)

terraform-check: $(STAMP)  ## offline validation of infra/ against the google provider's schema
	$(BIN)/python scripts/check_terraform.py

demo: $(STAMP)  ## run the main job on the embedded local store (./.arco)
	@bash scripts/demo.sh

lint: $(STAMP)
	$(BIN)/ruff check core functions tests benchmarks scripts examples
	$(BIN)/ruff format --check core functions tests benchmarks scripts examples

typecheck: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)
	$(BIN)/lint-imports

parity: $(STAMP) $(TASKS_EMU_STAMP) $(CHECKOV_STAMP) $(DAGSTER_STAMP)  ## the parity matrix: every cited test runs here (needs the tool venvs)
	$(BIN)/python scripts/parity_matrix.py check

unit: $(STAMP)  ## fast tests only
	HYPOTHESIS_PROFILE=ci $(BIN)/pytest tests/unit tests/property -q

test: lint typecheck imports parity $(TASKS_EMU_STAMP) $(CHECKOV_STAMP) $(DAGSTER_STAMP)  ## everything CI runs: static checks, then the whole suite
	HYPOTHESIS_PROFILE=ci $(BIN)/pytest -q -p no:cacheprovider

mutate: $(STAMP)  ## mutation testing of the domain (long; not in make test); MODULES=... narrows it
	$(BIN)/python scripts/mutate.py $(MODULES)

fuzz: $(STAMP)  ## property tests, randomized, 20x the examples (about 10 min; not in make test)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/pytest tests/property -q -p no:cacheprovider

bench: $(STAMP)  ## benchmarks; JSON results in benchmarks/results/
	$(BIN)/python -m benchmarks.run

dev: $(STAMP)  ## local API + timer loop on ./.arco
	$(BIN)/arco dev

stack: $(STAMP) $(TASKS_EMU_STAMP)  ## the cloud topology on local emulators (docs/stack.md); Ctrl-C stops it
	$(BIN)/python -m arco.stack up --dir $(STACK_DIR) $(STACK_ARGS)

stack-down:  ## stop every process `make stack` started
	$(BIN)/python -m arco.stack down --dir $(STACK_DIR)

clean:
	rm -rf $(VENV) $(TASKS_EMU_VENV) $(CHECKOV_VENV) $(DAGSTER_VENV) .arco .stack .mypy_cache .ruff_cache .pytest_cache benchmarks/results
