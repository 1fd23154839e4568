"""Catalog layer: what each Foundry base model supports (methods, tiers, regions, prices) and the pages
that say so."""

from ._catalog import OVERRIDE_FILE, TOPICS, Catalog, ModelInfo, Source, Topic, load_catalog

__all__ = ["OVERRIDE_FILE", "TOPICS", "Catalog", "ModelInfo", "Source", "Topic", "load_catalog"]
