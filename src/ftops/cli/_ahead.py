"""Work a command can begin before the command line has loaded: `ftops validate [DIR] --no-tokens` starts
hashing and checking the data files its specs name (`ftops.datasets.scan_ahead`) while typer, rich and the
spec models load, about 0.15 s on one core. The scan takes those results only where they hold for the
file and options it checks, so what validate reports never depends on this; it is only faster.

The arguments are read here without the parser: only the exact shapes below start anything, and the
parser then reads the same arguments as always (a usage error is its to report). With `--foundry` (or
FTOPS_FOUNDRY) nothing starts: the command checks that Foundry's datasets only, which the lead cannot tell
from the others' without the spec models, and the command would wait while the lead scanned the others' files.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

_VALUE_FLAGS = frozenset({"--format", "-f"})  # validate's flags that take a value (but --foundry)
_FOUNDRY_ENV = "FTOPS_FOUNDRY"  # --foundry's variable (cli/_options.FOUNDRY)


def read_ahead_dir(args: list[str], environ: Mapping[str, str] | None = None) -> Path | None:
    """The spec directory of a `validate ... --no-tokens` command line for every Foundry, else None (nothing to
    start)."""
    if not args or args[0] != "validate" or (os.environ if environ is None else environ).get(_FOUNDRY_ENV):
        return None
    spec_dir: str | None = None
    tokens = True
    rest = iter(args[1:])
    for arg in rest:
        if arg in ("--tokens", "--no-tokens"):
            tokens = arg == "--tokens"
        elif arg in _VALUE_FLAGS:
            if next(rest, None) is None:
                return None
        elif arg.startswith("--format="):
            continue
        elif arg.startswith("-") or spec_dir is not None:
            return None  # --help, --, or anything the parser is to answer
        else:
            spec_dir = arg
    return None if tokens else Path(spec_dir if spec_dir is not None else "specs")


def start(args: list[str]) -> None:
    """Start what the command line `args` can begin early (see the module's docstring)."""
    spec_dir = read_ahead_dir(args)
    if spec_dir is not None and spec_dir.is_dir():
        from ..datasets import scan_ahead

        scan_ahead(spec_dir)
