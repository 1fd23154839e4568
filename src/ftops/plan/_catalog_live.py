"""`ftops catalog --live`: the shipped catalog beside the account's own models list (ARM Accounts_ListModels).

Pure on the list it is given (`compare_catalog`); `read_catalog_comparison` reads the list. The differences
are advice for whoever maintains the catalog, never an error: the account is the truth for what it offers
today, the catalog for what Learn documents.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from ..catalog import Catalog, ModelInfo
from ..checks import CheckedProject
from ..foundry import FoundryClient, LiveModel, models_by_id
from ._actions import utc_text

COMPARISON_VERSION = 1
DAY = 86400.0

DifferenceKind = Literal["uncatalogued", "not-offered", "not-fine-tunable", "deprecated", "retiring", "retired"]


@dataclass(frozen=True)
class CatalogDifference:
    kind: DifferenceKind
    model: str
    message: str
    date: str | None = None  # the day it happens or happened (YYYY-MM-DD), for retirements


@dataclass
class CatalogComparison:
    region: str
    account_models: int  # models on the account's list
    catalog_models: int
    differences: list[CatalogDifference] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"format_version": COMPARISON_VERSION, **asdict(self)}


def _day(ts: float) -> str:
    return utc_text(ts, "%Y-%m-%d")


def _uncatalogued(catalog: Catalog, models: list[LiveModel]) -> list[CatalogDifference]:
    """Models the account says it can fine-tune that the catalog does not know."""
    out = []
    for m in models:
        known = catalog.get(m.id) is not None or catalog.get(m.name) is not None
        if m.fine_tunable and not known and ".ft-" not in m.id:  # fine-tuned models are listed too
            out.append(CatalogDifference("uncatalogued", m.id, (
                f"the account can fine-tune {m.id}; the catalog lacks it (add it to ftops.catalog.yaml with the page "
                "that documents it)")))
    return out


def _trainable_in(info: ModelInfo, region: str) -> bool:
    return any(ModelInfo.allows(regions, region) for regions in info.training.values())


def _offered(info: ModelInfo, live: LiveModel | None, region: str) -> CatalogDifference | None:
    """A catalog model the account should offer for fine-tuning in its region and does not."""
    if live is None:
        where = " (offered on Foundry resources only, not on Azure OpenAI resources)" \
            if info.foundry_resources_only else ""
        return CatalogDifference("not-offered", info.name, (
            f"the catalog lists {info.name} for fine-tuning in {region}; the account does not offer it{where} "
            f"({info.cite('training')})"))
    # Microsoft's own Foundry fine-tuning skill notes that the models list answers fineTune "false" for the
    # open-source models although they fine-tune (microsoft/GitHub-Copilot-for-Azure, finetuning/references/
    # platform-gotchas.md): for those (the Foundry-only ones) the flag is not read as "cannot fine-tune".
    if live.fine_tunable is False and not info.foundry_resources_only:
        return CatalogDifference("not-fine-tunable", info.name, (
            f"the account lists {live.id} without the fineTune capability; the catalog says it fine-tunes "
            f"({info.cite('methods')})"))
    return None


def _lifecycle(m: LiveModel, now: float) -> list[CatalogDifference]:
    """Deprecation and retirement dates of one listed model, each with its day."""
    out = []
    if m.lifecycle_status in ("Deprecating", "Deprecated", "Legacy"):
        out.append(CatalogDifference("deprecated", m.id, f"{m.id} is {m.lifecycle_status} on this account"))
    for when, what in ((m.fine_tune_retires, "fine-tuning"), (m.inference_retires, "inference")):
        if when is None:
            continue
        if when <= now:
            out.append(CatalogDifference("retired", m.id, f"{m.id} was retired for {what} on {_day(when)}",
                                         _day(when)))
        else:
            days = int((when - now) // DAY)
            out.append(CatalogDifference("retiring", m.id, (
                f"{m.id} retires for {what} on {_day(when)} (in {days} days)"), _day(when)))
    return out


def compare_catalog(catalog: Catalog, models: list[LiveModel], region: str, now: float) -> CatalogComparison:
    """What the account's models list and the catalog disagree on, and every retirement date it announces."""
    index = models_by_id(models)
    result = CatalogComparison(region=region, account_models=len(models), catalog_models=len(catalog.models))
    result.differences += _uncatalogued(catalog, models)
    for info in catalog.models.values():
        live = index.get(info.name)
        if not _trainable_in(info, region):
            continue  # the catalog itself says this region cannot fine-tune it: nothing to compare
        if (found := _offered(info, live, region)) is not None:
            result.differences.append(found)
    for m in models:
        if catalog.get(m.id) is not None or catalog.get(m.name) is not None or m.fine_tunable:
            result.differences += _lifecycle(m, now)
    return result


def read_catalog_comparison(checked: CheckedProject, client: FoundryClient) -> CatalogComparison:
    """Read the account's models list (one paged ARM call) and compare it with the project's catalog."""
    foundry = checked.project.foundry
    region = foundry.spec.region if foundry is not None else "swedencentral"
    models = client.list_models()
    return compare_catalog(checked.catalog, models, region, client.server_time or time.time())
