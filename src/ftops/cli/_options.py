"""Options several commands share."""

from __future__ import annotations

import typer

# FTOPS_FOUNDRY lets a CI matrix job choose its Foundry through the environment: the GitHub Action passes
# its inputs through to ftops and has no input per flag (docs/ci.md, "Several accounts").
FOUNDRY = typer.Option(None, "--foundry", metavar="NAME", envvar="FTOPS_FOUNDRY", show_envvar=True,
                       help="The Foundry document (metadata.name) to work on, when the spec directory has several.")
