"""The catalog as data for `ftops catalog`: every model, what it supports and the pages that say so."""

from __future__ import annotations

from typing import Any

from ._catalog import TOPICS, Catalog, ModelInfo, Source

LISTING_VERSION = 1


def _page(source: Source) -> dict[str, Any]:
    return {"url": source.url, "checked": source.checked, "title": source.title}


def model_entry(info: ModelInfo) -> dict[str, Any]:
    """One model as JSON-ready data; `sources` names the page behind each rule (the model's own page when
    no other is given)."""
    return {
        "model": info.name, "title": info.title, "format": info.format, "status": info.status,
        "access": info.access, "foundry_resources_only": info.foundry_resources_only,
        "methods": list(info.methods), "vision": info.vision, "max_example_tokens": info.max_example_tokens,
        "training": {k: list(v) for k, v in info.training.items()},
        "deployment": {k: list(v) for k, v in info.deployment.items()},
        "pause_resume": info.pause_resume, "continuous_fine_tuning": info.continuous_fine_tuning,
        "price": {"training_per_million_tokens": dict(info.training_price),
                  "hosting_per_hour": dict(info.hosting_price)},
        "notes": info.notes or None,
        "source": _page(info.source),
        "sources": {t: _page(info.sources.get(t, info.source)) for t in TOPICS},
    }


def catalog_listing(catalog: Catalog) -> dict[str, Any]:
    """Every model of the catalog (shipped, merged with the project's override), in catalog order."""
    return {"format_version": LISTING_VERSION, "models": [model_entry(m) for m in catalog.models.values()]}
