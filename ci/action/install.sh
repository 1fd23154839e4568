#!/usr/bin/env bash
# Install ftops from the action's own checkout into a private venv, never the name "ftops" from a
# package index (whoever registers that name would run code in your CI). Puts the venv's bin on PATH
# for the job's later steps.
# Env: FTOPS_SOURCE (the action's checkout, github.action_path), FTOPS_VENV (where the venv goes),
#      FTOPS_PYTHON (the interpreter setup-python installed).
set -euo pipefail
: "${FTOPS_SOURCE:?FTOPS_SOURCE is not set}"
: "${FTOPS_VENV:?FTOPS_VENV is not set}"
python="${FTOPS_PYTHON:-python3}"

"$python" -m venv "$FTOPS_VENV"
"$FTOPS_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$FTOPS_SOURCE"
"$FTOPS_VENV/bin/ftops" --version 2>/dev/null || true
if [ -n "${GITHUB_PATH:-}" ]; then
  echo "$FTOPS_VENV/bin" >> "$GITHUB_PATH"
fi
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  echo "python=$FTOPS_VENV/bin/python" >> "$GITHUB_OUTPUT"
fi
