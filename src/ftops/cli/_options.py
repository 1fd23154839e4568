"""Options several commands share."""

from __future__ import annotations

import typer

from .. import FoundryNotChosen

# FTOPS_FOUNDRY lets a CI matrix job choose its Foundry through the environment: the GitHub Action passes
# its inputs through to ftops and has no input per flag (docs/ci.md, "Several accounts").
FOUNDRY = typer.Option(None, "--foundry", metavar="NAME", envvar="FTOPS_FOUNDRY", show_envvar=True,
                       help="The Foundry document (metadata.name) to work on, when the spec directory has several.")

# plan, apply, drift and status run over several accounts at once: the flag repeats, and FTOPS_FOUNDRY may name
# several, separated by commas or spaces (`chosen` splits them); none is every Foundry document.
FOUNDRIES = typer.Option(None, "--foundry", metavar="NAME", envvar="FTOPS_FOUNDRY", show_envvar=True,
                         help="A Foundry document (metadata.name) to work on (repeatable; FTOPS_FOUNDRY may name "
                              "several, separated by commas or spaces). Default: every Foundry document.")


def chosen(given: list[str] | None) -> list[str]:
    """The Foundry names of `--foundry` / FTOPS_FOUNDRY: each value split at commas and spaces, once each.

    A value that names nothing (`--foundry ""`, `--foundry ,`: typically a CI variable that is empty) is a usage
    error, not "no --foundry": read as none given it would work on EVERY account. (An empty or blank
    FTOPS_FOUNDRY reaches here as no value at all, and means every account, as documented.)"""
    for value in given or ():
        if not value.replace(",", " ").split():
            raise FoundryNotChosen(f"--foundry {value!r} names no Foundry document: give a name, or leave --foundry "
                                   "out to work on every one")
    names = [n for value in given or () for n in value.replace(",", " ").split()]
    return list(dict.fromkeys(names))
