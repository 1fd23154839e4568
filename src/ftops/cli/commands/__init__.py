"""One thin module per command; each registers itself on the Typer app."""

from __future__ import annotations

import typer

from . import schema, validate


def register(app: typer.Typer) -> None:
    for module in (validate, schema):
        module.register(app)
    try:
        from . import emulator
        emulator.register(app)
    except ImportError:  # pragma: no cover - emulator extras missing
        pass
    try:
        from . import reconcile
        reconcile.register(app)
    except ImportError:  # pragma: no cover
        pass
