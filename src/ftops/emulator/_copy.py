"""The model copy API (preview): copy a fine-tuned checkpoint of this account into another account and region.

Sources (docs/emulator.md, "Several accounts"):
- Azure's v1 data-plane spec, Azure/azure-rest-api-specs `specification/ai/data-plane/OpenAI.v1/
  azure-v1-v1-generated.yaml` (commit 2d621d46fbf8c4ab91071d49e8fe6f4def21ee0b): `POST` (FineTuning_CopyCheckpoint)
  and `GET` (FineTuning_GetCheckpoint) `/fine_tuning/jobs/{fine_tuning_job_id}/checkpoints/
  {fine_tuning_checkpoint_id}/copy`, the required header `aoai-copy-ft-checkpoints: preview`, the body
  `CopyModelRequest` {destinationResourceId, region} and the answer `CopyModelResponse` {checkpointedModelName,
  fineTuningJobId, copiedAccountDetails: [{destinationResourceId, region, status: Completed|Failed|InProgress}]}.
- Learn, *Customize a model* (REST), "Copy model" (MicrosoftDocs/azure-ai-docs `articles/ai-foundry/openai/
  includes/fine-tuning-rest.md`, commit 09d4707719ec35eb34e45792f97c1abe9b324119): across regions and subscriptions
  "within the same tenant"; a long-running operation whose status the GET reports; prerequisites: the
  destination has at least one fine-tuning job, and the copying account may access it; the checkpoint keeps its
  name in the destination, where it deploys and trains by that name, and it is not in the destination's
  checkpoint list.

What Azure does not publish and the emulator chooses: the error bodies (Azure's data-plane `{"error": {...}}`
shape with the codes below), the copy's duration (COPY_SECONDS emulated seconds) and a second copy to the same
destination (answered with the copy already made or under way, no second copy; after a failed one, a new try).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import _sim, _sources
from ._http import JSON, json_body, openai_error
from ._http import emulator_of as _emu
from ._state import Emulator
from ._world import ResourceId

COPY_SECONDS = 600.0  # emulated duration of a copy
HEADER = "aoai-copy-ft-checkpoints"
PATH = "/openai/v1/fine_tuning/jobs/{job_id}/checkpoints/{checkpoint}/copy"
KIND = "checkpoint_copy"  # the store kind of a checkpoint's copies, in the source account


def _checkpoint(emu: Emulator, c: sqlite3.Connection, job_id: str, checkpoint: str,
                now: float) -> tuple[dict[str, Any], dict[str, Any]] | JSON:
    """(the job, the checkpoint the path names by id or model name), or the 404."""
    _sim.advance(emu.store, c, now)
    job = emu.store.get(c, "job", job_id)
    if job is None:
        return openai_error(404, f"Fine-tuning job {job_id} not found.", "jobNotFound")
    found = next((cp for cp in _sim.checkpoints(job, now)
                  if checkpoint in (cp["id"], cp["fine_tuned_model_checkpoint"])), None)
    if found is None:
        return openai_error(404, f"Checkpoint {checkpoint} of fine-tuning job {job_id} not found.",
                            "checkpointNotFound")
    return job, found


def _view(record: dict[str, Any], now: float) -> dict[str, Any]:
    """A CopyModelResponse: each destination's status on the emulated clock."""
    def status(d: dict[str, Any]) -> str:
        return "InProgress" if now < d["until"] else "Failed" if d.get("fails") else "Completed"
    return {"checkpointedModelName": record["model"], "fineTuningJobId": record["job_id"],
            "copiedAccountDetails": [{"destinationResourceId": d["destinationResourceId"], "region": d["region"],
                                      "status": status(d)} for d in record["destinations"]]}


def _destination(emu: Emulator, body: dict[str, Any]) -> Emulator | JSON:
    """The account the body copies to, or why it cannot."""
    target, region = body.get("destinationResourceId"), body.get("region")
    if not isinstance(target, str) or not isinstance(region, str) or not target or not region:
        return openai_error(400, "destinationResourceId and region are required.", "invalidPayload",
                            "destinationResourceId" if not isinstance(target, str) or not target else "region")
    rid = ResourceId.parse(target)
    dest = emu.world.find(rid) if rid is not None and emu.world is not None else None
    if dest is None:
        return openai_error(400, f"The destination resource '{target}' was not found.", "invalidPayload",
                            "destinationResourceId")
    if dest is emu:
        return openai_error(400, "The destination is the source resource.", "invalidPayload", "destinationResourceId")
    if dest.region.lower() != region.lower():
        return openai_error(400, f"The region '{region}' is not the region of the destination resource "
                            f"('{dest.region}').", "invalidPayload", "region")
    if dest.tenant != emu.tenant:  # Learn: "within the same tenant"
        return openai_error(400, "Model copy is supported only within the same tenant.", "invalidPayload",
                            "destinationResourceId")
    if not dest.authorized:  # Learn: only if the copying account has access to the destination
        return JSON({"error": {"code": "PermissionDenied", "message": f"The resource '{emu.account_id}' has no "
                               f"access to the destination resource '{dest.account_id}'."}}, status_code=403)
    if dest.store.count(dest.store.reader(), "job") == 0:  # Learn's prerequisite
        return openai_error(400, "The destination resource must have at least one fine-tuning job.",
                            "invalidPayload", "destinationResourceId")
    return dest


