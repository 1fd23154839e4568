"""The Foundry data plane under /openai/v1: files and uploads, fine-tuning jobs, chat completions."""

from __future__ import annotations

from . import _files, _inference, _jobs

ROUTES = [*_files.ROUTES, *_jobs.ROUTES, *_inference.ROUTES]
