"""Work a command can begin before the command line has loaded: `ftops validate [DIR] --no-tokens` starts
hashing and checking the data files its specs name (`ftops.datasets.scan_ahead`) while typer, rich and the
spec models load, about 0.15 s on one core. The scan takes those results only where they hold for the
file and options it checks, so what validate reports never depends on this; it is only faster.

The arguments are read here without the parser: only the exact shapes below start anything, and the
parser then reads the same arguments as always (a usage error is its to report).
"""

from __future__ import annotations

from pathlib import Path

_VALUE_FLAGS = frozenset({"--format", "-f", "--foundry"})  # validate's flags that take a value


def read_ahead_dir(args: list[str]) -> Path | None:
    """The spec directory of a `validate ... --no-tokens` command line, else None (nothing to start)."""
    if not args or args[0] != "validate":
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
        elif arg.startswith(("--format=", "--foundry=")):
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
