"""The executor (apply/_executor.py) offline: fake steps that record when they ran, or the real steps on a fake
Foundry; Ctrl-C is a real SIGINT to the thread running apply_plan. Each test takes milliseconds."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, cast

import pytest

from ftops import FtopsError, TemporaryFoundryError
from ftops.apply import BLOCKED, DEFERRED, DONE, FAILED, NOOP, SKIPPED, ApplyResult, apply_plan
from ftops.apply import _executor as executor
from ftops.apply._runtime import Runtime
from ftops.apply._steps import Step
from ftops.checks import CheckedProject
from ftops.foundry import FoundryClient, RetryPolicy
from ftops.plan import Action, DeleteDeployment, DeleteFile, NoOp, RollOut, WaitJob
from tests.unit.apply.fakes import FakeClock, FakeFoundry, as_client, plan_of

HASH = "a" * 16
Behaviour = Callable[[Runtime, Action], str]


def act(aid: str, *after: str, blocked: str | None = None) -> DeleteFile:
    """An action the fake steps run (its type does not matter to the executor)."""
    return DeleteFile(id=aid, name=aid, reason=f"{aid} is needed", file_id=f"file-{aid}", depends_on=list(after),
                      blocked=blocked)


@dataclass
class Steps:
    """A step table for every action type: each step does what the test says for its action id (else returns
    "done"), and records when it started and ended, and how many ran at once."""

    behaviour: dict[str, Behaviour] = field(default_factory=dict)
    log: list[tuple[str, str]] = field(default_factory=list)  # ("start" | "end", action id), in order
    active: int = 0
    most: int = 0
    cond: threading.Condition = field(default_factory=threading.Condition)

    def table(self) -> dict[type[Action], Step]:
        return {DeleteFile: self.run, WaitJob: self.run, RollOut: self.run}  # type: ignore[dict-item]

    def run(self, rt: Runtime, a: Action) -> str:
        with self.cond:
            self.log.append(("start", a.id))
            self.active += 1
            self.most = max(self.most, self.active)
            self.cond.notify_all()
        try:
            return self.behaviour.get(a.id, lambda rt, a: "done")(rt, a)
        finally:
            with self.cond:
                self.active -= 1
                self.log.append(("end", a.id))

    def ran(self, aid: str) -> bool:
        return ("start", aid) in self.log

    def ended(self, aid: str) -> bool:
        return ("end", aid) in self.log


def run(checked: CheckedProject, foundry: FakeFoundry, steps: Steps | None, *actions: Action,
        **kw: Any) -> ApplyResult:
    extra: dict[str, Any] = {"steps": steps.table()} if steps is not None else {}
    return apply_plan(plan_of(*actions), checked, as_client(foundry), clock=foundry.clock, **extra, **kw)


def states(result: ApplyResult) -> dict[str, tuple[str, str]]:
    return {o.action_id: (o.state, o.message) for o in result.outcomes}


@pytest.fixture
def ctrl_c() -> Iterator[Callable[[], None]]:
    """Press Ctrl-C: SIGINT to the main thread, where the test runs apply_plan. Python's own handler is set for
    the test (a shell may have started the tests with SIGINT ignored), and only the first press counts."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    pressed = threading.Event()
    main = threading.main_thread().ident
    assert main is not None and threading.current_thread() is threading.main_thread()

    def press() -> None:
        if not pressed.is_set():
            pressed.set()
            signal.pthread_kill(main, signal.SIGINT)
    try:
        yield press
    finally:
        signal.signal(signal.SIGINT, previous)


# -- scheduling ------------------------------------------------------------------------------------------
def test_actions_run_after_what_they_depend_on(checked: CheckedProject, foundry: FakeFoundry) -> None:
    steps = Steps({"a": lambda rt, a: time.sleep(0.01) or "a done"})  # slow enough to be overtaken if allowed
    actions = [act("d", "b", "c"), act("b", "a"), act("c", "a"), act("a")]
    result = run(checked, foundry, steps, *actions)
    assert result.ok and states(result) == {"d": (DONE, "done"), "b": (DONE, "done"), "c": (DONE, "done"),
                                            "a": (DONE, "a done")}
    assert [o.action_id for o in result.outcomes] == ["d", "b", "c", "a"]  # in the plan's order
    for a in actions:
        for dep in a.depends_on:
            assert steps.log.index(("end", dep)) < steps.log.index(("start", a.id)), steps.log


def test_independent_actions_run_at_once_up_to_the_concurrency(checked: CheckedProject,
                                                                 foundry: FakeFoundry) -> None:
    steps = Steps()

    def together(rt: Runtime, a: Action) -> str:  # a while, in which more would start if they could
        with steps.cond:
            steps.cond.wait_for(lambda: steps.active > 3, timeout=0.03)
        return "done"
    steps.behaviour = {f"x{i}": together for i in range(7)}
    result = run(checked, foundry, steps, *[act(f"x{i}") for i in range(7)], concurrency=3)
    assert result.ok and result.count(DONE) == 7
    assert steps.most == 3  # never more than the limit, and that many at once


