"""The base models this local Foundry offers, with their lifecycle, and Azure's spellings.

The ARM `models` list (Accounts_ListModels) answers from here, and job creation refuses a base model
whose fine-tuning retirement date has passed, a method or training type the model does not train with,
and pausing a job on an open-source model. Tests change a model's lifecycle, withdraw it or add one
through the admin API (`POST /_emulator/models`), e.g. to make a base model retired.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass
from typing import Any

from ._store import Store


@dataclass(frozen=True)
class BaseModel:
    """A fine-tunable base model as this Foundry serves it: its ARM name, version and format, the data-plane
    id jobs name it by, what it trains with and the SKUs its fine-tuned models deploy on."""

    name: str
    version: str
    format: str
    methods: tuple[str, ...]
    training_types: tuple[str, ...]
    skus: tuple[str, ...]
    versioned_id: bool = True  # False: jobs name it without its version (Learn's open-source model ids)
    open_source: bool = False

    @property
    def id(self) -> str:
        return f"{self.name}-{self.version}" if self.versioned_id else self.name


_GPT_TRAINING = ("Standard", "GlobalStandard", "DataZoneStandard", "Developer")
_GPT_SKUS = ("Standard", "GlobalStandard", "DataZoneStandard", "DeveloperTier")
_OSS_TRAINING = ("GlobalStandard", "DataZoneStandard")
_OSS_SKUS = ("GlobalStandard", "DataZoneStandard")
# What Microsoft Learn lists for fine-tuning ("Foundry Models sold by Azure", section Fine-tuning models,
# read 2026-12-05): methods, and the training types (Standard regions, Data Zone, Global, Developer) of each
# model; the open-source ones only on Foundry resources, trained Data Zone or Global, deployed GlobalStandard
# (Microsoft's Foundry fine-tuning skill, deployment.md: formats "Mistral AI", "Alibaba", "Meta", "Microsoft").
MODELS: tuple[BaseModel, ...] = (
    BaseModel("gpt-4.1", "2025-04-14", "OpenAI", ("supervised", "dpo"), _GPT_TRAINING, _GPT_SKUS),
    BaseModel("gpt-4.1-mini", "2025-04-14", "OpenAI", ("supervised", "dpo"), _GPT_TRAINING, _GPT_SKUS),
    BaseModel("gpt-4.1-nano", "2025-04-14", "OpenAI", ("supervised", "dpo"), _GPT_TRAINING, _GPT_SKUS),
    BaseModel("gpt-4o", "2024-08-06", "OpenAI", ("supervised", "dpo"), _GPT_TRAINING, _GPT_SKUS[:3]),
    BaseModel("gpt-4o-mini", "2024-07-18", "OpenAI", ("supervised",), _GPT_TRAINING, _GPT_SKUS[:3]),
    BaseModel("o4-mini", "2025-04-16", "OpenAI", ("reinforcement",), _GPT_TRAINING, _GPT_SKUS),
    BaseModel("gpt-5", "2025-08-07", "OpenAI", ("reinforcement",), _GPT_TRAINING[:3], ("Standard", "DataZoneStandard")),
    BaseModel("Ministral-3B", "2411", "Mistral AI", ("supervised",), _OSS_TRAINING, _OSS_SKUS, False, True),
    BaseModel("Qwen-32B", "1", "Alibaba", ("supervised",), _OSS_TRAINING, _OSS_SKUS, False, True),
    BaseModel("Llama-3.3-70B-Instruct", "1", "Meta", ("supervised",), _OSS_TRAINING, _OSS_SKUS, False, True),
    BaseModel("gpt-oss-20b", "1", "Microsoft", ("supervised",), _OSS_TRAINING, _OSS_SKUS, False, True),
)
BASE_MODELS: dict[str, str] = {m.name: m.version for m in MODELS}  # name -> version, as the models list spells them
# Azure accepts the lower-case spellings its own docs use ("standard", "globalstandard") and names the
# values in this canonical spelling.
SKUS = ("Standard", "GlobalStandard", "DataZoneStandard", "DeveloperTier", "ProvisionedManaged")
TRAINING_TYPES = ("Standard", "GlobalStandard", "DataZoneStandard", "Developer")
LIFECYCLES = ("Stable", "Preview", "GenerallyAvailable", "Deprecating", "Deprecated", "Legacy")
METHODS = ("supervised", "dpo", "reinforcement")


def canonical(value: object, spellings: tuple[str, ...]) -> str | None:
    """`value` in Azure's canonical spelling if it names one of `spellings` in any case, else None."""
    if not isinstance(value, str):
        return None
    return next((s for s in spellings if s.lower() == value.lower()), None)


def _lifecycles(store: Store, c: sqlite3.Connection) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = store.meta(c, "model_lifecycle", {})
    return found


