# The two commands of the README, and the checks CI runs.
PY ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: demo test lint lint-ci bench fuzz

$(BIN)/ftops:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	# Byte-compile the sources as a regular `pip install` does: an editable install does not, and
	# with PYTHONDONTWRITEBYTECODE set Python never writes the cache itself (about 70 modules compiled
	# again on every run: 0.05-0.08 s of each command's start-up).
	$(BIN)/python -m compileall -q src

demo: $(BIN)/ftops
	$(BIN)/ftops apply specs/ --auto-approve --wait
	$(BIN)/ftops status specs/

test: $(BIN)/ftops lint-ci
	$(BIN)/ruff check src tests bench ci
	$(BIN)/mypy
	$(BIN)/lint-imports
	FTOPS_FUZZ_PROFILE=ci $(BIN)/python -m pytest -p no:cacheprovider tests

# The property-based fuzzer at length (make test runs it with a small, fixed set of examples).
fuzz: $(BIN)/ftops
	FTOPS_FUZZ_PROFILE=long $(BIN)/python -m pytest -p no:cacheprovider tests/fuzz

# The GitHub Action and the example workflows: zizmor (security audit, offline) and GitHub's schemas
# (vendored in check-jsonschema, offline); the action's script is typed like the package.
CI_WORKFLOWS = $(wildcard examples/ci/*.yml)
lint-ci: $(BIN)/zizmor
	$(BIN)/zizmor --offline --no-progress --quiet action.yml $(CI_WORKFLOWS)
	$(BIN)/check-jsonschema --builtin-schema vendor.github-actions action.yml
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows $(CI_WORKFLOWS)
	$(BIN)/mypy --strict ci/action/run.py

# An older .venv made before these tools joined the test extra gets them here.
$(BIN)/zizmor: $(BIN)/ftops
	$(BIN)/pip install -q -e '.[test]'

# Every figure of the README's performance table, each with the reference it is compared with.
bench: $(BIN)/ftops
	$(BIN)/python bench/validate.py
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/emulator.py
	$(BIN)/python bench/plan.py
	$(BIN)/python bench/specs.py
	$(BIN)/python bench/hostile.py
	$(BIN)/python bench/evals.py