@dataclass
class OneWriter(FakeFoundry):
    """A Foundry that sees whether two deployment writes overlap: each write waits (briefly) for another."""

    writing: int = 0
    overlap: int = 0
    cond: threading.Condition = field(default_factory=threading.Condition)

    def _write(self) -> None:
        with self.cond:
            self.writing += 1
            self.overlap = max(self.overlap, self.writing)
            self.cond.notify_all()
            self.cond.wait_for(lambda: self.writing > 1, timeout=0.03)
            self.writing -= 1

    def put_deployment(self, name: str, write: Any) -> Any:
        self._write()
        return super().put_deployment(name, write)

    def delete_deployment(self, name: str) -> None:
        self._write()
        super().delete_deployment(name)


def rollout(name: str, job_id: str, *after: str) -> RollOut:
    return RollOut(id=f"deployment.{name}:create", name=name, reason="a new deployment", action="create", job="clippy",
                   job_hash=HASH, sku="GlobalStandard", capacity=10, spec_hash="b" * 16, model="ft-model",
                   job_id=job_id, depends_on=list(after))


def test_one_deployment_write_at_a_time(checked: CheckedProject, clock: FakeClock) -> None:
    foundry = OneWriter(clock)
    job = foundry.add_job(HASH, status="succeeded")
    actions = [rollout("clippy-prod", job.id), rollout("clippy-stage", job.id),
               DeleteDeployment(id="deployment.old:delete", name="old", reason="no spec names it")]
    result = run(checked, foundry, None, *actions)  # the real steps
    assert result.ok, states(result)
    assert sorted(foundry.writes) == ["delete old", "put clippy-prod", "put clippy-stage"]
    assert foundry.overlap == 1  # under the runtime's deploy lock


# -- outcomes --------------------------------------------------------------------------------------------
def test_a_failure_skips_what_depends_on_it_and_says_why(checked: CheckedProject, foundry: FakeFoundry) -> None:
    def fail(rt: Runtime, a: Action) -> str:
        raise FtopsError("Foundry rejected file-a")
    steps = Steps({"a": fail})
    result = run(checked, foundry, steps, act("a"), act("b", "a"), act("c", "b"), act("d"))
    assert states(result) == {"a": (FAILED, "Foundry rejected file-a"), "b": (SKIPPED, "skipped: a did not succeed"),
                              "c": (SKIPPED, "skipped: b did not succeed"), "d": (DONE, "done")}
    assert not steps.ran("b") and not steps.ran("c") and not result.ok


def test_a_blocked_action_does_not_run_and_what_depends_on_it_is_skipped(checked: CheckedProject,
                                                                          foundry: FakeFoundry) -> None:
    steps = Steps()
    nothing = NoOp(id="noop", name="clippy-prod", reason="serves ft-model already", kind="Deployment")
    result = run(checked, foundry, steps, act("a", blocked="the name is held by someone else"), act("b", "a"),
                 nothing, act("c", "noop"))
    assert states(result) == {"a": (BLOCKED, "the name is held by someone else"),
                              "b": (SKIPPED, "skipped: a did not succeed"), "noop": (NOOP, "serves ft-model already"),
                              "c": (DONE, "done")}
    assert steps.log == [("start", "c"), ("end", "c")] and not result.ok


def test_without_wait_a_running_job_defers_its_wait_and_what_needs_it(checked: CheckedProject,
                                                                      foundry: FakeFoundry) -> None:
    job = foundry.add_job(HASH, status="running")
    wait = WaitJob(id="job.clippy:wait", name="clippy", reason="training", job_id=job.id, spec_hash=HASH,
                   live_id=job.id)
    result = run(checked, foundry, None, wait, rollout("clippy-prod", job.id, wait.id))  # the real steps
    assert states(result) == {
        wait.id: (DEFERRED, "training (use --wait to follow it)"),
        "deployment.clippy-prod:create": (DEFERRED, f"waits for job clippy ({job.id} is running); run apply again "
                                                    "or use --wait")}
    assert result.ok and result.waiting and not foundry.writes


