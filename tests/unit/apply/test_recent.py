"""The shared, incremental listings race settling reads (apply/_recent.py), against a scripted listing."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field

import pytest

from ftops.apply._recent import FEW_PROBES, PROBES, Offset, Read, Recent
from tests.unit.apply.fakes import FakeClock


@dataclass(frozen=True)
class Obj:
    id: str
    created_at: int
    name: str = "a"
    status: str = "ok"


@dataclass
class Account:
    """Objects as a listing sees them, Foundry's clock, and every `created_after` a listing was asked for."""

    objects: list[Obj] = field(default_factory=list)
    clock: float = 1000.0
    asked: list[int] = field(default_factory=list)
    gate: threading.Event | None = None  # when set up, a listing waits for it (to hold one in flight)
    entered: threading.Event = field(default_factory=threading.Event)

    def read(self, since: int) -> tuple[list[Obj], float | None]:
        self.asked.append(since)
        newest = sorted(self.objects, key=lambda o: (o.created_at, o.id), reverse=True)
        gate, clock = self.gate, self.clock  # what the account says when the listing is served
        self.entered.set()
        if gate is not None:
            assert gate.wait(10)
        return [o for o in newest if o.created_at >= since], clock


def recent(account: Account, floor: int = 900) -> Recent[Obj]:
    return Recent(account.read, lambda o: o.name, floor, rescan=2.5)


def test_a_listing_that_began_after_the_moment_is_reused_and_an_earlier_one_is_not() -> None:
    account = Account([Obj("x", 950)])
    r = recent(account)
    moment = time.monotonic()
    first = r.after(moment)
    assert r.after(moment) is first and len(account.asked) == 1  # began after the moment: shared
    assert r.after(time.monotonic()) is not first and len(account.asked) == 2  # a later moment: a new listing


def test_each_listing_reads_only_down_to_what_earlier_ones_covered() -> None:
    account = Account([Obj("old", 950)], clock=1000.0)
    r = recent(account)
    r.after(time.monotonic())
    account.objects.append(Obj("new", 1001))
    account.clock = 1002.0
    view = r.after(time.monotonic())
    # The first read everything since the floor; the second only what is younger than the first listing's
    # clock less the re-read window (2.5 s): an object older than that was visible then and was read.
    assert account.asked == [900, 998]  # created_at is whole seconds: 997 < 1000 - 2.5 was visible
    assert view.horizon == 998 and view.is_current(1001) and not view.is_current(950)
    assert [o.id for o in r.group("a")] == ["old", "new"]  # oldest first; what earlier listings read is kept


def test_callers_at_the_same_moment_share_one_listing_in_flight() -> None:
    gate = threading.Event()
    account = Account([Obj("x", 950)], gate=gate)
    r = recent(account)
    moment = time.monotonic()
    views = []
    threads = [threading.Thread(target=lambda: views.append(r.after(moment))) for _ in range(4)]
    threads[0].start()
    assert account.entered.wait(10)  # the first caller's listing is in flight
    for t in threads[1:]:
        t.start()
    time.sleep(0.05)  # let them reach the wait (no assertion depends on how long)
    gate.set()
    for t in threads:
        t.join(10)
    assert len(account.asked) == 1 and len(views) == 4 and all(v is views[0] for v in views)


def test_a_listing_in_flight_that_began_before_the_moment_is_not_joined() -> None:
    gate = threading.Event()
    account = Account(gate=gate)
    r = recent(account)
    early = threading.Thread(target=lambda: r.after(time.monotonic()))
    early.start()
    assert account.entered.wait(10)
    later = time.monotonic()  # e.g. a job created while that listing was in flight
    account.gate = None
    gate.set()
    view = r.after(later)
    early.join(10)
    assert view.started >= later and len(account.asked) == 2


def test_a_later_listing_wins_over_an_earlier_one_that_answers_last() -> None:
    gate = threading.Event()
    account = Account([Obj("x", 950, status="running")], gate=gate)
    r = recent(account)
    early = threading.Thread(target=lambda: r.after(time.monotonic()))
    early.start()
    assert account.entered.wait(10)  # the early listing has read "running" and is held
    account.gate, account.objects = None, [Obj("x", 950, status="cancelled")]
    r.after(time.monotonic())  # a later listing reads "cancelled" and answers first
    gate.set()
    early.join(10)
    assert [o.status for o in r.group("a")] == ["cancelled"]


def test_a_failed_listing_is_not_shared() -> None:
    calls = []

    def read(since: int) -> tuple[list[Obj], float | None]:
        calls.append(since)
        if len(calls) == 1:
            raise RuntimeError("down")
        return [], 1000.0

    r: Recent[Obj] = Recent(read, lambda o: o.name, 900, rescan=2.5)
    moment = time.monotonic()
    with pytest.raises(RuntimeError):
        r.after(moment)
    assert r.after(moment).server_time == 1000.0 and len(calls) == 2


