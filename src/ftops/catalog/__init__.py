"""Catalog layer: what each Foundry base model supports (methods, tiers, regions, prices) and the pages
that say so."""

from ._catalog import OVERRIDE_FILE, TOPICS, Catalog, ModelInfo, Source, Topic, load_catalog
from ._listing import LISTING_VERSION, catalog_listing, model_entry

__all__ = ["LISTING_VERSION", "OVERRIDE_FILE", "TOPICS", "Catalog", "ModelInfo", "Source", "Topic",
           "catalog_listing", "load_catalog", "model_entry"]
