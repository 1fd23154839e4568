"""What a run knows of the files and jobs created since its plan: shared, incremental, newest-first listings.

Race settling (docs/reference.md "Racing applies") needs, after each upload and each job creation, a listing
fresh enough to show any rival. Steps that need one at the same time share it (single flight), and a listing
reads newest first only down to its horizon: everything created before the horizon was read by an earlier
listing that began at least `rescan` seconds (Foundry's clock) after it was created, by when it was visible.
So a run of N uploads reads about N listing entries (times a constant), not N per upload.

What an entry says about an object below the horizon may be old (a status, a deletion): callers that act on
such an entry read it again first (`is_current`).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from ._clock import SYSTEM, Clock

# Listings that watch Foundry's clock turn before a wait for it (see `Recent.at_server_time`): a wait overshoots
# by about their spacing plus a round trip, the spacing being the window the turn may fall in (up to a second)
# spread evenly over the probes. How many: as many as keep Foundry busy with them PROBE_BUSY of the time, from
# FEW_PROBES (Azure: 0.1 s a listing and more) to PROBES (the local Foundry: a few ms).
PROBES = 16
FEW_PROBES = 4
PROBE_BUSY = 0.4
PROBE_STEP = 0.04  # seconds between their starts at least


class Dated(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def created_at(self) -> int: ...


T = TypeVar("T", bound=Dated)
Read = Callable[[int], tuple[list[T], float | None]]  # (created at or after, Foundry's clock) -> newest first


@dataclass(frozen=True)
class View:
    """One listing, as callers may rely on it."""

    started: float  # the clock's monotonic() before its first request
    server_time: float | None  # Foundry's clock when it began (the Date header), None if not said
    horizon: int  # it read every object created at or after this (Foundry's clock)
    # Foundry's clock was at least this when the listing began: its Date, or better, `started` plus the lower
    # bound on Foundry's clock less ours that every Date so far gives (below). -inf when Foundry sends no Date.
    clock: float = -math.inf

    def is_current(self, created_at: int) -> bool:
        """Whether this listing read the object itself (so its status and existence are as of this listing)."""
        return created_at >= self.horizon


class Offset:
    """Foundry's clock less the clock's monotonic() lies in [low, high). A Date (Foundry's clock rounded down to the
    second) is stamped between a request's start and its end: Foundry's clock read at least the Date at the end,
    and less than the Date + 1 at the start. The tightest bounds of all Dates told are kept."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._low = -math.inf
        self._high = math.inf

    def bounds(self) -> tuple[float, float]:
        with self._lock:
            return self._low, self._high

    def tell(self, date: float, started: float, ended: float) -> float:
        """Narrow the bounds by a Date read between `started` and `ended`; the new lower bound."""
        with self._lock:
            self._low = max(self._low, date - ended)
            self._high = min(self._high, date + 1 - started)
            return self._low


@dataclass
class _Entry(Generic[T]):
    item: T
    read_at: float  # the start of the listing that read it (a later-started listing's word wins)


@dataclass
class Recent(Generic[T]):
    """The objects created since `floor` (Foundry's clock), grouped by `key`, kept current by shared listings."""

    read: Read[T]
    key: Callable[[T], str]
    floor: int
    rescan: float  # seconds after its created_at (Foundry's clock, whole seconds) by which an object is listed
    clock: Clock = SYSTEM
    listings: int = 0  # how many listings this index made
    _horizon: int = 0
    _groups: dict[str, dict[str, _Entry[T]]] = field(default_factory=dict)
    _latest: View | None = None
    _running: list[float] = field(default_factory=list)
    _latency: float = 0.0  # how long the last listing took (seconds of the clock)
    # What the listings' Dates tell of Foundry's clock; one run's indexes share it (files' listings narrow it
    # for the jobs' looks).
    offset: Offset = field(default_factory=Offset)
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def __post_init__(self) -> None:
        self._horizon = self.floor

    def group(self, key: str) -> list[T]:
        """What the latest listings say of the objects with this key, oldest first by (created_at, id)."""
        with self._cond:
            items = [e.item for e in self._groups.get(key, {}).values()]
        return sorted(items, key=lambda o: (o.created_at, o.id))

    def after(self, moment: float) -> View:
        """A listing that began at or after `moment` (the clock's monotonic()): the latest if it did, one in flight
        that did (joined), else a new one. A listing in flight that began earlier is not waited for."""
        with self._cond:
            while True:
                if self._latest is not None and self._latest.started >= moment:
                    return self._latest
                if not any(r >= moment for r in self._running):
                    break
                self._cond.wait()
            started, horizon = self.clock.monotonic(), self._horizon
            self._running.append(started)
        return self._list(started, horizon)

    def at_server_time(self, threshold: float, stop: threading.Event) -> View:
        """A listing that began once Foundry's clock read at least `threshold` (its `clock`), waiting until then.
        If `stop` is set, or Foundry sends no Date, the latest listing.

        The bounds on Foundry's clock may be up to a second wide (a Date is rounded down), and waiting until they
        prove the threshold reached overshoots it by as much. So first, a few listings spread evenly over the
        moments when Foundry's clock may turn to the last whole second before `threshold` watch it turn: the
        first listing after the turn bounds the clock to within the listings' spacing (plus a round trip)."""
        turn = math.ceil(threshold) - 1
        probes, allowed = 0, 0
        while True:
            with self._cond:
                latest, latency = self._latest, self._latency
            low, high = self.offset.bounds()
            if latest is None:  # any listing tells Foundry's clock: join one in flight
                self.after(0.0)
                continue
            if latest.server_time is None or latest.clock >= threshold or stop.is_set():
                return latest
            now = self.clock.monotonic()
            moment = threshold - low  # by then Foundry's clock surely reads `threshold`
            allowed = allowed or max(FEW_PROBES, min(PROBES, int(PROBE_BUSY / max(latency, 1e-6))))
            if latest.server_time < turn and probes < allowed:  # the turn is between turn - high and turn - low
                # What is left of the turn's window, shared among the probes left: evenly spaced probes.
                left = turn - low - max(latest.started, turn - high)
                step = max(PROBE_STEP, latency, left / (allowed - probes))
                probe = max(now, turn - high, latest.started + step)
                if probe < moment and high - low > step:  # else the bounds are as narrow as a probe would make them
                    moment, probes = probe, probes + 1
            if self.clock.wait(stop, max(0.0, moment - now)):
                return latest
            self.after(moment)

    def _list(self, started: float, horizon: int) -> View:
        try:
            items, server_time = self.read(horizon)
            ended = self.clock.monotonic()
        except BaseException:
            with self._cond:  # those who joined it list again themselves
                self._running.remove(started)
                self._cond.notify_all()
            raise
        with self._cond:
            self.listings += 1
            self._latency = ended - started
            for item in items:
                group = self._groups.setdefault(self.key(item), {})
                seen = group.get(item.id)
                if seen is None or seen.read_at <= started:
                    group[item.id] = _Entry(item, started)
            clock = -math.inf
            if server_time is not None:
                clock = max(server_time, started + self.offset.tell(server_time, started, ended))
                # Everything created `rescan` s before this listing began was in it: created_at is whole
                # seconds, so c < ceil(t - rescan) means c < t - rescan.
                self._horizon = max(self._horizon, math.ceil(clock - self.rescan))
            view = View(started, server_time, horizon, clock)
            if self._latest is None or started >= self._latest.started:
                self._latest = view
            self._running.remove(started)
            self._cond.notify_all()
        return view
