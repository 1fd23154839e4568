"""The ARM control plane for deployments: PUT/GET/DELETE/list as long-running operations.

PUT and DELETE answer at once with provisioningState Creating/Updating/Deleting and an
Azure-AsyncOperation header; the operation finishes after an emulated delay. While any operation
on the account is in flight, another write gets 409 RequestConflict, as Foundry does.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from collections.abc import Iterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import _sim
from ._http import JSON, arm_error, json_body
from ._http import emulator_of as _emu
from ._state import Emulator

OPERATION_SECONDS = 30.0  # emulated duration of a deployment write
SKUS = {"Standard", "GlobalStandard", "DeveloperTier", "ProvisionedManaged"}
ACCOUNT = ("/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.CognitiveServices/"
           "accounts/{account}")


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat().replace("+00:00", "Z")


def _check_account(request: Request) -> JSON | None:
    emu = _emu(request)
    p = request.path_params
    if "api-version" not in request.query_params:
        return arm_error(400, "MissingApiVersionParameter",
                         "The api-version query parameter (?api-version=) is required for all requests.")
    if p["subscription"] != emu.subscription:
        return arm_error(404, "SubscriptionNotFound", f"The subscription '{p['subscription']}' could not be found.")
    if p["group"].lower() != emu.resource_group.lower() or p["account"].lower() != emu.account.lower():
        return arm_error(404, "ResourceNotFound", f"The Resource 'Microsoft.CognitiveServices/accounts/"
                         f"{p['account']}' under resource group '{p['group']}' was not found.")
    return None


def deployment_view(emu: Emulator, d: dict[str, Any], now: float) -> dict[str, Any]:
    if d.get("deleting"):
        state = "Deleting"
    elif now < d["op_until"]:
        state = d["op_state"]
    else:
        state = "Succeeded"
    return {
        "id": f"{emu.account_id}/deployments/{d['name']}",
        "type": "Microsoft.CognitiveServices/accounts/deployments",
        "name": d["name"],
        "sku": d["sku"],
        "tags": d.get("tags") or {},
        "etag": f'"{d["etag"]}"',
        "systemData": {"createdBy": "ftops-emulator", "createdByType": "Application",
                       "createdAt": _iso(d["created_at"]), "lastModifiedBy": "ftops-emulator",
                       "lastModifiedByType": "Application", "lastModifiedAt": _iso(d["modified_at"])},
        "properties": {
            "model": {"format": "OpenAI", "name": d["model"], "version": "1"},
            "provisioningState": state,
            "capabilities": {"chatCompletion": "true"},
            "versionUpgradeOption": "NoAutoUpgrade",
        },
    }


def _operation_url(request: Request, emu: Emulator, op_id: str) -> str:
    base = str(request.base_url).rstrip("/")
    return (f"{base}/subscriptions/{emu.subscription}/providers/Microsoft.CognitiveServices/locations/"
            f"{emu.region}/operationResults/{op_id}?api-version={request.query_params['api-version']}")


@contextlib.contextmanager
def _swept(emu: Emulator) -> Iterator[tuple[sqlite3.Connection, float]]:
    """A transaction in which Foundry's pending deletions (done, inactive, expired) have happened."""
    with emu.store.tx() as c:
        now = emu.store.now(c)
        emu.sweep_deployments(c, now)
        yield c, now


def list_deployments(request: Request) -> Response:
    if (bad := _check_account(request)) is not None:
        return bad
    emu = _emu(request)
    with _swept(emu) as (c, now):
        deps = [deployment_view(emu, d, now) for d in emu.store.all(c, "deployment")]
    return JSON({"value": deps})


def get_deployment(request: Request) -> Response:
    if (bad := _check_account(request)) is not None:
        return bad
    emu = _emu(request)
    name = request.path_params["name"]
    with _swept(emu) as (c, now):
        d = emu.store.get(c, "deployment", name)
        if d is None:
            return arm_error(404, "DeploymentNotFound", f"Deployment '{name}' not found.")
        return JSON(deployment_view(emu, d, now))


def _in_flight(emu: Emulator, c: Any, now: float) -> bool:
    return any(now < d["op_until"] for d in emu.store.all(c, "deployment"))


def _start_operation(emu: Emulator, c: Any, d: dict[str, Any], now: float, state: str) -> str:
    """Record a long-running operation on deployment `d`; it completes after an emulated delay."""
    op_id = emu.new_id("")
    d.update(op_state=state, op_until=now + OPERATION_SECONDS / emu.speed, op_id=op_id)
    emu.store.put(c, "deployment", d["name"], d)
    emu.store.put(c, "operation", op_id, {"id": op_id, "until": d["op_until"], "start": now})
    return op_id


