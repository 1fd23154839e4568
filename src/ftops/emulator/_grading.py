"""Eval runs graded in the background, as Foundry does: a run is created `queued` and completes later.

`POST /evals/{id}/runs` answers at once (OpenAI's Evals API creates the run and the client polls it); a
thread of the emulator's process then samples and grades the items (python graders in their jails, which
may take minutes: Foundry allows one call 2 minutes) and stores the output items. A run's record names
the process grading it (`grading`: its pid and start time). If that process ends before the items are
stored (the emulator stopped, or was killed), the run reads as failed rather than in progress forever.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
SLOTS = threading.BoundedSemaphore(4)  # runs graded at once in one process (each may hold a 2 GB jail)


@dataclass
class _Grading:
    emulator: int  # id() of the Emulator whose stop() ends it
    cancel: threading.Event
    stopped: bool = False  # the emulator stopped: store nothing (the run reads as abandoned)


_active: dict[str, _Grading] = {}
_lock = threading.Lock()


def _start_time(pid: int) -> str:
    """The process's start time (clock ticks since boot), which a reused pid does not share; "" if unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, IndexError):
        return ""


def owner() -> str:
    """What a run's record says of the process that grades it."""
    return f"{os.getpid()}:{_start_time(os.getpid())}"


def abandoned(run_id: str, token: str) -> bool:
    """True when the process that was grading the run is gone (or, in this process, the grading is)."""
    pid_text, _, started = token.partition(":")
    pid = int(pid_text)
    if pid == os.getpid() and started == _start_time(pid):
        with _lock:
            return run_id not in _active
    if started:
        return _start_time(pid) != started
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def register(emulator: object, run_id: str) -> _Grading:
    """Claim the run for this process before its record is written (so it never reads as abandoned)."""
    grading = _Grading(id(emulator), threading.Event())
    with _lock:
        _active[run_id] = grading
    return grading


def start(grading: _Grading, run_id: str, work: Callable[[threading.Event], T],
          finish: Callable[[T | Exception], None]) -> None:
    """finish(work(cancel)) on a daemon thread (finish gets the exception if work raised)."""
    def run() -> None:
        try:
            with SLOTS:
                result: T | Exception = work(grading.cancel)
        except Exception as e:  # a bug or a broken store: the run fails with it, the process goes on
            result = e
        try:
            if not grading.stopped:
                with contextlib.suppress(Exception):  # the data dir may be gone (a test's tmp dir)
                    finish(result)
        finally:
            with _lock:
                _active.pop(run_id, None)
    threading.Thread(target=run, name=f"ftops-grade-{run_id[-8:]}", daemon=True).start()


def forget(run_id: str) -> None:
    """The run was not created after all."""
    with _lock:
        _active.pop(run_id, None)


def cancel(run_id: str) -> None:
    """Stop grading the run now (its jails are killed); what was graded is stored."""
    with _lock:
        grading = _active.get(run_id)
    if grading is not None:
        grading.cancel.set()


def stop(emulator: object) -> None:
    """The emulator stops: end every grading it started, storing nothing."""
    with _lock:
        mine = [g for g in _active.values() if g.emulator == id(emulator)]
    for g in mine:
        g.stopped = True
        g.cancel.set()
