"""Admin API under /_emulator (a path Azure never uses): time, faults, limits, failures, state."""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import _catalog, _fidelity, _managed_identity, _sim
from ._faults import KINDS
from ._http import JSON, json_body
from ._http import emulator_of as _emu
from ._job_faults import JOB_FAULT_KINDS
from ._store import DEFAULT_LIMITS


def state(request: Request) -> Response:
    emu = _emu(request)
    with emu.store.tx() as c:
        now = emu.store.now(c)
        _sim.advance(emu.store, c, now)
        emu.sweep_deployments(c, now)
        jobs = emu.store.all(c, "job")
        return JSON({
            "now": now,
            "clock_offset": emu.store.meta(c, "clock_offset", 0.0),
            "files": emu.store.count(c, "file"),
            "jobs": len(jobs),
            "jobs_by_status": {s: sum(1 for j in jobs if j["status"] == s) for s in {j["status"] for j in jobs}},
            "deployments": emu.store.count(c, "deployment"),
            "faults": emu.store.meta(c, "faults", {}),
            "limits": emu.store.limits(c),
            "fidelity": _fidelity.settings(emu.store, c),
            "deletion_log": emu.store.meta(c, "deletion_log", []),
            "identity": _managed_identity.settings(emu.store, c),
            "identity_stats": emu.store.meta(c, "identity_stats", {}),
        })


async def advance_clock(request: Request) -> Response:
    emu = _emu(request)
    body = await json_body(request) or {}
    seconds = float(body.get("seconds", 0)) + 86400 * float(body.get("days", 0))
    if seconds < 0:
        return JSON({"error": "time only moves forward"}, status_code=400)
    with emu.store.tx() as c:
        emu.store.set_meta(c, "clock_offset", float(emu.store.meta(c, "clock_offset", 0.0)) + seconds)
        now = emu.store.now(c)
        _sim.advance(emu.store, c, now)
        removed = emu.sweep_deployments(c, now)
    return JSON({"now": now, "deleted_deployments": removed})


async def set_faults(request: Request) -> Response:
    emu = _emu(request)
    body = await json_body(request) or {}
    bad = [k for k in body.get("kinds", []) if k not in KINDS]
    if bad:
        return JSON({"error": f"unknown fault kinds {bad}; known: {list(KINDS)}"}, status_code=400)
    for key, unit in (("outage_s", "seconds"), ("hang_ms", "milliseconds")):
        value = body.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1e7:
            return JSON({"error": f"{key} must be a number of {unit} from 0"}, status_code=400)
    only = body.get("only", [])
    if not isinstance(only, list) or not all(isinstance(o, str) for o in only):
        return JSON({"error": 'only must be a list of strings (parts of "METHOD /path")'}, status_code=400)
    if body.get("outage_s"):  # an outage starts now, in real seconds, whatever the emulated clock does
        body["outage_until"] = time.time() + float(body["outage_s"])
    with emu.store.tx() as c:
        emu.store.set_meta(c, "faults", body)
    return JSON({"faults": body})


async def set_limits(request: Request) -> Response:
    emu = _emu(request)
    body = await json_body(request) or {}
    unknown = set(body) - set(DEFAULT_LIMITS)
    if unknown:
        return JSON({"error": f"unknown limits {sorted(unknown)}"}, status_code=400)
    with emu.store.tx() as c:
        limits: dict[str, Any] = {**emu.store.meta(c, "limits", {}), **body}
        emu.store.set_meta(c, "limits", limits)
        return JSON({"limits": emu.store.limits(c)})


async def fail_job(request: Request) -> Response:
    """Make a job fail: {"job_id": ...} fails it now; {"suffix": ...} or {"metadata": {...}} fails
    every job created later that matches, at fraction `at` (default 0.5) of its training. `kind` (of
    JOB_FAULT_KINDS) says how: "fail" (the default) fails it, "diverge" lets it train with its validation loss
    rising from its first evaluation."""
    emu = _emu(request)
    body = await json_body(request) or {}
    message = body.get("message") or "The job failed due to an internal error (injected)."
    with emu.store.tx() as c:
        now = emu.store.now(c)
        _sim.advance(emu.store, c, now)
        if body.get("job_id"):
            job = emu.store.get(c, "job", body["job_id"])
            if job is None:
                return JSON({"error": "no such job"}, status_code=404)
            if job["status"] in _sim.TERMINAL:
                return JSON({"error": f"job is already {job['status']}"}, status_code=400)
            _sim._finish(job, "failed", now, {"code": "internal_error", "message": message, "param": None})
            emu.store.put(c, "job", job["id"], job)
            return JSON(_sim.job_view(job, now))
        kind = body.get("kind") or "fail"
        if kind not in JOB_FAULT_KINDS:
            return JSON({"error": f"kind must be one of {', '.join(JOB_FAULT_KINDS)}"}, status_code=400)
        rules = emu.store.meta(c, "fail_rules", [])
        rules.append({"suffix": body.get("suffix"), "metadata": body.get("metadata"), "message": message,
                      "at": float(body.get("at", 0.5)), "kind": kind})
        emu.store.set_meta(c, "fail_rules", rules)
        return JSON({"fail_rules": rules})


QUIRKS = {"drop_job_metadata"}


async def set_quirks(request: Request) -> Response:
    """Misbehaviours a real service might show, to test that ftops fails safe: {"drop_job_metadata": true}."""
    emu = _emu(request)
    body = await json_body(request) or {}
    unknown = set(body) - QUIRKS
    if unknown:
        return JSON({"error": f"unknown quirks {sorted(unknown)}; known: {sorted(QUIRKS)}"}, status_code=400)
    with emu.store.tx() as c:
        emu.store.set_meta(c, "quirks", body)
    return JSON({"quirks": body})


async def set_fidelity(request: Request) -> Response:
    """Azure behaviours with a size: {"not_ready_seconds": 300, "arm_page_size": 2}."""
    emu = _emu(request)
    body = await json_body(request) or {}
    with emu.store.tx() as c:
        problem = _fidelity.update(emu.store, c, body)
        if problem:
            return JSON({"error": problem}, status_code=400)
        return JSON({"fidelity": _fidelity.settings(emu.store, c)})


async def set_model(request: Request) -> Response:
    """A base model's lifecycle: {"model": "gpt-4.1-2025-04-14", "lifecycleStatus": "Deprecated",
    "fineTune": "2025-01-01T00:00:00Z", "inference": "..."}."""
    emu = _emu(request)
    body = dict(await json_body(request) or {})
    model = str(body.pop("model", ""))
    with emu.store.tx() as c:
        problem = _catalog.set_lifecycle(emu.store, c, model, body)
        if problem:
            return JSON({"error": problem}, status_code=400)
        return JSON({"models": _catalog.account_models(emu.store, c)})


ROUTES = [
    Route("/_emulator/fidelity", set_fidelity, methods=["POST"]),
    Route("/_emulator/models", set_model, methods=["POST"]),
    Route("/_emulator/state", state, methods=["GET"]),
    Route("/_emulator/clock/advance", advance_clock, methods=["POST"]),
    Route("/_emulator/faults", set_faults, methods=["POST"]),
    Route("/_emulator/limits", set_limits, methods=["POST"]),
    Route("/_emulator/jobs/fail", fail_job, methods=["POST"]),
    Route("/_emulator/quirks", set_quirks, methods=["POST"]),
]