def _added(entry: dict[str, Any]) -> BaseModel:
    """A model added through the admin API (a test's stand-in for a model Azure starts to offer)."""
    name, version = str(entry.get("name") or entry["model"]), str(entry.get("version") or "1")
    return BaseModel(name, version, str(entry.get("format") or "OpenAI"), tuple(entry["methods"]), _GPT_TRAINING,
                     _GPT_SKUS, versioned_id="version" in entry)


def models(store: Store, c: sqlite3.Connection) -> list[BaseModel]:
    """The base models this Foundry offers now: the shipped ones not withdrawn, then the added ones."""
    lives = _lifecycles(store, c)
    found = [m for m in MODELS if lives.get(m.id, {}).get("offered", True)]
    found += [_added(e) for e in store.meta(c, "added_models", []) if lives.get(e["model"], {}).get("offered", True)]
    return found


def find(store: Store, c: sqlite3.Connection, model: str) -> BaseModel | None:
    """The offered base model a job names: its id, or `<name>-<version>` (what ARM's list spells)."""
    return next((m for m in models(store, c) if model in (m.id, f"{m.name}-{m.version}")), None)


def _add(store: Store, c: sqlite3.Connection, model: str, change: dict[str, Any]) -> str | None:
    methods = change.get("methods")
    if not isinstance(methods, list) or not methods or any(m not in METHODS for m in methods):
        return f"unknown base model {model!r}: to add it, give methods (a non-empty list of {list(METHODS)})"
    entry = {"model": model, "methods": methods, **{k: str(change[k]) for k in ("name", "version", "format")
                                                  if change.get(k)}}
    store.set_meta(c, "added_models", [*store.meta(c, "added_models", []), entry])
    return None


def set_lifecycle(store: Store, c: sqlite3.Connection, model: str, change: dict[str, Any]) -> str | None:
    """Record a change to base model `model` (its id): lifecycle, retirement dates, whether it is offered at
    all; an unknown model with `methods` is added. An error text, or None."""
    known = {m.id for m in MODELS} | {e["model"] for e in store.meta(c, "added_models", [])}
    adding = model not in known
    unknown = set(change) - {"lifecycleStatus", "fineTune", "inference", "offered"} - (
        {"methods", "name", "version", "format"} if adding else set())
    if unknown:
        return f"unknown fields {sorted(unknown)}"
    if "lifecycleStatus" in change and change["lifecycleStatus"] not in LIFECYCLES:
        return f"lifecycleStatus must be one of {list(LIFECYCLES)}"
    if "offered" in change and not isinstance(change["offered"], bool):
        return "offered must be true or false"
    if adding and (problem := _add(store, c, model, change)):
        return problem
    all_ = _lifecycles(store, c)
    all_[model] = {**all_.get(model, {}), **{k: v for k, v in change.items() if k not in ("methods", "name",
                                                                                          "version", "format")}}
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


def _account_model(m: BaseModel, life: dict[str, Any]) -> dict[str, Any]:
    # Microsoft's Foundry fine-tuning skill (platform-gotchas.md): the models list answers fineTune "false" for
    # the open-source models although they fine-tune. The emulator answers the same.
    fine_tune = "false" if m.open_source else "true"
    model: dict[str, Any] = {
        "format": m.format, "name": m.name, "version": m.version, "isDefaultVersion": True, "maxCapacity": 50,
        "capabilities": {"chatCompletion": "true", "fineTune": fine_tune, "inference": "true"},
        "finetuneCapabilities": {"fineTune": fine_tune, "inference": "true", "chatCompletion": "true"},
        "lifecycleStatus": life.get("lifecycleStatus", "GenerallyAvailable"),
        "skus": [{"name": sku, "usageName": f"OpenAI.{sku}.{m.name}",
                  "capacity": {"minimum": 1, "maximum": 50, "default": 1}} for sku in m.skus],
        "systemData": {"createdBy": "Microsoft", "createdByType": "Application",
                       "createdAt": "2025-01-01T00:00:00Z", "lastModifiedBy": "Microsoft",
                       "lastModifiedByType": "Application", "lastModifiedAt": "2025-01-01T00:00:00Z"},
    }
    deprecation = {k: life[k] for k in ("fineTune", "inference") if life.get(k)}
    if deprecation:
        model["deprecation"] = {**deprecation, "deprecationStatus": "Planned"}
    return model


def account_models(store: Store, c: sqlite3.Connection) -> list[dict[str, Any]]:
    """The AccountModel objects of Accounts_ListModels (shape of the 2025-09-01 example)."""
    lives = _lifecycles(store, c)
    return [_account_model(m, lives.get(m.id, {})) for m in models(store, c)]
