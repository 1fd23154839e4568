"""Fine-tuning jobs of the data plane: create, list, retrieve, cancel, pause, resume, events, checkpoints."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import _catalog, _sim
from ._files import file_view
from ._http import JSON, BadListing, bounded_limit, json_body, list_body, list_page, openai_error
from ._http import emulator_of as _emu
from ._state import Emulator
from ._store import PageQuery

FT_MODEL = re.compile(r"^(?P<base>.+?)\.ft-[0-9a-f]{32}$")
METHODS = set(_catalog.METHODS)
JOBS_PAGE_MAX = 100


def _usable_file(emu: Emulator, c: Any, fid: str | None, param: str, now: float) -> dict[str, Any] | JSON:
    f = emu.store.get(c, "file", fid) if fid else None
    if f is None:
        return openai_error(400, f"File {fid} not found.", "invalidPayload", param)
    view = file_view(f, now)
    if view["status"] == "pending":
        return openai_error(400, f"File {fid} is still being processed. Try again when its status is processed.",
                            "fileNotReady", param)
    if view["status"] == "error":
        return openai_error(400, f"File {fid} failed validation: {f['status_details']}", "invalidFile", param)
    if f["purpose"] != "fine-tune":
        return openai_error(400, f"File {fid} does not have purpose fine-tune.", "invalidPayload", param)
    return f


def _root_base(emu: Emulator, c: Any, model: str, now: float) -> _catalog.BaseModel | None:
    """The base model a job on `model` trains from; None if it is not fine-tunable (or retired)."""
    found = _catalog.find(emu.store, c, model)
    if found is not None:
        return None if _catalog.retired_for_training(emu.store, c, found.id, now) else found
    m = FT_MODEL.match(model)
    base = _catalog.find(emu.store, c, m.group("base")) if m else None
    # Continuous fine-tuning: a succeeded job's model of this resource, and only for OpenAI models (Learn,
    # "Customize a model with fine-tuning": continuous fine-tuning is supported only for OpenAI models).
    if base is not None and not base.open_source:
        for j in emu.store.all(c, "job"):
            if j.get("fine_tuned_model") == model:
                return base
    return None


def _unsupported(base: _catalog.BaseModel, method: str, training_type: str) -> JSON | None:
    """What this base model cannot train with, refused as Azure refuses a model it cannot fine-tune: 400
    `invalidPayload` naming the parameter. Azure's own text for these is not published (docs/emulator.md)."""
    if method not in base.methods:
        return openai_error(400, f"The specified base model {base.id} does not support the {method} fine-tuning "
                            f"method (supported: {', '.join(base.methods)}).", "invalidPayload", "method")
    if training_type not in base.training_types:
        return openai_error(400, f"The specified base model {base.id} does not support trainingType {training_type} "
                            f"(supported: {', '.join(base.training_types)}).", "invalidPayload", "trainingType")
    return None


