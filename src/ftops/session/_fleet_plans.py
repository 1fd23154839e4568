"""The plans of a run over several accounts (connected by `_fleet`): every account's live state read at once, then
decided wave by wave (`spec.account_waves`), each account with what the accounts of earlier waves offer it
(`Upstream`). A run narrowed to some accounts also plans the accounts they follow (`read_only`), only for what
those offer: their plans are never shown, saved or applied by it.

Apart from `_fleet` so that connecting does not load the planner: a command connects, and its accounts' listings
start loading (`foundry.start_reading`), before it imports this module and with it `ftops.plan`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..plan import NO_UPSTREAM, Action, GitSource, LiveState, Plan, Upstream, make_plan, read_live, upstream_of
from ._fleet import Fleet, for_each


@dataclass
class PlannedAccount:
    """One account's plan, with the live state it was decided from and where the account is."""

    foundry: str
    region: str
    account_id: str
    plan: Plan
    live: LiveState



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
