"""How a command starts and ends fast: modules load with the cyclic GC paused, and the process leaves
without tearing the interpreter down.

`ftops plan` loads about a million objects (openai alone builds some 700 pydantic classes at import),
all of which live until the process ends. The cyclic collector runs dozens of times meanwhile and
finds nothing to free: pausing it cuts the import time by about 15%, and `gc.freeze()` afterwards
moves those objects where later collections (a long `apply --wait`) never scan them again. At exit,
the interpreter would tear down every module and collect those objects once more (about 0.08 s after
importing openai) although the operating system frees the memory anyway.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import os
import sys
import threading
from collections.abc import Iterator
from typing import NoReturn

EXIT_INTERRUPTED = 130  # Ctrl-C (what Typer turns KeyboardInterrupt into)
INTERRUPTED = "interrupted: nothing half-done is left that the next apply cannot finish"


@contextlib.contextmanager
def loading() -> Iterator[None]:
    """Import inside: the cyclic GC is paused, and what was loaded is frozen (never scanned again)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.freeze()
            gc.enable()


def _other_threads() -> bool:
    """A thread the interpreter would wait for at exit (a worker still running)."""
    me = threading.current_thread()
    return any(t is not me and not t.daemon and t.is_alive() for t in threading.enumerate())


def leave(code: int) -> NoReturn:
    """Exit with `code`: flush, run the exit handlers (logging, multiprocessing, temporary files),
    then end the process without the interpreter's teardown. With a worker thread still alive, exit
    the usual way instead, which waits for it."""
    if _other_threads():
        sys.exit(code)
    atexit._run_exitfuncs()  # what a normal exit runs; only the module teardown is skipped
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a reader that left early: nothing more to say to it
            stream.flush()
    os._exit(code)


def exit_code(e: SystemExit) -> int:
    """The process exit code `sys.exit(e.code)` would give."""
    if e.code is None:
        return 0
    if isinstance(e.code, int):
        return e.code
    with contextlib.suppress(Exception):
        print(e.code, file=sys.stderr)
    return 1


def interrupted() -> NoReturn:
    """Ctrl-C before the command line handles it (`_main`: while it loads): the line and exit code it gives."""
    with contextlib.suppress(Exception):  # no standard error to say it on: the exit code still does
        print(INTERRUPTED, file=sys.stderr, flush=True)
    raise SystemExit(EXIT_INTERRUPTED)
