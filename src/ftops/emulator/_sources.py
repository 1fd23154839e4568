"""Fine-tuned models from another account: a deployment's `source`/`sourceAccount`, the regions a fine-tuned model
deploys in, and the models an account holds from another one (deployed from a source, or copied in).

Sources (docs/emulator.md, "Several accounts"):
- Learn, *Deploy a fine-tuned model* (MicrosoftDocs/azure-ai-docs `articles/ai-foundry/openai/how-to/
  fine-tuning-deploy.md`, commit 13842c099256be1161684189fe559c001231dfc1): "Cross region deployment": a PUT on
  the target account whose `properties.model` names the fine-tuned model and `source`, the source account's
  resource id; "the new region must also support fine-tuning", and across subscriptions the caller "must have
  access to both the source and destination subscriptions". "Cross tenant deployment": `sourceAccount` instead,
  with a token of the source tenant in `x-ms-authorization-auxiliary`. Its "Deployment types" tables: the regions
  each model's fine-tuned deployments are offered in per SKU (`REGIONS` below).
- ARM 2025-09-01 `DeploymentModel`: `source` "Deployment model source ARM resource ID", `sourceAccount` "Source of
  the model, another Microsoft.CognitiveServices accounts ARM resource ID".
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.requests import Request

from . import _catalog
from ._http import JSON, arm_error
from ._state import IMPORTED, Emulator
from ._world import ResourceId

ANY_REGION = "*"
# Where fine-tuned deployments of each base model are offered, per SKU (Learn, fine-tuning-deploy.md above):
# Standard and ProvisionedManaged in the listed regions; GlobalStandard ("available from all Azure OpenAI
# regions") for these models and DeveloperTier for the GPT-4.1 family anywhere. A model or SKU not listed here
# (DataZoneStandard, GPT-5, the open-source models) is not checked: Learn gives no table for it.
REGIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "Standard": {"o4-mini": ("eastus2", "swedencentral"), "gpt-4.1": ("northcentralus", "swedencentral"),
                 "gpt-4.1-mini": ("northcentralus", "swedencentral"),
                 "gpt-4.1-nano": ("northcentralus", "swedencentral"), "gpt-4o": ("eastus2", "swedencentral"),
                 "gpt-4o-mini": ("northcentralus", "swedencentral")},
    "GlobalStandard": {m: (ANY_REGION,) for m in ("o4-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "gpt-4o",
                                                   "gpt-4o-mini")},
    "DeveloperTier": {m: (ANY_REGION,) for m in ("gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano")},
    "ProvisionedManaged": {"gpt-4.1": ("swedencentral",), "gpt-4o": ("northcentralus", "swedencentral"),
                           "gpt-4o-mini": ("northcentralus", "swedencentral")},
}
AUXILIARY = "x-ms-authorization-auxiliary"


@dataclass(frozen=True)
class Held:
    """A fine-tuned model an account holds from another account: the source job (as it was when the model
    arrived), the blobs it trained on, how it came (`source`: deployed from there; `copy`: copied in) and
    since when it is usable here."""

    model: str
    job: dict[str, Any]
    blob_dir: Path
    via: str
    source_id: str
    ready_at: float

    def to_record(self) -> dict[str, Any]:
        return {"model": self.model, "job": self.job, "blob_dir": str(self.blob_dir), "via": self.via,
                "source_id": self.source_id, "ready_at": self.ready_at}

    @classmethod
    def from_record(cls, r: dict[str, Any]) -> Held:
        return cls(str(r["model"]), dict(r["job"]), Path(r["blob_dir"]), str(r["via"]), str(r["source_id"]),
                   float(r["ready_at"]))


def held(emu: Emulator, c: sqlite3.Connection, model: str) -> Held | None:
    record = emu.store.get(c, IMPORTED, model)
    return Held.from_record(record) if record is not None else None


def copied(emu: Emulator, c: sqlite3.Connection, model: str, now: float) -> Held | None:
    """A model copied into this account whose copy has completed: deployable and trainable here by its name."""
    found = held(emu, c, model)
    return found if found is not None and found.via == "copy" and now >= found.ready_at else None


def base_family(model: str) -> str | None:
    """The catalog name of the base model a job trained (`gpt-4.1-mini-2025-04-14` or a fine-tuned model of
    it): the longest catalog name it starts with."""
    names = sorted((m.name for m in _catalog.MODELS), key=len, reverse=True)
    return next((n for n in names if model == n or model.startswith(n + "-") or model.startswith(n + ".")), None)


def region_refusal(emu: Emulator, job: dict[str, Any], sku: str) -> JSON | None:
    """Azure's refusal of a fine-tuned deployment on a SKU its base model is not offered on in this region."""
    family = base_family(str(job.get("model") or ""))
    regions = REGIONS.get(sku, {}).get(family or "")
    if family is None or regions is None or ANY_REGION in regions or emu.region.lower() in regions:
        return None
    # The body Azure sends for a SKU a model lacks in a region (Azure-Samples/contoso-creative-writer #10).
    return arm_error(400, "InvalidResourceProperties", f"The specified SKU '{sku}' for model '{family}' is not "
                     f"supported in this region '{emu.region}'.")


