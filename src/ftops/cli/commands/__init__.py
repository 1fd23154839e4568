"""One thin module per command; each registers itself on the Typer app."""

from __future__ import annotations

import typer

from . import catalog, destroy, emulator, import_, matrix, merge_plans, metrics, reconcile, schema, validate


def register(app: typer.Typer) -> None:
    for module in (validate, reconcile, import_, destroy, catalog, schema, emulator, metrics, matrix, merge_plans):
        module.register(app)