async def create_job(request: Request) -> Response:
    emu = _emu(request)
    body = await json_body(request)
    if body is None:
        return openai_error(400, "The request body must be a JSON object.")
    method = body.get("method") or {"type": "supervised"}
    mtype = method.get("type", "supervised")
    if mtype not in METHODS:
        return openai_error(400, f"Invalid method type {mtype!r}.", "invalidPayload", "method")
    hyper = dict(body.get("hyperparameters") or {})
    hyper.update((method.get(mtype) or {}).get("hyperparameters") or {})
    # Azure takes any case ("globalstandard" in its docs) and answers the canonical spelling.
    training_type = _catalog.canonical(body.get("trainingType", "Standard"), _catalog.TRAINING_TYPES)
    if training_type is None:
        return openai_error(400, f"Invalid trainingType {body.get('trainingType')!r}.", "invalidPayload",
                            "trainingType")
    metadata = body.get("metadata")
    if metadata is not None and (not isinstance(metadata, dict) or len(metadata) > 16 or any(
            len(k) > 64 or not isinstance(v, str) or len(v) > 512 for k, v in metadata.items())):
        return openai_error(400, "metadata: at most 16 string pairs, keys up to 64 and values up to 512 characters.",
                            "invalidPayload", "metadata")
    suffix = body.get("suffix")
    if suffix is not None and (not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", str(suffix))):
        return openai_error(400, "The suffix may contain only letters, digits, '-' and '_' (no dots), up to 40.",
                            "invalidPayload", "suffix")
    if mtype == "reinforcement" and not (method.get("reinforcement") or {}).get("grader"):
        return openai_error(400, "A reinforcement job needs a grader.", "invalidPayload", "method")
    with emu.store.tx() as c:
        now = emu.store.now(c)
        _sim.advance(emu.store, c, now)
        found = _root_base(emu, c, str(body.get("model", "")), now)
        if found is None:
            return openai_error(400, "The specified base model does not support fine-tuning.", "invalidPayload",
                                "model")
        if (refused := _unsupported(found, mtype, training_type)) is not None:
            return refused
        base = found.id
        train = _usable_file(emu, c, body.get("training_file"), "training_file", now)
        if isinstance(train, JSON):
            return train
        valid: dict[str, Any] | None = None
        if body.get("validation_file"):
            checked = _usable_file(emu, c, body["validation_file"], "validation_file", now)
            if isinstance(checked, JSON):
                return checked
            valid = checked
        limits = emu.store.limits(c)
        waiting = [j for j in emu.store.active_jobs(c) if j["status"] in ("validating_files", "queued")]
        if len(waiting) >= limits["max_queued_jobs"]:
            return openai_error(429, f"The maximum number of queued fine-tuning jobs ({limits['max_queued_jobs']}) "
                                "has been reached. Wait for queued jobs to start, or cancel some.",
                                "quotaExceeded", etype="rate_limit_error")
        jid = emu.new_id("ftjob-")
        seed = body.get("seed")
        job: dict[str, Any] = {
            "id": jid, "created_at": now, "model": body["model"], "base_model": base,
            "training_file": train["id"], "validation_file": valid["id"] if valid else None,
            "method": mtype, "hyperparameters": _sim.resolve_hyperparameters(mtype, hyper, train["examples"]),
            "hyperparameters_given": sorted(k for k, v in hyper.items() if v != "auto"),
            "suffix": suffix, "seed": int(seed) if seed is not None else int(_sim.digest(jid, n=8), 16) % 2**31,
            # A quirk for tests: a service that silently drops job metadata (ftops must not resubmit).
            "metadata": None if emu.store.meta(c, "quirks", {}).get("drop_job_metadata") else metadata,
            "training_type": training_type, "examples": train["examples"],
            "tokens_per_epoch": train["tokens"], "speed": emu.speed, "status": "validating_files",
            "pauses": [], "fine_tuned_model_name": f"{base}.ft-{_sim.digest(jid, 'model')}",
            "result_file_id": f"file-{_sim.digest(jid, 'results')}",
            "grader": (method.get("reinforcement") or {}).get("grader"),
        }
        _sim.plan_timeline(job)
        for rule in emu.store.meta(c, "fail_rules", []):
            if _rule_matches(rule, job) and rule.get("kind") == "diverge":
                job["diverge"] = True  # trains to the end, its validation loss rising (`_sim.step_metrics`)
            elif _rule_matches(rule, job):
                job["fail_at"] = float(rule.get("at", 0.5))
                job["fail_message"] = rule.get("message")
        emu.store.put(c, "job", jid, job)
        return JSON(_sim.job_view(job, now))


def _rule_matches(rule: dict[str, Any], job: dict[str, Any]) -> bool:
    if rule.get("suffix") is not None and rule["suffix"] != job.get("suffix"):
        return False
    meta = rule.get("metadata") or {}
    return all((job.get("metadata") or {}).get(k) == v for k, v in meta.items())


def _job_or_404(emu: Emulator, c: Any, jid: str) -> dict[str, Any] | JSON:
    job = emu.store.get(c, "job", jid)
    if job is None:
        return openai_error(404, f"Fine-tuning job {jid} not found.", "jobNotFound")
    return job


def list_jobs(request: Request) -> Response:
    """One page of jobs, newest first: `limit` at least 1 (default 20; Azure documents no maximum, pages
    hold at most 100 here and `has_more` says the rest), `after`, `metadata[k]=v`. Reads the page only."""
    emu = _emu(request)
    wanted = {k[len("metadata["):-1]: v for k, v in request.query_params.items() if k.startswith("metadata[")}
    try:
        query = PageQuery(limit=bounded_limit(request, 20, JOBS_PAGE_MAX, clamp=True),
                          after=request.query_params.get("after"), newest_first=True, metadata=wanted)
    except BadListing as e:
        return e.answer
    with emu.store.tx() as c:
        now = emu.store.now(c)
        _sim.advance(emu.store, c, now)
        page, more = emu.store.page(c, "job", query)
    return list_body([_sim.job_view(j, now) for j in page], more)


def retrieve_job(request: Request) -> Response:
    found = _current_job(request)
    return found if isinstance(found, JSON) else JSON(_sim.job_view(*found))


def _transition(request: Request, action: str) -> Response:
    emu = _emu(request)
    with emu.store.tx() as c:
        now = emu.store.now(c)
        _sim.advance(emu.store, c, now)
        job = _job_or_404(emu, c, request.path_params["job_id"])
        if isinstance(job, JSON):
            return job
        status = job["status"]
        if action == "cancel":
            if status in _sim.TERMINAL:
                return openai_error(400, f"Job {job['id']} is already {status} and cannot be cancelled.",
                                    "invalidState")
            _sim.cancel(job, now)
        elif action in ("pause", "resume") and (refused := _no_pausing(emu, c, job, action)) is not None:
            return refused
        elif action == "pause":
            if status != "running":
                return openai_error(400, f"Only a running job can be paused (job is {status}).", "invalidState")
            job["status"] = "paused"
            job["pauses"].append([now, None])
        else:
            if status != "paused":
                return openai_error(400, f"Only a paused job can be resumed (job is {status}).", "invalidState")
            job["status"] = "running"
            job["pauses"][-1][1] = now
        emu.store.put(c, "job", job["id"], job)
        return JSON(_sim.job_view(job, now))


def _no_pausing(emu: Emulator, c: Any, job: dict[str, Any], action: str) -> JSON | None:
    """Learn ("Customize a model with fine-tuning"): pausing is supported only for OpenAI models. The error
    Azure answers for the others is not published; this one is the emulator's (docs/emulator.md)."""
    base = _catalog.find(emu.store, c, str(job["base_model"]))
    if base is None or not base.open_source:
        return None
    return openai_error(400, f"Jobs on base model {base.id} cannot be {action}d: pausing is supported only for "
                        "OpenAI models.", "operationNotSupported")


def cancel_job(request: Request) -> Response:
    return _transition(request, "cancel")


def pause_job(request: Request) -> Response:
    return _transition(request, "pause")


def resume_job(request: Request) -> Response:
    return _transition(request, "resume")


def _current_job(request: Request) -> tuple[dict[str, Any], float] | JSON:
    """The job named in the path, advanced to now, with now; or the 404 answer."""
    emu = _emu(request)
    with emu.store.tx() as c:
        now = emu.store.now(c)
        _sim.advance(emu.store, c, now)
        job = _job_or_404(emu, c, request.path_params["job_id"])
    return job if isinstance(job, JSON) else (job, now)


def job_events(request: Request) -> Response:
    found = _current_job(request)
    if isinstance(found, JSON):
        return found
    job, now = found
    return list_page(request, list(reversed(_sim.events(job, now))), 20, 1000)


def job_checkpoints(request: Request) -> Response:
    found = _current_job(request)
    if isinstance(found, JSON):
        return found
    job, now = found
    return list_page(request, _sim.checkpoints(job, now), 10, 100, with_ids=True)


ROUTES = [
    Route("/openai/v1/fine_tuning/jobs", create_job, methods=["POST"]),
    Route("/openai/v1/fine_tuning/jobs", list_jobs, methods=["GET"]),
    Route("/openai/v1/fine_tuning/jobs/{job_id}", retrieve_job, methods=["GET"]),
    Route("/openai/v1/fine_tuning/jobs/{job_id}/cancel", cancel_job, methods=["POST"]),
    Route("/openai/v1/fine_tuning/jobs/{job_id}/pause", pause_job, methods=["POST"]),
    Route("/openai/v1/fine_tuning/jobs/{job_id}/resume", resume_job, methods=["POST"]),
    Route("/openai/v1/fine_tuning/jobs/{job_id}/events", job_events, methods=["GET"]),
    Route("/openai/v1/fine_tuning/jobs/{job_id}/checkpoints", job_checkpoints, methods=["GET"]),
]
