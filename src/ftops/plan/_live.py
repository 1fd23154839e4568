"""What the planner knows of the live account: the listings, plus the events and checkpoints it asked for.

Deciding is pure: the planner reads only a `LiveState`. When it needs something the state lacks (a
running job's newest events, a finished job's checkpoints) it records the need and carries on with
what it has; `refresh` (the only code here that calls Foundry) fetches the needs and plans again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from .._exceptions import FoundryError
from ..foundry import EvalsClient, FoundryClient, LiveCheckpoint, LiveEval, LiveEvent, LiveModel, LiveUsage, Snapshot


@dataclass(frozen=True)
class Needs:
    events: frozenset[str] = frozenset()  # job ids
    checkpoints: frozenset[str] = frozenset()  # job ids
    evals: bool = False  # the Evals listing (verdicts of evaluation-gated deployments)

    def __bool__(self) -> bool:
        return bool(self.events or self.checkpoints or self.evals)


@dataclass
class LiveState:
    snapshot: Snapshot
    events: dict[str, list[LiveEvent]] = field(default_factory=dict)
    checkpoints: dict[str, list[LiveCheckpoint]] = field(default_factory=dict)
    evals: list[LiveEval] | None = None  # None: not read (only plans with evaluation gates read it)
    api_calls: int = 0
    now: float = field(default_factory=time.time)  # the planning clock (rollout grace, retirement dates)
    models: dict[str, LiveModel] | None = None  # base models the account offers; None: not known
    usages: dict[str, LiveUsage] | None = None  # the account's quotas; None: not known
    unknown: list[str] = field(default_factory=list)  # what could not be read (said in the plan)
    _want_events: set[str] = field(default_factory=set)
    _want_checkpoints: set[str] = field(default_factory=set)
    _want_evals: bool = False

    def events_of(self, job_id: str) -> list[LiveEvent] | None:
        if job_id not in self.events:
            self._want_events.add(job_id)
            return None
        return self.events[job_id]

    def checkpoints_of(self, job_id: str) -> list[LiveCheckpoint] | None:
        if job_id not in self.checkpoints:
            self._want_checkpoints.add(job_id)
            return None
        return self.checkpoints[job_id]

    def evals_listed(self) -> list[LiveEval] | None:
        if self.evals is None:
            self._want_evals = True
        return self.evals

    def take_needs(self) -> Needs:
        needs = Needs(frozenset(self._want_events), frozenset(self._want_checkpoints), self._want_evals)
        self._want_events.clear()
        self._want_checkpoints.clear()
        self._want_evals = False
        return needs


def fetch(state: LiveState, client: FoundryClient, needs: Needs) -> None:
    """Fetch what a planning pass asked for (one call per job)."""
    before = client.api_calls
    for job_id in sorted(needs.events - state.events.keys()):
        state.events[job_id] = client.latest_events(job_id)
    for job_id in sorted(needs.checkpoints - state.checkpoints.keys()):
        state.checkpoints[job_id] = client.checkpoints(job_id)
    if needs.evals and state.evals is None:
        state.evals = EvalsClient(client).list_evals()
    state.api_calls += client.api_calls - before


def read_live(client: FoundryClient) -> LiveState:
    """The listings: a number of calls that grows with pages, not with resources."""
    snap = client.snapshot()
    state = LiveState(snap, api_calls=snap.api_calls, now=snap.server_time or time.time())
    before = client.api_calls
    try:
        state.models = {m.id: m for m in client.list_models()}
    except FoundryError as e:  # preflight is advice: without the list, apply finds out instead
        state.unknown.append(f"the account's model list ({e.message})")
    try:
        state.usages = client.usages()
    except FoundryError as e:
        state.unknown.append(f"the account's quota usages ({e.message})")
    state.api_calls += client.api_calls - before
    return state
