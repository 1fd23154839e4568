"""Spec files use ftops' one bounded, line-keeping YAML loader (shared with the catalog override)."""

from .._yaml import MAX_DEPTH, MAX_DOCUMENTS, MAX_NODES, Document, Loc, YamlError, load_documents

__all__ = ["MAX_DEPTH", "MAX_DOCUMENTS", "MAX_NODES", "Document", "Loc", "YamlError", "load_documents"]
