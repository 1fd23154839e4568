"""The command line: parse flags, call the core, render. The only layer that prints.

`run` is the `ftops` console script: it loads the command line with the GC paused and leaves without
the interpreter's teardown (see `_startup`). `main` is the same command line for callers that stay
in the process afterwards (tests, `ftops.cli.main([...])`): it raises SystemExit.
"""

from __future__ import annotations

import sys
from typing import NoReturn

from ._startup import exit_code, interrupted, leave, loading


def main(args: list[str] | None = None) -> None:
    """Run the command line on `args` (default sys.argv); raises SystemExit with the exit code."""
    try:
        with loading():
            from ._main import main as _main
        _main(args)
    except KeyboardInterrupt:  # Ctrl-C before `_main` handles it (while the command line loads): the same end
        interrupted()


def run() -> NoReturn:
    """The console script: `main`, then leave fast. What a command can begin before the command line loads
    starts first (`_ahead`: validate's data files)."""
    try:
        _start_ahead()
        main()
    except SystemExit as e:
        leave(exit_code(e))
    leave(0)


def _start_ahead() -> None:
    from . import _ahead

    try:
        _ahead.start(sys.argv[1:])
    except KeyboardInterrupt:  # Ctrl-C this early ends as it does once the command line has loaded
        interrupted()


__all__ = ["main", "run"]
