"""A run over several Foundry accounts: every chosen Foundry document connected and read at once, then planned
wave by wave (`spec.account_waves`), each account with what the accounts of earlier waves offer it (`Upstream`).
A run narrowed to some accounts also reads and plans the accounts they follow (`read_only`), only for what those
offer: their plans are never shown, saved or applied by it.

The accounts of one wave are independent of each other, so their reads and plans overlap on threads (each
mostly waits on its Foundry); a later wave waits for the upstream of the earlier ones. Deciding stays the pure
planner's: this module only orders, fetches and merges.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import TypeVar

from .._exceptions import FtopsError, ValidationFailed
from ..checks import CheckedAccounts
from ..foundry import FoundryClient, Launcher, at_once, connect
from ..plan import NO_UPSTREAM, Action, GitSource, LiveState, Plan, Upstream, make_plan, read_live, upstream_of
from ..spec import Project, account_waves, require_connection
from ._connect import Session

T = TypeVar("T")


@dataclass
class FleetAccount:
    """One Foundry document of the run: its name, region and session."""

    foundry: str
    region: str
    session: Session

    @property
    def client(self) -> FoundryClient:
        return self.session.client


@dataclass
class Fleet:
    """The connected accounts of a run (by Foundry name) and the waves they are planned and applied in;
    `read_only`: those of them read for what they offer the chosen ones only (`CheckedAccounts.read_only`)."""

    project: Project
    accounts: dict[str, FleetAccount]
    waves: list[list[str]]
    read_only: frozenset[str] = frozenset()

    @property
    def chosen(self) -> list[str]:
        """The accounts the run shows, saves and applies."""
        return [n for n in self.accounts if n not in self.read_only]

    @property
    def several(self) -> bool:
        """More than one chosen account: the output is grouped by account (one account prints as before)."""
        return len(self.chosen) > 1


@dataclass
class PlannedAccount:
    """One account's plan, with the live state it was decided from and where the account is."""

    foundry: str
    region: str
    account_id: str
    plan: Plan
    live: LiveState


def chosen_waves(project: Project, chosen: Sequence[str]) -> list[list[str]]:
    """`account_waves` of the chosen accounts only (an empty wave left out); order kept."""
    waves = [[n for n in wave if n in chosen] for wave in account_waves(project)]
    return [w for w in waves if w]


def for_each(names: Sequence[str], fn: Callable[[str], T], *, stop: threading.Event | None = None,
             grace: float = 0.0) -> dict[str, T]:
    """`fn(name)` for every name at once (one thread each: the calls wait on Foundry), by name; the first error
    by name order once all ended. One name runs on this thread. Ctrl-C sets `stop` (when given) and waits up to
    `grace` seconds for the calls to end before it is raised: see `at_once`."""
    if len(names) == 1:
        return {names[0]: fn(names[0])}
    results = at_once(*(lambda n=n: _naming(n, fn) for n in names), stop=stop, grace=grace)
    return dict(zip(names, results, strict=True))


def _naming(name: str, fn: Callable[[str], T]) -> T:
    """`fn(name)`, whose error names Foundry `name`: with several accounts, which one failed is the first thing
    to know (`error: Foundry prod: cannot reach ...`)."""
    try:
        return fn(name)
    except ValidationFailed:
        raise  # its problems carry their file:line
    except FtopsError as e:
        if not e.message.startswith(f"Foundry {name}:"):
            e.message = f"Foundry {name}: {e.message}"
            e.args = (e.message,)
        raise


@contextmanager
def open_fleet(checked: CheckedAccounts, launcher: Launcher | None = None) -> Iterator[Fleet]:
    """Connect to every chosen account at once (the local Foundry's accounts through `launcher`)."""
    project = checked.project
    for one in checked.accounts.values():
        require_connection(one.project)  # unset ${VAR}s: fine for validate, an error to connect
    names = list(checked.accounts)
    with ExitStack() as stack:
        def connected(name: str) -> FoundryClient:
            spec = project.foundries[name].spec
            client = connect(spec, project.root, launcher=launcher)
            stack.callback(client.close)
            return client

        clients = for_each(names, connected)
        accounts = {n: FleetAccount(n, project.foundries[n].spec.region, Session(checked.accounts[n], clients[n]))
                    for n in names}
        yield Fleet(project, accounts, chosen_waves(project, names), checked.read_only)


def read_all(fleet: Fleet) -> dict[str, LiveState]:
    """Every account's live state, read at once."""
    return for_each(list(fleet.accounts), lambda n: read_live(fleet.accounts[n].client))


def plan_wave(fleet: Fleet, wave: Sequence[str], upstream: Upstream, *, prune: bool = False,
              lives: dict[str, LiveState] | None = None, provenance: GitSource | None = None
              ) -> dict[str, PlannedAccount]:
    """The plans of one wave's accounts, decided at once, each with `upstream` (read again unless given) and
    the git source the specs were read from (`provenance`, recorded by the requests)."""
    def planned(name: str) -> PlannedAccount:
        acc = fleet.accounts[name]
        live = lives[name] if lives is not None else read_live(acc.client)
        plan = make_plan(acc.session.checked, acc.client, prune=prune, live=live, upstream=upstream,
                         provenance=provenance)
        return PlannedAccount(name, acc.region, acc.client.account_id, plan, live)

    return for_each(list(wave), planned)


def upstream_after(planned: dict[str, PlannedAccount]) -> Upstream:
    """What the accounts of a wave offer the waves after it."""
    found = NO_UPSTREAM
    for p in planned.values():
        found = found.merged(upstream_of(p.foundry, p.plan, p.live, p.account_id, p.region))
    return found


def plan_fleet(fleet: Fleet, *, prune: bool = False, provenance: GitSource | None = None) -> list[PlannedAccount]:
    """Every chosen account's plan: all accounts read at once, then decided wave by wave, each wave with the
    merged upstream of the waves before it (the read-only accounts' included). In wave order, by name within a
    wave."""
    lives = read_all(fleet)
    upstream, plans = NO_UPSTREAM, []
    for wave in fleet.waves:
        planned = plan_wave(fleet, wave, upstream, prune=prune, lives=lives, provenance=provenance)
        upstream = upstream.merged(upstream_after(planned))
        plans += [planned[n] for n in wave if n not in fleet.read_only]
    return plans


def read_only_upstream(fleet: Fleet, *, prune: bool = False, lives: dict[str, LiveState] | None = None) -> Upstream:
    """What the read-only accounts offer a run of ONE chosen account (they all come before it: it follows
    them), planned wave by wave as a full run plans them (from `lives` when read already)."""
    upstream = NO_UPSTREAM
    for wave in fleet.waves:
        if names := [n for n in wave if n in fleet.read_only]:
            upstream = upstream.merged(upstream_after(plan_wave(fleet, names, upstream, prune=prune, lives=lives)))
    return upstream


def unreviewed(shown: Plan, fresh: Plan) -> list[Action]:
    """The actions of `fresh` (a later wave planned again after the earlier waves ran) that change something,
    pending ones included, and that the plan shown for approval did not hold (by action id): what nobody
    reviewed. Empty: `fresh` may run on the approval already given."""
    reviewed = {a.id for a in shown.actions}
    return [a for a in fresh.actions if a.changes_something and a.id not in reviewed]