def _conflict(emu: Emulator) -> JSON:
    return arm_error(409, "RequestConflict", f"Another operation is being performed on the parent resource "
                     f"'{emu.account_id}'. Please try again later.")


async def put_deployment(request: Request) -> Response:
    if (bad := _check_account(request)) is not None:
        return bad
    emu = _emu(request)
    name = request.path_params["name"]
    body = await json_body(request)
    if body is None:
        return arm_error(400, "InvalidRequestContent", "The request content was invalid and could not be deserialized.")
    sku = body.get("sku") or {}
    model = ((body.get("properties") or {}).get("model") or {}).get("name")
    if sku.get("name") not in SKUS:
        return arm_error(400, "InvalidResourceProperties",
                         f"The specified SKU '{sku.get('name')}' for model deployment is not supported. "
                         f"Supported: {', '.join(sorted(SKUS))}.")
    capacity = sku.get("capacity", 1)
    if not isinstance(capacity, int) or capacity < 1:
        return arm_error(400, "InvalidCapacity", "The capacity should be a positive integer.")
    with _swept(emu) as (c, now):
        if _in_flight(emu, c, now):
            return _conflict(emu)
        if not model or emu.job_for_model(c, str(model)) is None:
            return arm_error(400, "DeploymentModelNotSupported", f"The model '{model}' is not a fine-tuned model or "
                             "a deployable checkpoint of this resource.")
        existing = emu.store.get(c, "deployment", name)
        if_match = request.headers.get("if-match")
        if if_match and if_match != "*" and (existing is None or if_match.strip('"') != existing["etag"]):
            return arm_error(412, "PreconditionFailed", "The etag in If-Match does not match the deployment.")
        if existing is None and emu.store.count(c, "deployment") >= emu.store.limits(c)["max_deployments"]:
            return arm_error(400, "QuotaExceeded", "The maximum number of fine-tuned model deployments "
                             f"({emu.store.limits(c)['max_deployments']}) has been reached for this resource.")
        d = existing or {"name": name, "created_at": now, "last_used_at": None}
        d.update(sku={"name": sku["name"], "capacity": capacity}, model=str(model), tags=body.get("tags") or {},
                 modified_at=now, etag=_sim.digest(name, now, model, capacity, n=16))
        op_id = _start_operation(emu, c, d, now, "Updating" if existing else "Creating")
        view = deployment_view(emu, d, now)
    return JSON(view, status_code=200 if existing else 201,
                headers={"Azure-AsyncOperation": _operation_url(request, emu, op_id)})


def delete_deployment(request: Request) -> Response:
    if (bad := _check_account(request)) is not None:
        return bad
    emu = _emu(request)
    name = request.path_params["name"]
    with _swept(emu) as (c, now):
        d = emu.store.get(c, "deployment", name)
        if d is None:
            return Response(status_code=204)
        if _in_flight(emu, c, now):
            return _conflict(emu)
        d["deleting"] = True
        op_id = _start_operation(emu, c, d, now, "Deleting")
    return Response(status_code=202, headers={"Azure-AsyncOperation": _operation_url(request, emu, op_id)})


def get_operation(request: Request) -> Response:
    emu = _emu(request)
    op_id = request.path_params["op"]
    with _swept(emu) as (c, now):
        op = emu.store.get(c, "operation", op_id)
    if op is None:
        return arm_error(404, "OperationNotFound", f"Operation '{op_id}' not found.")
    done = now >= op["until"]
    body: dict[str, Any] = {"id": op_id, "name": op_id, "status": "Succeeded" if done else "InProgress",
                            "startTime": _iso(op["start"])}
    if done:
        body["endTime"] = _iso(op["until"])
    return JSON(body)


ROUTES = [
    Route(ACCOUNT + "/deployments", list_deployments, methods=["GET"]),
    Route(ACCOUNT + "/deployments/{name}", get_deployment, methods=["GET"]),
    Route(ACCOUNT + "/deployments/{name}", put_deployment, methods=["PUT"]),
    Route(ACCOUNT + "/deployments/{name}", delete_deployment, methods=["DELETE"]),
    Route("/subscriptions/{subscription}/providers/Microsoft.CognitiveServices/locations/{location}/"
          "operationResults/{op}", get_operation, methods=["GET"]),
]
