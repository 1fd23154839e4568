"""The ARM control plane for deployments: PUT/PATCH/GET/DELETE/list, as in Microsoft.CognitiveServices 2025-09-01.

PUT, PATCH and DELETE answer at once with provisioningState Creating/Accepted/Deleting and an
Azure-AsyncOperation header; the operation finishes after an emulated delay. While any operation
on the account is in flight, another write gets 409 RequestConflict, as Foundry does. Lists are
paged with `nextLink` (`$skipToken`); resources carry `etag` in the body and the `ETag` header.
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

from . import _catalog, _evalfail, _fidelity, _sim, _sources
from ._catalog import SKUS, canonical
from ._http import JSON, arm_error, arm_page, json_body
from ._http import emulator_of as _emu
from ._state import Emulator

OPERATION_SECONDS = 30.0  # emulated duration of a deployment write
DEPLOYMENT_QUOTA = "Fine-tuned model deployments"  # the quota's name in usages and refusals
ACCOUNT = ("/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.CognitiveServices/"
           "accounts/{account}")


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat().replace("+00:00", "Z")


def check_account(request: Request) -> JSON | None:
    emu = _emu(request)
    p = request.path_params
    if not request.query_params.get("api-version"):
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
            "model": {"format": d.get("model_format") or "OpenAI", "name": d["model"],
                      "version": d.get("model_version") or "1",
                      **(d.get("model_extra") or {})},
            "provisioningState": state,
            "capabilities": {"chatCompletion": "true"},
            "currentCapacity": d["sku"]["capacity"],
            **{**PROPERTY_DEFAULTS, **(d.get("settings") or {})},
        },
    }


# The writable DeploymentProperties a client sets (ARM 2025-09-01) and what a PUT that leaves one out
# gets: a PUT replaces the whole resource, so an omitted content filter goes back to the default one.
PROPERTY_DEFAULTS: dict[str, Any] = {"raiPolicyName": "Microsoft.DefaultV2", "versionUpgradeOption": "NoAutoUpgrade"}
SETTINGS = ("raiPolicyName", "versionUpgradeOption", "capacitySettings", "spilloverDeploymentName",
            "parentDeploymentName", "scaleSettings")
# The settings whose ARM type is a string (DeploymentProperties, 2025-09-01): a map or a list stored there
# would be answered to every later reader.
STRING_SETTINGS = ("raiPolicyName", "versionUpgradeOption", "spilloverDeploymentName", "parentDeploymentName")
UPGRADE_OPTIONS = ("OnceNewDefaultVersionAvailable", "OnceCurrentVersionExpired", "NoAutoUpgrade")
MODEL_EXTRA = ("source", "sourceAccount", "publisher")


def _settings(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]] | JSON:
    """(the writable properties a PUT body sets, the model's writable extras), or the 400 answer."""
    props = body.get("properties") or {}
    if not isinstance(props, dict):
        return arm_error(400, "InvalidRequestContent", "properties must be an object.")
    settings = {k: props[k] for k in SETTINGS if props.get(k) is not None}
    if (wrong := next((k for k in STRING_SETTINGS if k in settings and not isinstance(settings[k], str)), None)):
        return arm_error(400, "InvalidRequestContent", f"properties.{wrong} must be a string.")
    option = settings.get("versionUpgradeOption")
    if option is not None and option not in UPGRADE_OPTIONS:
        return arm_error(400, "InvalidResourceProperties", f"The versionUpgradeOption '{option}' is not supported. "
                         f"Supported: {', '.join(UPGRADE_OPTIONS)}.")
    model = props.get("model") or {}
    extra = {k: model[k] for k in MODEL_EXTRA if isinstance(model, dict) and model.get(k) is not None}
    return settings, extra


# Azure's tag limits (Learn, "Use tags to organize your Azure resources", Limitations): 50 name-value pairs a
# resource, names up to 512 characters, values up to 256, names compared case-insensitively. Azure documents
# no error code for a refusal; the local Foundry answers 400 InvalidRequestContent with the limit.
MAX_TAGS, MAX_TAG_NAME, MAX_TAG_VALUE = 50, 512, 256


def _tags(body: dict[str, Any]) -> dict[str, str] | JSON:
    """The tags of a PUT or PATCH body, or the 400 answer (a stored list or number would break every reader)."""
    tags = body.get("tags") or {}
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        return arm_error(400, "InvalidRequestContent", "tags must be an object of string values.")
    if len(tags) > MAX_TAGS:
        return arm_error(400, "InvalidRequestContent", f"A resource can have at most {MAX_TAGS} tags; "
                         f"the request has {len(tags)}.")
    if any(len(k) > MAX_TAG_NAME or len(v) > MAX_TAG_VALUE for k, v in tags.items()):
        return arm_error(400, "InvalidRequestContent", f"Tag names are limited to {MAX_TAG_NAME} characters "
                         f"and tag values to {MAX_TAG_VALUE}.")
    if len({k.lower() for k in tags}) != len(tags):
        return arm_error(400, "InvalidRequestContent", "Tag names are case-insensitive: a name is given twice.")
    return tags


tags_of = _tags  # the tags of any ARM resource's PUT body (raiPolicies too), with the same checks


def _shape(body: dict[str, Any]) -> JSON | None:
    """400 for a body whose sku or properties.model is not an object (it was a 500)."""
    model = (body.get("properties") or {}).get("model") if isinstance(body.get("properties"), dict) else None
    if not isinstance(body.get("sku") or {}, dict) or not isinstance(model or {}, dict):
        return arm_error(400, "InvalidRequestContent", "The request content was invalid and could not be "
                         "deserialized: sku and properties.model must be objects.")
    return None


def _model_format(body: dict[str, Any]) -> str:
    """The model's format as the PUT names it (a fine-tuned open-source model keeps its provider's)."""
    model = (body.get("properties") or {}).get("model") or {}
    fmt = model.get("format") if isinstance(model, dict) else None
    return fmt if isinstance(fmt, str) and fmt else "OpenAI"


def _operation_url(request: Request, emu: Emulator, op_id: str) -> str:
    base = str(request.base_url).rstrip("/")
    return (f"{base}/subscriptions/{emu.subscription}/providers/Microsoft.CognitiveServices/locations/"
            f"{emu.region}/operationResults/{op_id}?api-version={request.query_params['api-version']}")


@contextlib.contextmanager
def swept(emu: Emulator) -> Iterator[tuple[sqlite3.Connection, float]]:
    """A transaction in which Foundry's pending deletions (done, inactive, expired) have happened."""
    with emu.store.tx() as c:
        now = emu.store.now(c)
        emu.sweep_deployments(c, now)
        yield c, now


def list_deployments(request: Request) -> Response:
    if (bad := check_account(request)) is not None:
        return bad
    emu = _emu(request)
    with swept(emu) as (c, now):
        deps = emu.store.all(c, "deployment")
        size = int(_fidelity.settings(emu.store, c)["arm_page_size"])
    return arm_page(request, deps, size, lambda d: deployment_view(emu, d, now))


def _with_etag(view: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> JSON:
    """A deployment answer: its etag in the body and in the ETag header, as ARM sends both."""
    return JSON(view, status_code=status, headers={"ETag": view["etag"], **(headers or {})})


def get_deployment(request: Request) -> Response:
    if (bad := check_account(request)) is not None:
        return bad
    emu = _emu(request)
    name = request.path_params["name"]
    with swept(emu) as (c, now):
        d = emu.store.get(c, "deployment", name)
        if d is None:
            return arm_error(404, "DeploymentNotFound", f"Deployment '{name}' not found.")
        return _with_etag(deployment_view(emu, d, now))


def _in_flight(emu: Emulator, c: Any, now: float) -> bool:
    return any(now < d["op_until"] for d in emu.store.all(c, "deployment"))


def _start_operation(emu: Emulator, c: Any, d: dict[str, Any], now: float, state: str) -> str:
    """Record a long-running operation on deployment `d`; it completes after an emulated delay."""
    op_id = emu.new_id("")
    d.update(op_state=state, op_until=now + OPERATION_SECONDS / emu.speed, op_id=op_id)
    d["ready_at"] = _fidelity.ready_at(emu.store, c, d["op_until"], emu.speed)
    emu.store.put(c, "deployment", d["name"], d)
    emu.store.put(c, "operation", op_id, {"id": op_id, "until": d["op_until"], "start": now})
    return op_id


def _conflict(emu: Emulator) -> JSON:
    return arm_error(409, "RequestConflict", f"Another operation is being performed on the parent resource "
                     f"'{emu.account_id}'. Please try again later.")


def _sku(body: dict[str, Any]) -> tuple[str, int] | JSON:
    """The (canonical SKU name, capacity) of a request body, or the 400 answer."""
    sku = body.get("sku") or {}
    name = canonical(sku.get("name"), SKUS)
    if name is None:
        return arm_error(400, "InvalidResourceProperties",
                         f"The specified SKU '{sku.get('name')}' for model deployment is not supported. "
                         f"Supported: {', '.join(SKUS)}.")
    capacity = sku.get("capacity", 1)
    if not isinstance(capacity, int) or isinstance(capacity, bool) or capacity < 1:
        return arm_error(400, "InvalidCapacity", "The capacity should be a positive integer.")
    return name, capacity


def _quota_full(emu: Emulator, c: Any) -> JSON | None:
    """Azure's InsufficientQuota body when the fine-tuned deployment quota is used up."""
    limit = emu.store.limits(c)["max_deployments"]
    used = emu.fine_tuned_deployments(c)
    if used < limit:
        return None
    return arm_error(400, "InsufficientQuota", f"This operation require 1 new capacity in quota {DEPLOYMENT_QUOTA}, "
                     f"which is bigger than the current available capacity {max(0, limit - used)}. The current "
                     f"quota usage is {used} and the quota limit is {limit} for quota {DEPLOYMENT_QUOTA}.")


def _if_match(request: Request, existing: dict[str, Any] | None) -> JSON | None:
    """ARM's conditional writes: `If-Match` (an etag, or `*`: only if it exists) and `If-None-Match: *` (only
    if it does not exist); a failed condition is 412 PreconditionFailed and changes nothing."""
    if_match, if_none_match = request.headers.get("if-match"), request.headers.get("if-none-match")
    if if_match and (existing is None or (if_match != "*" and if_match.strip('"') != existing["etag"])):
        return arm_error(412, "PreconditionFailed", "The etag in If-Match does not match the deployment.")
    if if_none_match is not None and if_none_match.strip() != "*":
        return arm_error(412, "PreconditionFailed", "If-None-Match supports only '*'.")
    if if_none_match is not None and existing is not None:
        return arm_error(412, "PreconditionFailed", "The deployment already exists (If-None-Match: *).")
    return None


def _write(request: Request, emu: Emulator, c: Any, d: dict[str, Any], now: float, status: int) -> JSON:
    """Store deployment `d` after a PUT/PATCH and answer with it, as a long-running operation."""
    d.update(modified_at=now, etag=_sim.digest(d["name"], now, d["model"], d["sku"]["capacity"], n=16))
    # An update in flight reads "Accepted": 2025-09-01's DeploymentProvisioningState has no "Updating".
    op_id = _start_operation(emu, c, d, now, "Creating" if status == 201 else "Accepted")
    return _with_etag(deployment_view(emu, d, now), status,
                      {"Azure-AsyncOperation": _operation_url(request, emu, op_id)})


def base_model_of(emu: Emulator, c: Any, model: dict[str, Any]) -> _catalog.BaseModel | None:
    """The offered base model a PUT's `properties.model` names by ARM's name and version (and format)."""
    found = next((m for m in _catalog.models(emu.store, c) if m.name == model.get("name")), None)
    if found is None or str(model.get("version") or found.version) != found.version:
        return None
    return found if (model.get("format") or "OpenAI") == found.format else None


def _not_supported(model: dict[str, Any]) -> JSON:
    """The body Azure sends for a model it does not deploy (dotnet/eShop PR #342, akshata29/entaoai #36)."""
    fmt, version = model.get("format") or "OpenAI", model.get("version") or ""
    return arm_error(400, "DeploymentModelNotSupported", f"The model 'Format: {fmt}, Name: {model.get('name')}, "
                     f"Version: {version}' of account deployment is not supported.")


def _model_refusal(request: Request, emu: Emulator, c: Any, model: dict[str, Any], sku: str) -> JSON | None:
    """Azure's refusal of a model this account cannot deploy: neither a fine-tuned model (or checkpoint) of
    this resource, of the account its `source` names, nor a base model of its models list; a fine-tuned model
    on a SKU its base is not offered on in this region; or a base model on a SKU it is not offered on."""
    name = model.get("name")
    src = _sources.source_of(request, emu, model)
    if isinstance(src, JSON):
        return src
    job = (_sources.source_job(src, str(name)) if src is not None else emu.job_for_model(c, str(name))) if name \
        else None
    if job is not None:
        return _sources.region_refusal(emu, job, sku)
    base = base_model_of(emu, c, model) if src is None else None
    if base is None:
        return _not_supported(model)
    if sku not in base.skus:
        # Azure's text for a SKU the model is not offered on (thunderbug1/LibreChatAzureDeployment #5).
        return arm_error(400, "InvalidResourceProperties", f"The specified SKU '{sku}' of account deployment is not "
                         f"supported by the model '{base.name}' version: '{base.version}'.")
    return None


def _from_elsewhere(request: Request, emu: Emulator, model: dict[str, Any]) -> bool:
    """Whether a PUT's model comes from another account (its source, checked by _model_refusal before)."""
    return isinstance(_sources.source_of(request, emu, model), Emulator)


def _put_refusal(request: Request, emu: Emulator, c: Any, now: float, name: str, model: dict[str, Any],
                 sku: str, capacity: int) -> JSON | None:
    """Why Foundry refuses this PUT (conflict, model, etag, quota, model and capacity at once), or None."""
    if _in_flight(emu, c, now):
        return _conflict(emu)
    if (refused := _model_refusal(request, emu, c, model, sku)) is not None:
        return refused
    existing = emu.store.get(c, "deployment", name)
    if (refused := _if_match(request, existing)) is not None:
        return refused
    if existing is None:  # the quota counts fine-tuned deployments only (one from another account too)
        fine_tuned = _from_elsewhere(request, emu, model) or emu.job_for_model(c, str(model.get("name"))) is not None
        return _quota_full(emu, c) if fine_tuned else None
    if existing["model"] != model.get("name") and existing["sku"]["capacity"] != capacity:
        # Azure refuses both changes in one update (Azure-Samples/azure-search-openai-demo #1154).
        return arm_error(400, "InvalidResourceProperties", "Cannot change capacity and model at the same time "
                         f"for deployment (for the model {name})")
    return None


async def put_deployment(request: Request) -> Response:
    if (bad := check_account(request)) is not None:
        return bad
    emu = _emu(request)
    name = request.path_params["name"]
    body = await json_body(request)
    if body is None:
        return arm_error(400, "InvalidRequestContent", "The request content was invalid and could not be deserialized.")
    if (bad_shape := _shape(body)) is not None:
        return bad_shape
    sku = _sku(body)
    if isinstance(sku, JSON):
        return sku
    settings = _settings(body)
    if isinstance(settings, JSON):
        return settings
    tags = _tags(body)
    if isinstance(tags, JSON):
        return tags
    model = (body.get("properties") or {}).get("model") or {}
    if not isinstance(model, dict):
        return arm_error(400, "InvalidRequestContent", "properties.model must be an object.")
    with swept(emu) as (c, now):
        if (refused := _put_refusal(request, emu, c, now, name, model, sku[0], sku[1])) is not None:
            return refused
        from ._rai_policies import unknown_policy  # here: that module builds on this one

        if (refused := unknown_policy(emu, c, settings[0].get("raiPolicyName"))) is not None:
            return refused
        existing = emu.store.get(c, "deployment", name)
        d = existing or {"name": name, "created_at": now, "last_used_at": None}
        src = _sources.source_of(request, emu, model)
        if isinstance(src, Emulator) and (job := _sources.source_job(src, str(model.get("name")))) is not None:
            # the model answers here as it does in its own account (inference and evals read this)
            _sources.hold(emu, c, src, str(model.get("name")), job, via="source", ready_at=now)
        fine_tuned = isinstance(src, Emulator) or emu.job_for_model(c, str(model.get("name"))) is not None
        base = base_model_of(emu, c, model) if not fine_tuned else None
        d.update(sku={"name": sku[0], "capacity": sku[1]}, model=str(model.get("name")), tags=tags,
                 settings=settings[0], model_extra=settings[1], model_format=_model_format(body),
                 model_version=base.version if base else None, base_model=base is not None)
        return _write(request, emu, c, d, now, 200 if existing else 201)


async def patch_deployment(request: Request) -> Response:
    """Deployments_Update: a PatchResourceTagsAndSku body (sku and tags only)."""
    if (bad := check_account(request)) is not None:
        return bad
    emu = _emu(request)
    name = request.path_params["name"]
    body = await json_body(request)
    if body is None:
        return arm_error(400, "InvalidRequestContent", "The request content was invalid and could not be deserialized.")
    with swept(emu) as (c, now):
        d = emu.store.get(c, "deployment", name)
        if d is None or d.get("deleting"):
            return arm_error(404, "DeploymentNotFound", f"Deployment '{name}' not found.")
        if _in_flight(emu, c, now):
            return _conflict(emu)
        if (refused := _if_match(request, d)) is not None:
            return refused
        if (bad_shape := _shape(body)) is not None:
            return bad_shape
        if "sku" in body:
            sku = _sku({"sku": {**d["sku"], **(body.get("sku") or {})}})
            if isinstance(sku, JSON):
                return sku
            d["sku"] = {"name": sku[0], "capacity": sku[1]}
        if "tags" in body:
            tags = _tags(body)
            if isinstance(tags, JSON):
                return tags
            d["tags"] = tags
        # The spec's 202 with an azure-asyncoperation header (example UpdateDeployment.json).
        return _write(request, emu, c, d, now, 202)


def delete_deployment(request: Request) -> Response:
    if (bad := check_account(request)) is not None:
        return bad
    emu = _emu(request)
    name = request.path_params["name"]
    with swept(emu) as (c, now):
        d = emu.store.get(c, "deployment", name)
        if d is None:
            return Response(status_code=204)
        if _in_flight(emu, c, now):
            return _conflict(emu)
        d["deleting"] = True
        _evalfail.fail_runs_sampling(emu.store, c, name, now)  # Azure fails a run whose deployment goes away
        op_id = _start_operation(emu, c, d, now, "Deleting")
    return Response(status_code=202, headers={"Azure-AsyncOperation": _operation_url(request, emu, op_id)})


def get_operation(request: Request) -> Response:
    emu = _emu(request)
    op_id = request.path_params["op"]
    with swept(emu) as (c, now):
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
    Route(ACCOUNT + "/deployments/{name}", patch_deployment, methods=["PATCH"]),
    Route(ACCOUNT + "/deployments/{name}", delete_deployment, methods=["DELETE"]),
    Route("/subscriptions/{subscription}/providers/Microsoft.CognitiveServices/locations/{location}/"
          "operationResults/{op}", get_operation, methods=["GET"]),
]