def _preview_header(request: Request) -> JSON | None:
    if request.headers.get(HEADER) == "preview":
        return None
    return openai_error(400, f"This preview operation requires the header '{HEADER}: preview'.", "invalidPayload",
                        HEADER)


async def copy_checkpoint(request: Request) -> Response:
    """FineTuning_CopyCheckpoint: start a copy (or answer the one under way or done) to a destination."""
    if (refused := _preview_header(request)) is not None:
        return refused
    emu = _emu(request)
    body = await json_body(request)
    if body is None:
        return openai_error(400, "The request body must be a JSON object.", "invalidPayload")
    dest = _destination(emu, body)
    if isinstance(dest, JSON):
        return dest
    started = None
    with emu.store.tx() as c:
        now = emu.store.now(c)
        found = _checkpoint(emu, c, request.path_params["job_id"], request.path_params["checkpoint"], now)
        if isinstance(found, JSON):
            return found
        job, cp = found
        key = f"{job['id']}:{cp['fine_tuned_model_checkpoint']}"
        record = emu.store.get(c, KIND, key) or {"job_id": job["id"], "model": cp["fine_tuned_model_checkpoint"],
                                                 "destinations": []}
        entry = next((d for d in record["destinations"] if d["account_id"] == dest.account_id), None)
        if entry is None or (entry.get("fails") and now >= entry["until"]):  # new, or a new try after a failure
            fails = dest.account.lower() in {str(n).lower() for n in emu.store.meta(c, "copy_failures", [])}
            entry = {"account_id": dest.account_id, "destinationResourceId": body["destinationResourceId"],
                     "region": dest.region, "until": now + COPY_SECONDS / emu.speed, "fails": fails}
            record["destinations"] = [d for d in record["destinations"] if d["account_id"] != dest.account_id]
            record["destinations"].append(entry)
            emu.store.put(c, KIND, key, record)
            started = None if fails else entry["until"]
        answer = JSON(_view(record, now))
    if started is not None:  # after this account's transaction: one account's write lock at a time
        with dest.store.tx() as dc:  # the copy is usable there once it completes (`ready_at`)
            _sources.hold(dest, dc, emu, cp["fine_tuned_model_checkpoint"], job, via="copy", ready_at=started)
    return answer


def copy_status(request: Request) -> Response:
    """FineTuning_GetCheckpoint: the copies of this checkpoint and their status."""
    if (refused := _preview_header(request)) is not None:
        return refused
    emu = _emu(request)
    with emu.store.tx() as c:
        now = emu.store.now(c)
        found = _checkpoint(emu, c, request.path_params["job_id"], request.path_params["checkpoint"], now)
        if isinstance(found, JSON):
            return found
        job, cp = found
        record = emu.store.get(c, KIND, f"{job['id']}:{cp['fine_tuned_model_checkpoint']}")
    if record is None:
        return openai_error(404, f"No copy of checkpoint {request.path_params['checkpoint']} was requested.",
                            "copyNotFound")
    return JSON(_view(record, now))


async def fail_copies(request: Request) -> Response:
    """`POST /_emulator/copies/fail {"destinations": [account names]}`: copies from this account to these
    accounts started from now on end `Failed` (an empty list: none)."""
    emu = _emu(request)
    body = await json_body(request) or {}
    names = body.get("destinations", [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return JSON({"error": "destinations must be a list of account names"}, status_code=400)
    with emu.store.tx() as c:
        emu.store.set_meta(c, "copy_failures", names)
    return JSON({"copy_failures": names})


ROUTES = [Route(PATH, copy_checkpoint, methods=["POST"]), Route(PATH, copy_status, methods=["GET"]),
          Route("/_emulator/copies/fail", fail_copies, methods=["POST"])]
