# The two commands of the README, and the checks CI runs.
PY ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
# uv installs the locked set (uv.lock); pip installs uv itself, at this version.
UV_VERSION = 0.13.9
# UV_COMPILE_BYTECODE: uv does not byte-compile what it installs (pip does); with PYTHONDONTWRITEBYTECODE
# set, openai alone was then compiled again by every command (its import: 1.0 s of CPU instead of 0.4).
UV = UV_PROJECT_ENVIRONMENT=$(VENV) UV_PYTHON_DOWNLOADS=never UV_COMPILE_BYTECODE=1 $(BIN)/uv
EXTRAS = --extra test --extra local --extra png
# LOCKED=0 (make test-latest): the newest versions pyproject.toml's ranges allow, instead of the lock.
LOCKED ?= 1

.PHONY: demo test test-latest lock audit lint lint-ci bench fuzz

# The venv: exactly uv.lock (test tools and the local Foundry included), ftops itself editable. Made
# again when the lock or pyproject.toml changes. The sources are byte-compiled as a regular `pip
# install` does: an editable install does not, and with PYTHONDONTWRITEBYTECODE set Python never writes
# the cache itself (about 70 modules compiled again on every run: 0.05-0.08 s of each command's start-up).
$(BIN)/ftops: pyproject.toml uv.lock
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)
ifeq ($(LOCKED),1)
	$(UV) sync -q --locked --inexact $(EXTRAS)
else
	$(UV) pip install -q --python $(BIN)/python --upgrade --resolution highest -e '.[test,local,png]'
endif
	$(BIN)/python -m compileall -q src
	touch $(BIN)/ftops

demo: $(BIN)/ftops
	$(BIN)/ftops apply specs/ --auto-approve --wait
	$(BIN)/ftops status specs/

test: $(BIN)/ftops lint-ci
	$(BIN)/ruff check src tests bench ci
	$(BIN)/mypy
	$(BIN)/mypy bench  # the benchmarks call ftops' API: a changed signature breaks `make bench`
	$(BIN)/lint-imports
	# -n 4 on 2 cores: most of an end-to-end test is waiting on the local Foundry's clock and settling, so
	# four workers overlap the waits (the suite: 6 min instead of about 18 on this 2-core machine).
	FTOPS_FUZZ_PROFILE=ci $(BIN)/python -m pytest -p no:cacheprovider -n 4 tests

# The whole of `make test` on the newest versions the ranges in pyproject.toml allow today, in a venv
# of its own (.venv-latest), after listing what differs from the lock: drift shows up here as a
# finding before it shows up as a red landing.
test-latest:
	rm -rf .venv-latest
	$(MAKE) --no-print-directory $(CURDIR)/.venv-latest/bin/ftops VENV=$(CURDIR)/.venv-latest LOCKED=0
	$(PY) ci/lockdiff.py uv.lock .venv-latest
	$(MAKE) --no-print-directory test VENV=$(CURDIR)/.venv-latest LOCKED=0

# Resolve uv.lock again from pyproject.toml's ranges (commit the result; Dependabot proposes the same).
lock: $(BIN)/ftops
	$(UV) lock --upgrade

# Known vulnerabilities (PyPI's advisory data) in every locked package, for every platform. --strict: a
# package the advisory service cannot answer for fails the audit (never a green "nothing found").
audit: $(BIN)/ftops
	$(UV) export -q --frozen --no-emit-project $(EXTRAS) --format requirements-txt -o $(VENV)/locked.txt
	$(BIN)/pip-audit --strict --progress-spinner off --disable-pip --require-hashes -r $(VENV)/locked.txt

# The property-based fuzzer at length (make test runs it with a small, fixed set of examples).
fuzz: $(BIN)/ftops
	FTOPS_FUZZ_PROFILE=long $(BIN)/python -m pytest -p no:cacheprovider tests/fuzz

# The GitHub Action and the example workflows: zizmor (security audit, offline) and GitHub's schemas
# (vendored in check-jsonschema, offline); the action's script is typed like the package.
CI_WORKFLOWS = $(wildcard examples/ci/*.yml)
lint-ci: $(BIN)/ftops
	$(BIN)/zizmor --offline --no-progress --quiet action.yml $(CI_WORKFLOWS)
	$(BIN)/check-jsonschema --builtin-schema vendor.github-actions action.yml
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows $(CI_WORKFLOWS)
	$(BIN)/check-jsonschema --builtin-schema vendor.dependabot .github/dependabot.yml
	$(BIN)/mypy --strict ci/action/run.py ci/lockdiff.py

# Every figure of the README's performance table, each with the reference it is compared with.
bench: $(BIN)/ftops
	$(BIN)/python bench/validate.py
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/apply.py
	$(BIN)/python bench/emulator.py
	$(BIN)/python bench/plan.py
	$(BIN)/python bench/specs.py
	$(BIN)/python bench/hostile.py
	$(BIN)/python bench/evals.py
	$(BIN)/python bench/accounts.py
