"""The Foundry data plane: files and uploads, fine-tuning jobs, chat completions, evals.

Served twice, as Azure does: under `/openai/v1/...` (no api-version) and under the dated surface
`/openai/...?api-version=YYYY-MM-DD[-preview]` that `openai.AzureOpenAI` and many scripts use. A
dated request without a known api-version, or older than the version that brought the operation,
gets Azure's JSON 404 (`{"error": {"code": "404", "message": "Resource not found"}}`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from . import _copy, _evals, _files, _graders_api, _inference, _jobs
from ._http import JSON

# Dated versions of the authoring spec (specification/cognitiveservices/data-plane/AzureOpenAI/
# authoring/{stable,preview}/...) that carry /files and /fine_tuning/jobs.
DATED_VERSIONS = frozenset({
    "2024-02-01", "2024-06-01", "2024-10-21",
    "2023-12-01-preview", "2024-02-15-preview", "2024-03-01-preview", "2024-04-01-preview", "2024-05-01-preview",
    "2024-07-01-preview", "2024-08-01-preview", "2024-09-01-preview", "2024-10-01-preview", "2024-12-01-preview",
    "2025-01-01-preview", "2025-02-01-preview", "2025-03-01-preview", "2025-04-01-preview",
})
CHECKPOINTS_SINCE = "2024-05-01"  # the first versions with /checkpoints (2024-05-01-preview, stable 2024-06-01)
NOT_FOUND = {"error": {"code": "404", "message": "Resource not found"}}


def _dated(endpoint: Callable[[Request], Any], since: str, created: bool) -> Callable[[Request], Any]:
    """`endpoint` behind the api-version check; `created`: answer 201 with Location, as the dated
    spec's post_finetuning_job example does."""
    async def handler(request: Request) -> Response:
        version = request.query_params.get("api-version", "")
        if version not in DATED_VERSIONS or version[:10] < since:
            return JSON(NOT_FOUND, status_code=404)
        if asyncio.iscoroutinefunction(endpoint):
            response: Response = await endpoint(request)
        else:
            response = await run_in_threadpool(endpoint, request)
        if created and response.status_code == 200:
            job_id = orjson.loads(response.body)["id"]
            response.status_code = 201
            response.headers["Location"] = str(request.url_for("dated_job", job_id=job_id))
        return response
    return handler


def _dated_routes(routes: list[BaseRoute]) -> list[BaseRoute]:
    out: list[BaseRoute] = []
    for r in routes:
        assert isinstance(r, Route)
        path = r.path.replace("/openai/v1/", "/openai/", 1)
        methods = sorted((r.methods or set()) - {"HEAD"})
        since = CHECKPOINTS_SINCE if path.endswith("/checkpoints") else "0"
        created = path == "/openai/fine_tuning/jobs" and methods == ["POST"]
        name = "dated_job" if path == "/openai/fine_tuning/jobs/{job_id}" and methods == ["GET"] else None
        out.append(Route(path, _dated(r.endpoint, since, created), methods=methods, name=name))
    return out


# _evals.ROUTES also carries its two admin routes (/_emulator/evals/faults and /limits).
# _copy.ROUTES (the v1-only copy API) carries its admin route (/_emulator/copies/fail).
ROUTES = [*_files.ROUTES, *_jobs.ROUTES, *_inference.ROUTES, *_evals.ROUTES, *_graders_api.ROUTES, *_copy.ROUTES,
          *_dated_routes([*_files.ROUTES, *_jobs.ROUTES])]
