"""The base models this local Foundry offers, with their lifecycle, and Azure's spellings.

The ARM `models` list (Accounts_ListModels) answers from here, and job creation refuses a base model
whose fine-tuning retirement date has passed. Tests change a model's lifecycle through the admin API
(`POST /_emulator/models`), e.g. to make a base model retired.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from typing import Any

from ._store import Store

# name -> version, as Azure's models list spells them (the fine-tunable versions of reference 000/001).
BASE_MODELS: dict[str, str] = {
    "gpt-4.1": "2025-04-14", "gpt-4.1-mini": "2025-04-14", "gpt-4.1-nano": "2025-04-14",
    "gpt-4o": "2024-08-06", "gpt-4o-mini": "2024-07-18", "o4-mini": "2025-04-16",
}
# Azure accepts the lower-case spellings its own docs use ("standard", "globalstandard") and names the
# values in this canonical spelling.
SKUS = ("Standard", "GlobalStandard", "DeveloperTier", "ProvisionedManaged")
TRAINING_TYPES = ("Standard", "GlobalStandard", "Developer")
LIFECYCLES = ("Stable", "Preview", "GenerallyAvailable", "Deprecating", "Deprecated", "Legacy")


def canonical(value: object, spellings: tuple[str, ...]) -> str | None:
    """`value` in Azure's canonical spelling if it names one of `spellings` in any case, else None."""
    if not isinstance(value, str):
        return None
    return next((s for s in spellings if s.lower() == value.lower()), None)


def model_ids() -> set[str]:
    """Base model ids as the data plane takes them: `<name>-<version>`."""
    return {f"{name}-{version}" for name, version in BASE_MODELS.items()}


def _lifecycles(store: Store, c: sqlite3.Connection) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = store.meta(c, "model_lifecycle", {})
    return found


def set_lifecycle(store: Store, c: sqlite3.Connection, model: str, change: dict[str, Any]) -> str | None:
    """Record a lifecycle change for base model `model` (`<name>-<version>`); an error text or None."""
    if model not in model_ids():
        return f"unknown base model {model!r}; known: {sorted(model_ids())}"
    unknown = set(change) - {"lifecycleStatus", "fineTune", "inference"}
    if unknown:
        return f"unknown fields {sorted(unknown)}"
    if "lifecycleStatus" in change and change["lifecycleStatus"] not in LIFECYCLES:
        return f"lifecycleStatus must be one of {list(LIFECYCLES)}"
    all_ = _lifecycles(store, c)
    all_[model] = {**all_.get(model, {}), **change}
    store.set_meta(c, "model_lifecycle", all_)
    return None


def _date(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def retired_for_training(store: Store, c: sqlite3.Connection, model: str, now: float) -> bool:
    """Whether base model `model` can no longer be fine-tuned (deprecated, or its fineTune date passed)."""
    life = _lifecycles(store, c).get(model, {})
    when = _date(life.get("fineTune"))
    return life.get("lifecycleStatus") == "Deprecated" or (
        when is not None and when.timestamp() <= now)


def account_models(store: Store, c: sqlite3.Connection) -> list[dict[str, Any]]:
    """The AccountModel objects of Accounts_ListModels (shape of the 2025-09-01 example)."""
    lives = _lifecycles(store, c)
    out = []
    for name, version in BASE_MODELS.items():
        life = lives.get(f"{name}-{version}", {})
        deprecation = {k: life[k] for k in ("fineTune", "inference") if life.get(k)}
        model: dict[str, Any] = {
            "format": "OpenAI", "name": name, "version": version, "isDefaultVersion": True, "maxCapacity": 50,
            "capabilities": {"chatCompletion": "true", "fineTune": "true", "inference": "true"},
            "finetuneCapabilities": {"fineTune": "true", "inference": "true", "chatCompletion": "true"},
            "lifecycleStatus": life.get("lifecycleStatus", "GenerallyAvailable"),
            "skus": [{"name": sku, "usageName": f"OpenAI.{sku}.{name}",
                      "capacity": {"minimum": 1, "maximum": 50, "default": 1}} for sku in SKUS[:3]],
            "systemData": {"createdBy": "Microsoft", "createdByType": "Application",
                           "createdAt": f"{version}T00:00:00Z", "lastModifiedBy": "Microsoft",
                           "lastModifiedByType": "Application", "lastModifiedAt": f"{version}T00:00:00Z"},
        }
        if deprecation:
            model["deprecation"] = {**deprecation, "deprecationStatus": "Planned"}
        out.append(model)
    return out
