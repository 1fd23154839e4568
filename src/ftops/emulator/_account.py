"""ARM reads about the account: its models list (lifecycle, deprecation) and its quota usages.

Accounts_ListModels and Accounts_ListUsages of Microsoft.CognitiveServices 2025-09-01. The usages
report the quotas this emulator enforces (the limits of `POST /_emulator/limits`); Azure's own names
for these fine-tuning quotas are not published, so the names below are the emulator's.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import _catalog, _fidelity, _sim
from ._arm import ACCOUNT, DEPLOYMENT_QUOTA, check_account, swept
from ._http import JSON, arm_page
from ._http import emulator_of as _emu
from ._state import Emulator

# usage name -> (localized name, unit, limit key)
USAGES = {
    "FineTunedDeployments": (DEPLOYMENT_QUOTA, "Count", "max_deployments"),
    "FineTuningFiles": ("Fine-tuning files", "Count", "max_files"),
    "FineTuningFileBytes": ("Fine-tuning file storage", "Bytes", "max_total_file_bytes"),
    "FineTuningQueuedJobs": ("Queued fine-tuning jobs", "Count", "max_queued_jobs"),
    "FineTuningRunningJobs": ("Running fine-tuning jobs", "Count", "max_running_jobs"),
}


def list_models(request: Request) -> Response:
    if (bad := check_account(request)) is not None:
        return bad
    emu = _emu(request)
    with emu.store.tx() as c:
        models = _catalog.account_models(emu.store, c)
        size = int(_fidelity.settings(emu.store, c)["arm_page_size"])
    return arm_page(request, models, size)


def _used(emu: Any, c: Any) -> dict[str, float]:
    files = emu.store.all(c, "file")
    jobs = emu.store.active_jobs(c)
    return {
        "FineTunedDeployments": emu.fine_tuned_deployments(c),
        "FineTuningFiles": len(files),
        "FineTuningFileBytes": sum(f["bytes"] for f in files),
        "FineTuningQueuedJobs": sum(1 for j in jobs if j["status"] in ("validating_files", "queued")),
        "FineTuningRunningJobs": sum(1 for j in jobs if j["status"] in ("running", "paused")),
    }


def list_usages(request: Request) -> Response:
    """UsageListResult (not paged in the spec): current value and limit of each enforced quota."""
    if (bad := check_account(request)) is not None:
        return bad
    emu = _emu(request)
    with swept(emu) as (c, now):
        _sim.advance(emu.store, c, now)
        used = _used(emu, c)
        limits = emu.store.limits(c)
    return JSON({"value": [
        {"name": {"value": name, "localizedValue": label}, "currentValue": used[name], "limit": limits[key],
         "unit": unit, "status": "Blocked" if used[name] >= limits[key] else "Included"}
        for name, (label, unit, key) in USAGES.items()]})


def host_of(request: Request) -> str:
    """The server's own root (`https://localhost:<port>`), whatever prefix the request came under."""
    return f"{request.url.scheme}://{request.url.netloc}"


def account_view(request: Request, emu: Emulator) -> dict[str, Any]:
    """An Account as Accounts_Get answers it (2025-09-01, example GetAccount.json): its endpoint is the
    base URL clients reach it on, as `https://<subdomain>.openai.azure.com/` is on Azure (an added account's is
    under `/accounts/<name>`, see `_world`). It is a Foundry resource (kind AIServices, allowProjectManagement:
    the accounts that hold projects), so its endpoints also name the one projects live under ("AI Foundry API",
    `https://<subdomain>.services.ai.azure.com/` on Azure); here every endpoint is the one base URL."""
    base = f"{host_of(request)}{emu.path_prefix}/"
    return {"id": emu.account_id, "name": emu.account, "type": "Microsoft.CognitiveServices/accounts",
            "location": emu.region, "kind": "AIServices", "sku": {"name": "S0"}, "etag": '"1"',
            "properties": {"provisioningState": "Succeeded", "endpoint": base, "customSubDomainName": emu.account,
                           "allowProjectManagement": True,
                           "endpoints": {"OpenAI Language Model Instance API": base, "AI Foundry API": base}}}


def get_account(request: Request) -> Response:
    if (bad := check_account(request)) is not None:
        return bad
    return JSON(account_view(request, _emu(request)))


def list_accounts(request: Request) -> Response:
    """Accounts_List in a subscription: the accounts of this local Foundry in that subscription."""
    emu = _emu(request)
    if not request.query_params.get("api-version"):
        return JSON({"error": {"code": "MissingApiVersionParameter",
                               "message": "The api-version query parameter (?api-version=) is required."}}, 400)
    everyone = emu.world.accounts() if emu.world is not None else [emu]
    mine = [a for a in everyone if a.subscription == request.path_params["subscription"]]
    if not mine:
        return JSON({"error": {"code": "SubscriptionNotFound", "message": "The subscription could not be found."}},
                    404)
    return JSON({"value": [account_view(request, a) for a in mine]})


ROUTES = [
    Route(ACCOUNT, get_account, methods=["GET"]),
    Route("/subscriptions/{subscription}/providers/Microsoft.CognitiveServices/accounts", list_accounts,
          methods=["GET"]),
    Route(ACCOUNT + "/models", list_models, methods=["GET"]),
    Route(ACCOUNT + "/usages", list_usages, methods=["GET"]),
]
