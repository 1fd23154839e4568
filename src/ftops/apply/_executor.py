"""Execute a Plan: independent actions concurrently (bounded), deployment writes one at a time.

Ordering is `graphlib.TopologicalSorter` over the actions' dependencies. A failure stops only the
actions that depend on it. Without --wait, actions that need a job's result are deferred (a later
apply continues where things stand). Every step is safe to repeat: uploads are found again by
name, jobs by their metadata, deployments are PUTs.
"""

from __future__ import annotations

import graphlib
import queue
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from .._exceptions import DowntimeRefused, FtopsError
from ..checks import CheckedProject
from ..foundry import FoundryClient
from ..plan import Action, Plan, WaitJob
from ._clock import SYSTEM, Clock
from ._runtime import Deferred, Outcome, Reporter, Runtime, Silent, settle_all
from ._steps import RUNS, Step

DONE, NOOP, FAILED, SKIPPED, DEFERRED, BLOCKED = "done", "no-op", "failed", "skipped", "deferred", "blocked"
NOT_OK = frozenset({FAILED, SKIPPED, BLOCKED})
INTERRUPT_GRACE = 5.0  # seconds Ctrl-C gives the steps in flight to finish their requests
# The scheduler wakes at least this often. Python runs a signal handler between bytecodes: a SIGINT that arrives
# just before the scheduler blocks would otherwise raise KeyboardInterrupt only once a step finishes (hours, with
# --wait). Waking bounds that delay.
WAKE_SECONDS = 0.1


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


def _run(rt: Runtime, step: Step, a: Action) -> Outcome:
    rt.reporter.start(a)
    t0 = rt.clock.monotonic()
    try:
        return Outcome(a.id, DONE, step(rt, a), rt.clock.monotonic() - t0)
    except Deferred as d:
        return Outcome(a.id, DEFERRED, str(d), rt.clock.monotonic() - t0)
    except FtopsError as e:
        return Outcome(a.id, FAILED, str(e), rt.clock.monotonic() - t0)


def _immediate(rt: Runtime, a: Action, step: Step | None, outcomes: dict[str, Outcome]) -> Outcome | None:
    """The outcome of an action that need not run (blocked, nothing to do, a dependency failed), else None."""
    if a.blocked:
        return Outcome(a.id, BLOCKED, a.blocked)
    if step is None:
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
               concurrency: int = 8, reporter: Reporter | None = None, allow_downtime: bool = False,
               steps: Mapping[type[Action], Step] = RUNS, clock: Clock = SYSTEM,
               interrupt: threading.Event | None = None) -> ApplyResult:
    """Run the plan's actions in dependency order; returns every action's outcome (never prints).

    A plan that interrupts serving is refused whole (DowntimeRefused) unless `allow_downtime`. `steps` (what
    runs for each action type) and `clock` are the real ones unless a test hands in fakes.

    Ctrl-C (KeyboardInterrupt): nothing new starts, waits and retry back-offs end, the steps in flight get up
    to INTERRUPT_GRACE seconds to finish their requests (each step is safe to repeat), then it is re-raised.
    """
    require_downtime_allowed(plan, allow_downtime)
    rt = Runtime(plan, checked, client, wait_jobs, reporter or Silent(), clock)
    actions = plan.by_id()
    order = graphlib.TopologicalSorter({a.id: set(a.depends_on) for a in plan.actions})
    order.prepare()  # a cycle raises graphlib.CycleError; plan files are checked for one before this
    outcomes: dict[str, Outcome] = {}
    ready: deque[tuple[str, Step]] = deque()  # may run, once fewer than `concurrency` steps run
    running: set[str] = set()
    finished: queue.SimpleQueue[tuple[str, Outcome | BaseException]] = queue.SimpleQueue()

    def record(o: Outcome) -> None:
        outcomes[o.action_id] = o
        rt.reporter.finish(actions[o.action_id], o)
        order.done(o.action_id)

    def start(aid: str, step: Step) -> None:
        def work() -> None:
            try:
                result: Outcome | BaseException = _run(rt, step, actions[aid])
            except BaseException as e:  # a bug of ours: raised by the caller's thread below
                result = e
            finished.put((aid, result))
        running.add(aid)
        # Daemon threads: after Ctrl-C and its grace, a step still in flight does not hold the process.
        threading.Thread(target=work, name=f"ftops-apply {aid}", daemon=True).start()

    def collect(timeout: float | None) -> Outcome | BaseException | None:
        """What the next step to finish returned or raised; None if none finishes within `timeout` seconds."""
        try:
            aid, result = finished.get(timeout=timeout)
        except queue.Empty:
            return None
        running.discard(aid)
        return result

    with client.stopping_on(rt.stop):
        try:
            while order.is_active():
                if interrupt is not None and interrupt.is_set():
                    raise KeyboardInterrupt
                for aid in order.get_ready():
                    step = steps.get(type(actions[aid]))
                    o = _immediate(rt, actions[aid], step, outcomes)
                    if o is not None:
                        record(o)
                    else:
                        assert step is not None
                        ready.append((aid, step))
                while ready and len(running) < concurrency:
                    start(*ready.popleft())
                if running:
                    result = collect(WAKE_SECONDS)
                    if isinstance(result, BaseException):
                        raise result
                    if result is not None:
                        record(result)
        except KeyboardInterrupt:
            rt.stop.set()  # waits and back-offs end; what has not started never starts
            deadline = time.monotonic() + INTERRUPT_GRACE
            while running and collect(max(0.0, deadline - time.monotonic())) is not None:
                pass  # their outcomes are not reported: the interrupted apply reports nothing more
            raise
        try:
            settle_all(rt)
        except FtopsError as e:
            rt.note(f"could not check for concurrent duplicates ({e}); the next plan cancels any")
    return ApplyResult([outcomes[a.id] for a in plan.actions], rt.notes)
