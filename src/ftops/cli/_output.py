"""Console helpers shared by the commands: stdout for results, stderr for errors and progress."""

from __future__ import annotations

import sys
from typing import IO, Any, cast

from rich.console import Console

from .. import FtopsError, UsageError


class OutputFailed(FtopsError):
    """Standard output could not be written (a full disk, `> /dev/full`, a closed pipe)."""


def _failed(e: OSError) -> BaseException:
    # A reader that left (`| head`) is no error to report: the parser exits 1 quietly on EPIPE.
    return e if isinstance(e, BrokenPipeError) else OutputFailed(f"cannot write to standard output: {e.strerror or e}")


def _stdout() -> IO[str]:
    if sys.stdout is None:  # started with it closed (`>&-`): Python then has no sys.stdout at all
        raise OutputFailed("cannot write to standard output: it is closed")
    return sys.stdout


class _Stdout:
    """sys.stdout as it is at each write (tests swap it), with a failed write raised as one line instead
    of a bug: a result that was not delivered must not exit 0, nor end in "internal error"."""

    def write(self, text: str) -> int:
        try:
            return _stdout().write(text)
        except OSError as e:
            raise _failed(e) from None

    def flush(self) -> None:
        try:
            _stdout().flush()
        except OSError as e:
            raise _failed(e) from None

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, encoding ...: the real stream's
        return getattr(sys.stdout, name)


out = Console(file=cast(IO[str], _Stdout()), highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


# The widest a table is printed when standard output is not a terminal (a CI log, a file, a pipe).
MAX_PIPED_WIDTH = 240


def print_table(table: Any) -> None:
    """A rich table (or any renderable) on stdout: as wide as the terminal on a terminal; elsewhere, where rich
    would assume 80 columns and fold every id and model name over several lines (a CI log, `ftops status >
    file`), as wide as its cells need, up to MAX_PIPED_WIDTH."""
    if out.is_terminal:
        out.print(table)
        return
    natural = out.measure(table, options=out.options.update_width(MAX_PIPED_WIDTH)).maximum
    previous = out.width  # print's own `width` is capped at the console's: widen the console meanwhile
    out.width = max(previous, min(natural, MAX_PIPED_WIDTH))
    try:
        out.print(table)
    finally:
        out.width = previous


def is_tty() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def confirm(command: str, question: str) -> None:
    """Ask `question` on a terminal before `command` (apply, destroy) changes anything; UsageError (exit 2)
    unless the answer is yes: no terminal to ask on, no answer (Ctrl-D, Ctrl-C), or no."""
    import typer

    from ._parser import ABORTS

    if not is_tty():
        raise UsageError(f"refusing to {command} without a terminal to confirm; pass --auto-approve")
    try:
        confirmed = typer.confirm(question, default=False)
    except ABORTS as e:
        raise UsageError(f"{command} cancelled (no answer)") from e
    if not confirmed:
        raise UsageError(f"{command} cancelled")
