"""The Foundry data plane under /openai/v1: files, uploads, fine-tuning jobs, chat completions."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import _sim
from ._http import JSON, int_param, json_body, openai_error, paginate
from ._state import Emulator

BASE_MODELS = {
    "gpt-4.1-2025-04-14", "gpt-4.1-mini-2025-04-14", "gpt-4.1-nano-2025-04-14", "gpt-4o-2024-08-06",
    "gpt-4o-mini-2024-07-18", "o4-mini-2025-04-16",
}
FT_MODEL = re.compile(r"^(?P<base>.+?)\.ft-[0-9a-f]{32}$")
FILE_PROCESS_SECONDS = 5.0
PURPOSES = {"fine-tune", "fine-tune-results", "assistants", "batch", "vision", "user_data"}
METHODS = {"supervised", "dpo", "reinforcement"}
TRAINING_TYPES = {"Standard", "GlobalStandard", "Developer"}


def _emu(request: Request) -> Emulator:
    emu: Emulator = request.app.state.emulator
    return emu


# -- files ----------------------------------------------------------------------------------
def file_view(f: dict[str, Any], now: float) -> dict[str, Any]:
    status = "pending" if now < f["processed_at"] else ("error" if f.get("status_details") else "processed")
    view = {k: f[k] for k in ("id", "object", "bytes", "created_at", "filename", "purpose")}
    view["status"] = status
    if status == "error":  # omitted otherwise: the schema has no null for it
        view["status_details"] = f["status_details"]
    return view


def inspect_jsonl(path: Path) -> tuple[int, int, str | None]:
    """(examples, approximate tokens, first error) of an uploaded JSONL file, read in a stream."""
    examples = tokens = 0
    with open(path, "rb") as f:
        head = f.read(3)
        if head != b"\xef\xbb\xbf":
            f.seek(0)
        for n, line in enumerate(f, 1):
            if not line.strip():
                return examples, tokens, f"Invalid file format. Line {n}: empty line."
            try:
                rec = orjson.loads(line)
            except orjson.JSONDecodeError as e:
                return examples, tokens, f"Invalid file format. Line {n}: {e.msg}."
            if not isinstance(rec, dict):
                return examples, tokens, f"Invalid file format. Line {n}: expected a JSON object."
            examples += 1
            tokens += max(1, len(line) // 4)  # an estimate: the emulator carries no tokenizer
    return examples, tokens, None


async def _store_file(emu: Emulator, source: Path | UploadFile, filename: str, purpose: str,
                      size: int | None = None) -> dict[str, Any] | JSON:
    fid = emu.new_id("file-")
    dest = emu.store.blob_dir / fid
    if isinstance(source, Path):
        await run_in_threadpool(os.replace, source, dest)
    else:
        def copy() -> None:
            with open(dest, "wb") as out:
                shutil.copyfileobj(source.file, out, 8 * 1024 * 1024)
        await run_in_threadpool(copy)
    size = dest.stat().st_size
    with emu.store.tx() as c:
        limits = emu.store.limits(c)
        files = emu.store.all(c, "file")
        problem = None
        if size > limits["max_file_bytes"]:
            problem = f"File size {size} exceeds the limit of {limits['max_file_bytes']} bytes."
        elif len(files) >= limits["max_files"]:
            problem = f"The maximum number of files ({limits['max_files']}) has been reached for this resource."
        elif sum(f["bytes"] for f in files) + size > limits["max_total_file_bytes"]:
            problem = f"The total size of files would exceed {limits['max_total_file_bytes']} bytes."
    if problem:
        dest.unlink(missing_ok=True)
        return openai_error(400, problem, "quotaExceeded", "file")
    examples, tokens, error = (0, 0, None)
    if purpose == "fine-tune":
        examples, tokens, error = await run_in_threadpool(inspect_jsonl, dest)
    with emu.store.tx() as c:
        now = emu.store.now(c)
        rec = {"id": fid, "object": "file", "bytes": size, "created_at": int(now), "filename": filename,
               "purpose": purpose, "processed_at": now + FILE_PROCESS_SECONDS / emu.speed,
               "status_details": error, "examples": examples, "tokens": tokens}
        emu.store.put(c, "file", fid, rec)
        return file_view(rec, now)


async def create_file(request: Request) -> Response:
    emu = _emu(request)
    try:
        form = await request.form(max_part_size=1024 * 1024)
    except Exception as e:  # malformed multipart
        return openai_error(400, f"Invalid multipart body: {e}")
    upload, purpose = form.get("file"), form.get("purpose")
    if not isinstance(upload, UploadFile):
        return openai_error(400, "Missing required parameter: 'file'.", param="file")
    if purpose not in PURPOSES:
        return openai_error(400, f"Invalid purpose {purpose!r}.", param="purpose")
    result = await _store_file(emu, upload, upload.filename or "upload.jsonl", str(purpose))
    await form.close()
    return result if isinstance(result, Response) else JSON(result)


def list_files(request: Request) -> Response:
    emu = _emu(request)
    purpose = request.query_params.get("purpose")
    limit = int_param(request, "limit", 10000, 10000)
    with emu.store.tx() as c:
        now = emu.store.now(c)
        newest_first = request.query_params.get("order", "desc") == "desc"
        files = [file_view(f, now) for f in emu.store.all(c, "file", newest_first=newest_first)
                 if purpose is None or f["purpose"] == purpose]
    page, more = paginate(files, request.query_params.get("after"), limit)
    return JSON({"object": "list", "data": page, "first_id": page[0]["id"] if page else None,
                 "last_id": page[-1]["id"] if page else None, "has_more": more})


def retrieve_file(request: Request) -> Response:
    emu = _emu(request)
    with emu.store.tx() as c:
        f = emu.store.get(c, "file", request.path_params["file_id"])
        if f is None:
            return openai_error(404, f"File {request.path_params['file_id']} not found.", "fileNotFound")
        return JSON(file_view(f, emu.store.now(c)))


def delete_file(request: Request) -> Response:
    emu = _emu(request)
    fid = request.path_params["file_id"]
    with emu.store.tx() as c:
        if emu.store.get(c, "file", fid) is None:
            return openai_error(404, f"File {fid} not found.", "fileNotFound")
        emu.store.delete(c, "file", fid)
    (emu.store.blob_dir / fid).unlink(missing_ok=True)
    return JSON({"id": fid, "object": "file", "deleted": True})


def file_content(request: Request) -> Response:
    emu = _emu(request)
    fid = request.path_params["file_id"]
    with emu.store.tx() as c:
        f = emu.store.get(c, "file", fid)
        if f is None:
            return openai_error(404, f"File {fid} not found.", "fileNotFound")
        if f.get("job_id"):  # results.csv is generated from the job, deterministically
            job = emu.store.get(c, "job", f["job_id"])
            assert job is not None
            return Response(_sim.results_csv(job), media_type="text/csv")
    from starlette.responses import FileResponse
    return FileResponse(emu.store.blob_dir / fid, media_type="application/octet-stream")


# -- uploads --------------------------------------------------------------------------------
def _upload_view(u: dict[str, Any], file: dict[str, Any] | None) -> dict[str, Any]:
    view = {k: u[k] for k in ("id", "object", "bytes", "created_at", "filename", "purpose", "status",
                              "expires_at")}
    view["file"] = file
    return view


async def create_upload(request: Request) -> Response:
    emu = _emu(request)
    body = await json_body(request)
    if body is None or not {"filename", "purpose", "bytes", "mime_type"} <= body.keys():
        return openai_error(400, "filename, purpose, bytes and mime_type are required.")
    with emu.store.tx() as c:
        now = emu.store.now(c)
        if int(body["bytes"]) > emu.store.limits(c)["max_file_bytes"]:
            return openai_error(400, "The upload is larger than the file size limit.", "quotaExceeded", "bytes")
        uid = emu.new_id("upload_")
        u = {"id": uid, "object": "upload", "bytes": int(body["bytes"]), "created_at": int(now),
             "filename": body["filename"], "purpose": body["purpose"], "status": "pending",
             "expires_at": int(now + 3600), "parts": []}
        emu.store.put(c, "upload", uid, u)
    return JSON(_upload_view(u, None))


async def add_upload_part(request: Request) -> Response:
    emu = _emu(request)
    uid = request.path_params["upload_id"]
    form = await request.form(max_part_size=1024 * 1024)
    data = form.get("data")
    if not isinstance(data, UploadFile):
        return openai_error(400, "Missing required parameter: 'data'.", param="data")
    pid = emu.new_id("part_")
    dest = emu.store.blob_dir / pid

    def copy() -> None:
        with open(dest, "wb") as out:
            shutil.copyfileobj(data.file, out, 8 * 1024 * 1024)
    await run_in_threadpool(copy)
    await form.close()
    with emu.store.tx() as c:
        u = emu.store.get(c, "upload", uid)
        if u is None or u["status"] != "pending":
            dest.unlink(missing_ok=True)
            return openai_error(404 if u is None else 400, f"Upload {uid} is not pending.")
        u["parts"].append(pid)
        emu.store.put(c, "upload", uid, u)
        now = emu.store.now(c)
    return JSON({"id": pid, "object": "upload.part", "created_at": int(now), "upload_id": uid})


async def complete_upload(request: Request) -> Response:
    emu = _emu(request)
    uid = request.path_params["upload_id"]
    body = await json_body(request) or {}
    with emu.store.tx() as c:
        u = emu.store.get(c, "upload", uid)
    if u is None:
        return openai_error(404, f"Upload {uid} not found.")
    if u["status"] != "pending":
        return openai_error(400, f"Upload {uid} is {u['status']}.")
    part_ids = body.get("part_ids") or []
    if any(p not in u["parts"] for p in part_ids):
        return openai_error(400, "part_ids names a part that is not in this upload.", param="part_ids")
    tmp = emu.store.blob_dir / f"{uid}.assembling"

    def assemble() -> int:
        with open(tmp, "wb") as out:
            for pid in part_ids:
                with open(emu.store.blob_dir / pid, "rb") as src:
                    shutil.copyfileobj(src, out, 8 * 1024 * 1024)
        return tmp.stat().st_size
    size = await run_in_threadpool(assemble)
    if size != u["bytes"]:
        tmp.unlink(missing_ok=True)
        return openai_error(400, f"The uploaded parts total {size} bytes, but the upload declared {u['bytes']}.")
    result = await _store_file(emu, tmp, u["filename"], u["purpose"])
    if isinstance(result, Response):
        return result
    with emu.store.tx() as c:
        u["status"] = "completed"
        u["file_id"] = result["id"]
        emu.store.put(c, "upload", uid, u)
    for pid in u["parts"]:
        (emu.store.blob_dir / pid).unlink(missing_ok=True)
    return JSON(_upload_view(u, result))


def cancel_upload(request: Request) -> Response:
    emu = _emu(request)
    uid = request.path_params["upload_id"]
    with emu.store.tx() as c:
        u = emu.store.get(c, "upload", uid)
        if u is None:
            return openai_error(404, f"Upload {uid} not found.")
        if u["status"] != "pending":
            return openai_error(400, f"Upload {uid} is {u['status']}.")
        u["status"] = "cancelled"
        emu.store.put(c, "upload", uid, u)
    for pid in u["parts"]:
        (emu.store.blob_dir / pid).unlink(missing_ok=True)
    return JSON(_upload_view(u, None))


# -- fine-tuning jobs -----------------------------------------------------------------------
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


def _root_base(emu: Emulator, c: Any, model: str) -> str | None:
    if model in BASE_MODELS:
        return model
    m = FT_MODEL.match(model)
    if m and m.group("base") in BASE_MODELS:
        for j in emu.store.all(c, "job"):
            if j.get("fine_tuned_model") == model:
                return m.group("base")
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
    training_type = body.get("trainingType", "Standard")
    if training_type not in TRAINING_TYPES:
        return openai_error(400, f"Invalid trainingType {training_type!r}.", "invalidPayload", "trainingType")
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
        base = _root_base(emu, c, str(body.get("model", "")))
        if base is None:
            return openai_error(400, "The specified base model does not support fine-tuning.", "invalidPayload",
                                "model")
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
            "suffix": suffix, "seed": int(seed) if seed is not None else int(_sim.digest(jid, n=8), 16) % 2**31,
            "metadata": metadata, "training_type": training_type, "examples": train["examples"],
            "tokens_per_epoch": train["tokens"], "speed": emu.speed, "status": "validating_files",
            "pauses": [], "fine_tuned_model_name": f"{base}.ft-{_sim.digest(jid, 'model')}",
            "result_file_id": f"file-{_sim.digest(jid, 'results')}",
            "grader": (method.get("reinforcement") or {}).get("grader"),
        }
        _sim.plan_timeline(job)
        for rule in emu.store.meta(c, "fail_rules", []):
            if _rule_matches(rule, job):
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
    emu = _emu(request)
    limit = int_param(request, "limit", 20, 100)
    wanted = {k[len("metadata["):-1]: v for k, v in request.query_params.items() if k.startswith("metadata[")}
    with emu.store.tx() as c:
        now = emu.store.now(c)
        _sim.advance(emu.store, c, now)
        jobs = [j for j in emu.store.all(c, "job", newest_first=True)
                if all((j.get("metadata") or {}).get(k) == v for k, v in wanted.items())]
    page, more = paginate(jobs, request.query_params.get("after"), limit)
    return JSON({"object": "list", "data": [_sim.job_view(j, now) for j in page], "has_more": more})


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
    limit = int_param(request, "limit", 20, 1000)
    found = _current_job(request)
    if isinstance(found, JSON):
        return found
    job, now = found
    events = list(reversed(_sim.events(job, now)))
    page, more = paginate(events, request.query_params.get("after"), limit)
    return JSON({"object": "list", "data": page, "has_more": more})


def job_checkpoints(request: Request) -> Response:
    limit = int_param(request, "limit", 10, 100)
    found = _current_job(request)
    if isinstance(found, JSON):
        return found
    job, now = found
    cps = _sim.checkpoints(job, now)
    page, more = paginate(cps, request.query_params.get("after"), limit)
    return JSON({"object": "list", "data": page, "first_id": page[0]["id"] if page else None,
                 "last_id": page[-1]["id"] if page else None, "has_more": more})


# -- inference ------------------------------------------------------------------------------
async def chat_completions(request: Request) -> Response:
    emu = _emu(request)
    body = await json_body(request)
    if body is None:
        return openai_error(400, "The request body must be a JSON object.")
    name = request.path_params.get("deployment") or body.get("model")
    with emu.store.tx() as c:
        now = emu.store.now(c)
        emu.sweep_deployments(c, now)
        dep = emu.store.get(c, "deployment", str(name))
        if dep is None or dep.get("deleting"):
            return openai_error(404, "The API deployment for this resource does not exist. If you created the "
                                "deployment within the last 5 minutes, please wait a moment and try again.",
                                "DeploymentNotFound")
        dep["last_used_at"] = now
        emu.store.put(c, "deployment", dep["name"], dep)
        job = emu.job_for_model(c, dep["model"])
    prompt = " ".join(str(m.get("content", "")) for m in body.get("messages", []) if isinstance(m, dict)
                      and m.get("role") == "user")
    answer = await run_in_threadpool(emu.closest_answer, job["training_file"] if job else None, prompt)
    return JSON({
        "id": f"chatcmpl-{_sim.digest(now, prompt, n=24)}", "object": "chat.completion", "created": int(now),
        "model": dep["model"],
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": answer}}],
        "usage": {"prompt_tokens": max(1, len(prompt) // 4), "completion_tokens": max(1, len(answer) // 4),
                  "total_tokens": max(1, len(prompt) // 4) + max(1, len(answer) // 4)},
    })


ROUTES = [
    Route("/openai/v1/files", create_file, methods=["POST"]),
    Route("/openai/v1/files", list_files, methods=["GET"]),
    Route("/openai/v1/files/{file_id}", retrieve_file, methods=["GET"]),
    Route("/openai/v1/files/{file_id}", delete_file, methods=["DELETE"]),
    Route("/openai/v1/files/{file_id}/content", file_content, methods=["GET"]),
    Route("/openai/v1/uploads", create_upload, methods=["POST"]),
    Route("/openai/v1/uploads/{upload_id}/parts", add_upload_part, methods=["POST"]),
    Route("/openai/v1/uploads/{upload_id}/complete", complete_upload, methods=["POST"]),
    Route("/openai/v1/uploads/{upload_id}/cancel", cancel_upload, methods=["POST"]),
    Route("/openai/v1/fine_tuning/jobs", create_job, methods=["POST"]),
    Route("/openai/v1/fine_tuning/jobs", list_jobs, methods=["GET"]),
    Route("/openai/v1/fine_tuning/jobs/{job_id}", retrieve_job, methods=["GET"]),
    Route("/openai/v1/fine_tuning/jobs/{job_id}/cancel", cancel_job, methods=["POST"]),
    Route("/openai/v1/fine_tuning/jobs/{job_id}/pause", pause_job, methods=["POST"]),
    Route("/openai/v1/fine_tuning/jobs/{job_id}/resume", resume_job, methods=["POST"]),
    Route("/openai/v1/fine_tuning/jobs/{job_id}/events", job_events, methods=["GET"]),
    Route("/openai/v1/fine_tuning/jobs/{job_id}/checkpoints", job_checkpoints, methods=["GET"]),
    Route("/openai/v1/chat/completions", chat_completions, methods=["POST"]),
    Route("/openai/deployments/{deployment}/chat/completions", chat_completions, methods=["POST"]),
]