def test_at_server_time_waits_for_foundrys_clock_and_lists_once_it_is_there() -> None:
    t0 = time.monotonic()

    def read(since: int) -> tuple[list[Obj], float | None]:
        return [], 2000.92 + (time.monotonic() - t0)  # Foundry's clock: 80 ms short of 2001 at the start

    r: Recent[Obj] = Recent(read, lambda o: o.name, 1900, rescan=2.5)
    view = r.at_server_time(2001, threading.Event())
    assert view.server_time is not None and view.server_time >= 2001
    assert r.listings <= 3  # one to learn the clock, one once it read 2001 (one more if a request was slow)
    assert r.at_server_time(2001, threading.Event()) is view  # reached already: no other listing


def test_at_server_time_gives_up_waiting_when_stopped() -> None:
    r: Recent[Obj] = Recent(lambda since: ([], 1000.0), lambda o: o.name, 900, rescan=2.5)
    stop = threading.Event()
    stop.set()
    view = r.at_server_time(5000, stop)  # far in the future: without stop this would wait for an hour
    assert view.server_time == 1000.0 and r.listings == 1


@pytest.mark.parametrize("fraction", [0.05, 0.37, 0.5, 0.93])
def test_at_server_time_times_its_listings_to_learn_foundrys_clock_within_the_second(fraction: float) -> None:
    clock = FakeClock(now=100.0)
    offset = 2000 + fraction - 100.0  # Foundry's clock less ours: its Dates are whole seconds
    served: list[float] = []

    def read(since: int) -> tuple[list[Obj], float | None]:
        served.append(clock.monotonic() + offset)
        return [], float(math.floor(served[-1]))

    r: Recent[Obj] = Recent(read, lambda o: o.name, 1900, rescan=1.5, clock=clock)
    view = r.at_server_time(2001.5, threading.Event())
    # Not at the first Date of 2002 (half a second late), but within the probes' spacing (the second the turn
    # may fall in, spread evenly over PROBES listings) of 2001.5, which its Dates prove
    assert view.clock >= 2001.5 and 2001.5 <= served[-1] <= 2001.5 + 1 / 16 + 1e-9, served
    assert r.listings <= 1 + PROBES + 1


@pytest.mark.parametrize("fraction", [0.05, 0.5, 0.93])
def test_slow_listings_are_spaced_by_their_round_trips_not_by_the_number_of_probes(fraction: float) -> None:
    clock = FakeClock(now=100.0)
    offset = 2000 + fraction - 100.0
    served: list[float] = []

    def read(since: int) -> tuple[list[Obj], float | None]:
        clock.advance(0.15)  # a listing against Azure: 150 ms
        served.append(clock.monotonic() + offset)
        return [], float(math.floor(served[-1]))

    r: Recent[Obj] = Recent(read, lambda o: o.name, 1900, rescan=1.5, clock=clock)
    view = r.at_server_time(2001.5, threading.Event())
    # Within a probe's spacing (a quarter of the second) and a round trip of 2001.5
    assert view.clock >= 2001.5 and served[-1] <= 2001.5 + 1 / FEW_PROBES + 0.15 + 1e-9, served
    # Against listings this slow (Azure's), not PROBES of them in a second, but FEW_PROBES.
    assert len([t for t in served if t < 2001.5]) <= 1 + FEW_PROBES, served


def test_indexes_that_share_foundrys_clock_need_not_watch_it_turn_again() -> None:
    clock = FakeClock(now=100.0)
    offset = 2000.37 - 100.0
    served: dict[str, list[float]] = {"files": [], "jobs": []}

    def reader(kind: str) -> Read[Obj]:
        def read(since: int) -> tuple[list[Obj], float | None]:
            served[kind].append(clock.monotonic() + offset)
            return [], float(math.floor(served[kind][-1]))
        return read

    shared = Offset()
    files: Recent[Obj] = Recent(reader("files"), lambda o: o.name, 1900, rescan=1.5, clock=clock, offset=shared)
    jobs: Recent[Obj] = Recent(reader("jobs"), lambda o: o.name, 1900, rescan=1.5, clock=clock, offset=shared)
    files.at_server_time(2001.5, threading.Event())  # the uploads' wave watched the turn to 2001
    clock.advance(0.5)  # Foundry's clock a little past 2002 at the jobs' first listing: 2003 is a second away
    view = jobs.at_server_time(2003.5, threading.Event())  # a job created in 2002: its conclusive look
    # One listing to read, then the files' bounds leave a window of 1/16 s for 2003 to come in (not a second):
    # a probe or two narrow it, where alone the jobs' index would have spread up to 16 over the second.
    assert jobs.listings <= 4 and 2003.5 <= served["jobs"][-1] <= 2003.5 + 1 / 16 + 1e-9, served["jobs"]
    assert view.clock >= 2003.5
