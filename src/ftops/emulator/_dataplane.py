"""The Foundry data plane under /openai/v1: files and uploads, fine-tuning jobs, chat completions, evals."""

from __future__ import annotations

from . import _evals, _files, _graders_api, _inference, _jobs

# _evals.ROUTES also carries its two admin routes (/_emulator/evals/faults and /limits).
ROUTES = [*_files.ROUTES, *_jobs.ROUTES, *_inference.ROUTES, *_evals.ROUTES, *_graders_api.ROUTES]
