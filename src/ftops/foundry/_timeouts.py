"""How long one Foundry call may take: per-request timeouts sized to the call, and budgets a user can set.

A request's timeouts bound each network operation (connecting, each read, each write), not the whole
request; the retry budget bounds a whole call across its attempts, and every attempt's timeouts are
capped by what is left of it. The outage budget bounds how long `--wait` keeps polling a Foundry that
does not answer at all.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass

from .._exceptions import UsageError

RETRY_BUDGET_ENV = "FTOPS_RETRY_BUDGET"
OUTAGE_BUDGET_ENV = "FTOPS_OUTAGE_BUDGET"


@dataclass(frozen=True)
class Timeouts:
    """Seconds each kind of request may wait for the network (for one operation, see the module doc)."""

    connect: float = 5.0  # a TCP + TLS handshake; longer means the endpoint is not there
    read: float = 30.0  # get and list
    write: float = 60.0  # create, cancel, pause, resume, delete, deployment PUT/DELETE
    upload: float = 120.0  # a whole-file upload or one part, before scaling to its size
    upload_rate: float = 1024 * 1024  # bytes per second an upload is allowed at the least

    def for_upload(self, nbytes: int) -> float:
        """An upload's timeout: the base plus the time `nbytes` take at the slowest rate allowed."""
        return self.upload + nbytes / self.upload_rate


@dataclass(frozen=True)
class Budgets:
    """Seconds: `retry` for one call over all its attempts, `outage` for continuous failure while waiting."""

    retry: float
    outage: float


REMOTE = Budgets(retry=300.0, outage=900.0)
LOCAL = Budgets(retry=30.0, outage=60.0)


def _seconds(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        shown = raw if len(raw) <= 40 and raw.isprintable() else repr(raw[:40])
        raise UsageError(f"{name}: expected a number of seconds above 0, got {shown}")
    return value


def budgets_from_env(default: Budgets, environ: Mapping[str, str] | None = None) -> Budgets:
    """`default`, overridden by FTOPS_RETRY_BUDGET and FTOPS_OUTAGE_BUDGET; a bad value is a UsageError."""
    env = os.environ if environ is None else environ
    return Budgets(retry=_seconds(env, RETRY_BUDGET_ENV, default.retry),
                   outage=_seconds(env, OUTAGE_BUDGET_ENV, default.outage))
