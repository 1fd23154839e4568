"""Options several commands share."""

from __future__ import annotations

import typer

FOUNDRY = typer.Option(None, "--foundry", metavar="NAME",
                       help="The Foundry document (metadata.name) to work on, when the spec directory has several.")
