# The two commands of the README, and the checks CI runs.
PY ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: demo test lint bench fuzz

$(BIN)/ftops:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'

demo: $(BIN)/ftops
	$(BIN)/ftops apply specs/ --auto-approve --wait
	$(BIN)/ftops status specs/

test: $(BIN)/ftops
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	FTOPS_FUZZ_PROFILE=ci $(BIN)/python -m pytest -p no:cacheprovider tests

# The property-based fuzzer at length (make test runs it with a small, fixed set of examples).
fuzz: $(BIN)/ftops
	FTOPS_FUZZ_PROFILE=long $(BIN)/python -m pytest -p no:cacheprovider tests/fuzz

bench: $(BIN)/ftops
	$(BIN)/python bench/validate.py
	$(BIN)/python bench/emulator.py
	$(BIN)/python bench/plan.py
	$(BIN)/python bench/hostile.py
