"""Execute a Plan: independent actions concurrently (bounded), deployment writes one at a time.

Ordering is `graphlib.TopologicalSorter` over the actions' dependencies. A failure stops only the
actions that depend on it. Without --wait, actions that need a job's result are deferred (a later
apply continues where things stand). Every step is safe to repeat: uploads are found again by
name, jobs by their metadata, deployments are PUTs.
"""

from __future__ import annotations

import graphlib
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from .._exceptions import DowntimeRefused, FtopsError
from ..checks import CheckedProject
from ..foundry import FoundryClient
from ..plan import Action, Plan, WaitJob
from ._runtime import Deferred, Outcome, Reporter, Runtime, Silent, settle_all
from ._steps import step_of

DONE, NOOP, FAILED, SKIPPED, DEFERRED, BLOCKED = "done", "no-op", "failed", "skipped", "deferred", "blocked"
NOT_OK = frozenset({FAILED, SKIPPED, BLOCKED})


@dataclass
class ApplyResult:
    outcomes: list[Outcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def count(self, state: str) -> int:
        return sum(1 for o in self.outcomes if o.state == state)

    @property
    def ok(self) -> bool:
        return not any(o.state in NOT_OK for o in self.outcomes)

    @property
    def waiting(self) -> bool:
        """Only Foundry's work remains (deferred actions wait for running jobs)."""
        return self.ok and self.count(DEFERRED) > 0


def _run(rt: Runtime, a: Action) -> Outcome:
    rt.reporter.start(a)
    t0 = time.monotonic()
    step = step_of(a)
    assert step is not None
    try:
        return Outcome(a.id, DONE, step(rt, a), time.monotonic() - t0)
    except Deferred as d:
        return Outcome(a.id, DEFERRED, str(d), time.monotonic() - t0)
    except FtopsError as e:
        return Outcome(a.id, FAILED, str(e), time.monotonic() - t0)


def _immediate(rt: Runtime, a: Action, outcomes: dict[str, Outcome]) -> Outcome | None:
    """The outcome of an action that need not run (blocked, nothing to do, a dependency failed), else None."""
    if a.blocked:
        return Outcome(a.id, BLOCKED, a.blocked)
    if step_of(a) is None:
        return Outcome(a.id, NOOP, a.reason)
    bad = [d for d in a.depends_on if outcomes[d].state in NOT_OK]
    if bad:
        return Outcome(a.id, SKIPPED, f"skipped: {bad[0]} did not succeed")
    if isinstance(a, WaitJob) and not rt.wait_jobs:
        return Outcome(a.id, DEFERRED, f"{a.reason} (use --wait to follow it)")
    return None


def require_downtime_allowed(plan: Plan, allow_downtime: bool) -> None:
    """Refuse, before any change, a plan that stops a deployment serving unless the user allowed it."""
    stops = plan.interruptions
    if stops and not allow_downtime:
        names = ", ".join(a.name for a in stops)
        raise DowntimeRefused(f"the plan interrupts serving of {names} (Azure changes a deployment's sku only by "
                              "deleting and creating it again); pass --allow-downtime to apply it; nothing was "
                              "applied")


def apply_plan(plan: Plan, checked: CheckedProject, client: FoundryClient, *, wait_jobs: bool = False,
               concurrency: int = 8, reporter: Reporter | None = None, allow_downtime: bool = False) -> ApplyResult:
    """Run the plan's actions in dependency order; returns every action's outcome (never prints).

    A plan that interrupts serving is refused whole (DowntimeRefused) unless `allow_downtime`.
    """
    require_downtime_allowed(plan, allow_downtime)
    rt = Runtime(plan, checked, client, wait_jobs, reporter or Silent())
    actions = plan.by_id()
    order = graphlib.TopologicalSorter({a.id: set(a.depends_on) for a in plan.actions})
    order.prepare()  # a cycle raises graphlib.CycleError; plan files are checked for one before this
    outcomes: dict[str, Outcome] = {}
    running: dict[Future[Outcome], str] = {}

    def record(o: Outcome) -> None:
        outcomes[o.action_id] = o
        rt.reporter.finish(actions[o.action_id], o)
        order.done(o.action_id)

    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="ftops-apply")
    try:
        while order.is_active():
            for aid in order.get_ready():
                o = _immediate(rt, actions[aid], outcomes)
                if o is not None:
                    record(o)
                else:
                    running[pool.submit(_run, rt, actions[aid])] = aid
            if running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in done:
                    running.pop(fut)
                    record(fut.result())
    except KeyboardInterrupt:
        # Stop waiting, let in-flight requests finish (each step is safe to repeat), then re-raise.
        rt.stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    try:
        settle_all(rt)
    except FtopsError as e:
        rt.note(f"could not check for concurrent duplicates ({e}); the next plan cancels any")
    return ApplyResult([outcomes[a.id] for a in plan.actions], rt.notes)
