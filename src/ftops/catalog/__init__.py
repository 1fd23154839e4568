"""Catalog layer: what each Foundry base model supports (methods, tiers, regions, prices)."""

from ._catalog import OVERRIDE_FILE, Catalog, ModelInfo, load_catalog

__all__ = ["OVERRIDE_FILE", "Catalog", "ModelInfo", "load_catalog"]