# -- Ctrl-C ----------------------------------------------------------------------------------------------
def test_ctrl_c_stops_scheduling_lets_steps_in_flight_finish_and_is_raised_promptly(
        checked: CheckedProject, foundry: FakeFoundry, ctrl_c: Callable[[], None]) -> None:
    steps = Steps()

    def waits(rt: Runtime, a: Action) -> str:  # a step waiting for Foundry: ends when Ctrl-C stops the waits
        with steps.cond:
            steps.cond.wait_for(lambda: steps.active == 2, timeout=5)
        ctrl_c()  # often while the scheduler is still busy starting `b`: it must not miss the signal
        assert rt.stop.wait(5)
        return "interrupted"

    def finishing(rt: Runtime, a: Action) -> str:  # a request in flight: finishes after Ctrl-C
        assert rt.stop.wait(5)
        time.sleep(0.02)
        return "done"
    steps.behaviour = {"a": waits, "b": finishing}
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        run(checked, foundry, steps, act("a"), act("b"), act("c", "a"), act("d"), concurrency=2)
    assert time.monotonic() - t0 < 1
    assert steps.ended("a") and steps.ended("b")  # both finished before apply_plan raised
    assert not steps.ran("c") and not steps.ran("d")  # nothing started after Ctrl-C


def test_ctrl_c_waits_for_a_step_in_flight_no_longer_than_the_grace(
        checked: CheckedProject, foundry: FakeFoundry, ctrl_c: Callable[[], None],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(executor, "INTERRUPT_GRACE", 0.05)
    release = threading.Event()

    def hangs(rt: Runtime, a: Action) -> str:  # a request that does not answer, and ignores Ctrl-C
        ctrl_c()
        release.wait(10)
        return "done"
    t0 = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            run(checked, foundry, Steps({"a": hangs}), act("a"))
        assert time.monotonic() - t0 < 1
    finally:
        release.set()


def _backing_off_client(on_call: Callable[[], None]) -> FoundryClient:
    """A real FoundryClient whose job reads fail with a 503 asking to retry after 30 s."""
    def retrieve(job_id: str, **kw: Any) -> Any:
        on_call()
        raise TemporaryFoundryError(f"read job {job_id}: HTTP 503", status=503, retry_after=30)
    oai = SimpleNamespace(fine_tuning=SimpleNamespace(jobs=SimpleNamespace(retrieve=retrieve)))
    return FoundryClient(cast(Any, oai), cast(Any, None), resource_group="g", account="a", endpoint="e",
                         policy=RetryPolicy(attempts=5, max_delay=30, budget=300))


def test_ctrl_c_ends_a_retry_back_off_in_flight(checked: CheckedProject, ctrl_c: Callable[[], None]) -> None:
    calls: list[float] = []
    client = _backing_off_client(lambda: calls.append(time.monotonic()) or ctrl_c())
    gave_up: list[str] = []

    def reads(rt: Runtime, a: Action) -> str:
        try:
            return rt.client.get_job("ftjob-1").status
        except TemporaryFoundryError as e:
            gave_up.append(str(e))
            raise
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        apply_plan(plan_of(act("a")), checked, client, steps=Steps({"a": reads}).table())
    assert time.monotonic() - t0 < 1  # not the 30 s back-off, nor the grace
    assert gave_up == ["read job ftjob-1: HTTP 503"] and len(calls) == 1  # no attempt after Ctrl-C


def test_ctrl_c_stops_every_account_of_a_run_over_several(checked: CheckedProject, ctrl_c: Callable[[], None]) -> None:
    """Issue 17 (hostile pass): each account applies on a thread of its own, and Python delivers Ctrl-C to the
    main thread only. Ctrl-C must still stop every account as it stops one: nothing new starts, the steps in
    flight see the stop and finish their requests, and it is raised once they have (not by abandoning them)."""
    from ftops.session import for_each

    accounts = {n: (FakeFoundry(clock=FakeClock()), Steps()) for n in ("dev", "prod")}
    in_flight = threading.Barrier(3)

    def writing(rt: Runtime, a: Action) -> str:  # a deployment write in flight when Ctrl-C comes
        in_flight.wait(5)
        assert rt.stop.wait(5)  # the stop reached this account's steps
        time.sleep(0.05)  # the request ends after Ctrl-C: apply waits for it
        return "done"

    for _foundry, steps in accounts.values():
        steps.behaviour = {"write": writing}
    stop = threading.Event()

    def applied(name: str) -> ApplyResult:
        foundry, steps = accounts[name]
        return run(checked, foundry, steps, act("write"), act("after", "write"), interrupt=stop)

    def press_when_both_write() -> None:
        in_flight.wait(5)
        ctrl_c()
    threading.Thread(target=press_when_both_write, daemon=True).start()
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        for_each(["dev", "prod"], applied, stop=stop, grace=5)
    assert time.monotonic() - t0 < 4  # the steps' 0.05 s, not the 5 s grace (on a loaded machine)
    for _foundry, steps in accounts.values():
        assert steps.ended("write")  # finished before the run ended, not abandoned mid-request
        assert not steps.ran("after")  # nothing started after Ctrl-C
