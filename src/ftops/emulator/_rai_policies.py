"""Content filter policies: ARM `accounts/{a}/raiPolicies/{name}` (RaiPolicies_List/Get/CreateOrUpdate/Delete,
Microsoft.CognitiveServices 2025-09-01), with Azure's built-in policies listed as every account has them.

Shapes from the spec (Azure/azure-rest-api-specs, stable/2025-09-01/cognitiveservices.json, commit f515332:
RaiPolicy, RaiPolicyProperties with its enums) and its examples (stable/2025-06-01/examples/PutRaiPolicy.json,
ListRaiPolicies.json): a PUT is synchronous, 201 when it creates and 200 when it replaces, and replaces the whole
policy (what it leaves out is gone); `type` is read-only (UserManaged for a client's policy). The built-in policies
(type SystemManaged) carry Learn's default safety settings (MicrosoftDocs/azure-ai-docs, articles/ai-foundry/
openai/concepts/default-safety-policies.md, commit 1fd6a72: four harm categories at Medium on prompts and
completions, jailbreak on prompts, protected material on completions) and cannot be written or deleted.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import _arm, _fidelity, _sim
from ._http import JSON, arm_error, arm_page, json_body
from ._http import emulator_of as _emu
from ._state import Emulator

KIND = "raipolicy"  # the store's kind; objects keyed by the lowercase name (ARM names are case-insensitive)
TYPE = "Microsoft.CognitiveServices/accounts/raiPolicies"
MODES = ("Default", "Deferred", "Blocking", "Asynchronous_filter")
LEVELS = ("Low", "Medium", "High")
SOURCES = ("Prompt", "Completion")
BUILTIN = ("Microsoft.Default", "Microsoft.DefaultV2")


def _default_filters() -> list[dict[str, Any]]:
    harms = [{"name": n, "blocking": True, "enabled": True, "severityThreshold": "Medium", "source": s}
             for n in ("Hate", "Sexual", "Selfharm", "Violence") for s in SOURCES]
    return [*harms, {"name": "Jailbreak", "blocking": True, "enabled": True, "source": "Prompt"},
            {"name": "Protected Material Text", "blocking": True, "enabled": True, "source": "Completion"},
            {"name": "Protected Material Code", "blocking": False, "enabled": True, "source": "Completion"}]


def _builtin(emu: Emulator, name: str) -> dict[str, Any]:
    return {"id": f"{emu.account_id}/raiPolicies/{name}", "type": TYPE, "name": name,
            "properties": {"type": "SystemManaged", "mode": "Blocking", "contentFilters": _default_filters()}}


def _view(emu: Emulator, p: dict[str, Any]) -> dict[str, Any]:
    return {"id": f"{emu.account_id}/raiPolicies/{p['name']}", "type": TYPE, "name": p["name"],
            "etag": f'"{p["etag"]}"', "tags": p.get("tags") or {},
            "properties": {"type": "UserManaged", **p["properties"]}}


def known(emu: Emulator, c: Any, name: str) -> bool:
    """Whether the account has policy `name` (built-in or written), as a deployment's raiPolicyName names it."""
    return name.lower() in {b.lower() for b in BUILTIN} or emu.store.get(c, KIND, name.lower()) is not None


def unknown_policy(emu: Emulator, c: Any, name: Any) -> JSON | None:
    """The refusal of a deployment naming a policy the account lacks. Azure documents no code for it; the local
    Foundry answers ARM's generic InvalidResourceProperties with the name."""
    if name is None or (isinstance(name, str) and known(emu, c, name)):
        return None
    return arm_error(400, "InvalidResourceProperties", f"The specified RAI policy '{name}' does not exist on "
                     f"account '{emu.account}'.")


def list_policies(request: Request) -> Response:
    if (bad := _arm.check_account(request)) is not None:
        return bad
    emu = _emu(request)
    with emu.store.tx() as c:
        items = [_builtin(emu, n) for n in BUILTIN] + [_view(emu, p) for p in emu.store.all(c, KIND)]
        size = int(_fidelity.settings(emu.store, c)["arm_page_size"])
    return arm_page(request, items, size)


def get_policy(request: Request) -> Response:
    if (bad := _arm.check_account(request)) is not None:
        return bad
    emu = _emu(request)
    name = request.path_params["name"]
    builtin = next((b for b in BUILTIN if b.lower() == name.lower()), None)
    if builtin is not None:
        return JSON(_builtin(emu, builtin))
    with emu.store.tx() as c:
        p = emu.store.get(c, KIND, name.lower())
    if p is None:
        return _not_found(name)
    view = _view(emu, p)
    return JSON(view, headers={"ETag": view["etag"]})


