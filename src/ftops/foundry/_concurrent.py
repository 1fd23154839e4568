"""Reads that wait on the service, run at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any


def at_once(*fns: Callable[[], Any], stop: threading.Event | None = None, grace: float = 0.0) -> list[Any]:
    """Call each of `fns` on a thread of its own; their results in order, or the first error (by order)
    once all have ended.

    For calls that mostly wait on Foundry (listings on two planes): the waits overlap. The threads are
    daemons, so a Ctrl-C meanwhile ends the command at once instead of waiting for a call riding out
    an outage. Calls that write (each account's apply) are handed `stop` instead: Ctrl-C reaches only the
    main thread, so it sets `stop`, which each call watches to end as its own Ctrl-C would end it, and
    gives them up to `grace` seconds to do so before it is raised (a second Ctrl-C raises at once).
    """
    results: list[Any] = [None] * len(fns)
    errors: list[BaseException | None] = [None] * len(fns)
    # Waited on instead of Thread.join: in CPython 3.11 a join that Ctrl-C interrupts marks the thread it waited
    # for as stopped while it still runs (bpo-45274's fix; gh-90882), so joining it again would return at once.
    done = [threading.Event() for _ in fns]

    def run(i: int, fn: Callable[[], Any]) -> None:
        try:
            results[i] = fn()
        except BaseException as e:  # handed to the caller below
            errors[i] = e
        finally:
            done[i].set()

    threads = [threading.Thread(target=run, args=(i, fn), name=f"ftops-read-{i}", daemon=True)
               for i, fn in enumerate(fns)]
    try:  # Ctrl-C may come while the last threads start: the first ones may be writing already
        for t in threads:
            t.start()
        for d in done:
            d.wait()
    except KeyboardInterrupt:
        if stop is not None:
            stop.set()
            deadline = time.monotonic() + grace
            for d in done:
                d.wait(max(0.0, deadline - time.monotonic()))
        raise
    for e in errors:
        if e is not None:
            raise e
    return results