def _linked_denied(emu: Emulator, source_id: str, why: str) -> JSON:
    """ARM's refusal when the caller may write the deployment but not read the linked source account."""
    return arm_error(403, "LinkedAuthorizationFailed", f"The client has permission to perform action "
                     f"'Microsoft.CognitiveServices/accounts/deployments/write' on scope '{emu.account_id}'; however, "
                     f"{why} on the linked scope(s) '{source_id}' or the linked scope(s) are invalid.")


def source_of(request: Request, emu: Emulator, model: dict[str, Any]) -> Emulator | JSON | None:
    """The account a PUT's `properties.model` deploys from (`source`, or `sourceAccount` across tenants), None
    when it names neither (or this account), or Azure's refusal."""
    key = "sourceAccount" if model.get("sourceAccount") else "source" if model.get("source") else None
    if key is None or emu.world is None:
        return None
    text = str(model[key])
    rid = ResourceId.parse(text)
    if rid is None:
        return arm_error(400, "LinkedInvalidPropertyId", f"Property id '{text}' at path 'properties.model.{key}' is "
                         "invalid. Expect fully qualified resource Id that start with '/subscriptions/"
                         "{subscriptionId}' or '/providers/{resourceProviderNamespace}/'.")
    src = emu.world.find(rid)
    if src is None:
        return arm_error(404, "ResourceNotFound", f"The Resource 'Microsoft.CognitiveServices/accounts/"
                         f"{rid.account}' under resource group '{rid.resource_group}' was not found.")
    if src is emu:
        return None
    if not src.authorized:
        return _linked_denied(emu, src.account_id, "it does not have permission to perform action(s) "
                              "'Microsoft.CognitiveServices/accounts/read'")
    if src.tenant != emu.tenant:
        auxiliary = request.headers.get(AUXILIARY, "")
        if key != "sourceAccount" or auxiliary.removeprefix("Bearer ").strip() != src.api_key:
            return _linked_denied(emu, src.account_id, f"the current tenant '{emu.tenant}' is not authorized to "
                                  f"access linked subscription '{src.subscription}' (a cross-tenant source needs "
                                  f"sourceAccount and a token of tenant '{src.tenant}' in {AUXILIARY})")
    return src


def source_job(src: Emulator, model: str) -> dict[str, Any] | None:
    """The job of `model` in the source account (its fine-tuned model, a deployable checkpoint or a completed
    copy), read outside a transaction: the target's transaction is open, and another account is another file."""
    c = src.store.reader()
    job = src.job_for_model(c, model)
    if job is not None:
        return job
    found = copied(src, c, model, src.store.now(c))
    return found.job if found is not None else None


def hold(emu: Emulator, c: sqlite3.Connection, src: Emulator, model: str, job: dict[str, Any], *, via: str,
         ready_at: float) -> None:
    """Record that this account holds `model` from `src` (a copy keeps its first arrival)."""
    existing = held(emu, c, model)
    if existing is not None and existing.via == "copy":
        return
    blob_dir = src.store.blob_dir
    origin = held(src, src.store.reader(), model)  # a copy of a copy trains on the first account's blobs
    if origin is not None:
        blob_dir = origin.blob_dir
    record = Held(model, job, blob_dir, via, src.account_id, ready_at)
    emu.store.put(c, IMPORTED, model, record.to_record())