def _not_found(name: str) -> JSON:
    # ARM's resource provider contract: 404 for a resource that does not exist (the code is the RP's; Azure
    # documents none for raiPolicies).
    return arm_error(404, "NotFound", f"The RAI policy '{name}' was not found.")


def _properties(body: dict[str, Any]) -> dict[str, Any] | JSON:
    """The writable RaiPolicyProperties of a PUT body, checked against ARM's enums, or the 400 answer."""
    props = body.get("properties")
    if not isinstance(props, dict):
        return arm_error(400, "InvalidRequestContent", "properties must be an object.")
    if props.get("basePolicyName") is not None and not isinstance(props["basePolicyName"], str):  # ARM: a string
        return arm_error(400, "InvalidRequestContent", "properties.basePolicyName must be a string.")
    if props.get("mode") is not None and props["mode"] not in MODES:
        return arm_error(400, "InvalidRequestContent", f"The mode '{props['mode']}' is not one of {', '.join(MODES)}.")
    for f in props.get("contentFilters") or []:
        if not isinstance(f, dict) or f.get("source") not in SOURCES or \
                f.get("severityThreshold", "Low") not in LEVELS or not isinstance(f.get("name"), str):
            # Azure's code for a content filter it refuses (Azure/terraform-azurerm-avm-res-cognitiveservices-
            # account issue #118: 400, "Resource has invalid content filter").
            return arm_error(400, "Resource has invalid content filter", f"Invalid content filter: {f!r:.200}")
    for b in props.get("customBlocklists") or []:
        if not isinstance(b, dict) or b.get("source") not in SOURCES or not isinstance(b.get("blocklistName"), str):
            return arm_error(400, "InvalidRequestContent", f"Invalid custom blocklist: {b!r:.200}")
    return {k: v for k, v in props.items() if k != "type"}  # type is read-only


async def put_policy(request: Request) -> Response:
    if (bad := _arm.check_account(request)) is not None:
        return bad
    emu = _emu(request)
    name = request.path_params["name"]
    if name.lower() in {b.lower() for b in BUILTIN}:
        return arm_error(400, "InvalidResourceName", f"'{name}' is a system-managed RAI policy; it cannot be changed.")
    body = await json_body(request)
    if body is None:
        return arm_error(400, "InvalidRequestContent", "The request content was invalid and could not be deserialized.")
    props = _properties(body)
    if isinstance(props, JSON):
        return props
    tags = _arm.tags_of(body)
    if isinstance(tags, JSON):
        return tags
    with emu.store.tx() as c:
        existing = emu.store.get(c, KIND, name.lower())
        if_match = request.headers.get("if-match")
        if if_match and if_match != "*" and (existing is None or if_match.strip('"') != existing["etag"]):
            return arm_error(412, "PreconditionFailed", "The etag in If-Match does not match the RAI policy.")
        now = emu.store.now(c)
        p = {"name": existing["name"] if existing else name, "properties": props, "tags": tags,
             "etag": _sim.digest(name, now, props, tags, n=16)}
        emu.store.put(c, KIND, name.lower(), p)
    view = _view(emu, p)
    return JSON(view, status_code=200 if existing else 201, headers={"ETag": view["etag"]})


def delete_policy(request: Request) -> Response:
    if (bad := _arm.check_account(request)) is not None:
        return bad
    emu = _emu(request)
    name = request.path_params["name"]
    if name.lower() in {b.lower() for b in BUILTIN}:
        return arm_error(400, "InvalidResourceName", f"'{name}' is a system-managed RAI policy; it cannot be deleted.")
    with emu.store.tx() as c:
        if emu.store.get(c, KIND, name.lower()) is None:
            return Response(status_code=204)  # ARM: a delete of what does not exist is 204
        emu.store.delete(c, KIND, name.lower())
    # RaiPolicies_Delete answers 202 (a long-running operation) or 204; the local Foundry deletes at once.
    return Response(status_code=202)


ROUTES = [
    Route(_arm.ACCOUNT + "/raiPolicies", list_policies, methods=["GET"]),
    Route(_arm.ACCOUNT + "/raiPolicies/{name}", get_policy, methods=["GET"]),
    Route(_arm.ACCOUNT + "/raiPolicies/{name}", put_policy, methods=["PUT"]),
    Route(_arm.ACCOUNT + "/raiPolicies/{name}", delete_policy, methods=["DELETE"]),
]
