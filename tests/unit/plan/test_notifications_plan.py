"""The notices a plan would send, offline: what its actions observe, less what a claim says was sent; and the
guards' decisions on a running or paused job."""

from __future__ import annotations

from ftops.foundry import LiveEvent, LiveFile
from ftops.plan import NoOp, PauseJob, Plan, ResumeJob, claim_name, decide
from tests.conftest import BASE_SPEC, MakeProject
from tests.unit.plan.snapshots import NOW, World, by_resource, world

HOOK = """---
apiVersion: ftops/v1
kind: Notification
metadata: {name: ops}
spec:
  webhook: {url: "https://hooks.example.com/ftops"}
  on: [job.succeeded, rollout.done, guard.tripped]
"""


def _plan(w: World, claims: list[LiveFile] | None = None) -> Plan:
    state = w.state()
    state.notified = claims or []
    plan = decide(w.checked, state, endpoint="s/g/a", created_at=w.now)
    assert not state.take_needs()
    return plan


def test_a_plan_names_the_events_it_observes_once(make_project: MakeProject) -> None:
    w = world(make_project(spec=BASE_SPEC + HOOK))
    w.uploads()
    job = w.job("clippy")
    w.checkpoints_for(job, [0.5, 0.4, 0.45])
    w.deploy("clippy-prod", job, model=w.checkpoints[job.id][1].id)
    notices = _plan(w).notifications
    assert [(n.event, n.resource) for n in notices] == [("job.succeeded", "FineTuningJob/clippy"),
                                                         ("rollout.done", "Deployment/clippy-prod")]
    claims = [LiveFile(id=f"file-{i}", filename=claim_name(w.project, n.notification, n.key, "abc"), bytes=1,
                       status="processed", purpose="evals", created_at=1) for i, n in enumerate(notices)]
    assert _plan(w, claims[:1]).notifications == notices[1:]  # claimed: sent before
    assert _plan(w, claims).notifications == []
    # Another project's claims of the same key are not this project's.
    other = [LiveFile(id="file-x", filename=claim_name("other", "ops", notices[0].key, "abc"), bytes=1,
                      status="processed", purpose="evals", created_at=1)]
    assert len(_plan(w, other).notifications) == 2


def test_without_notifications_nothing_is_read(make_project: MakeProject) -> None:
    w = world(make_project())
    w.uploads()
    w.job("clippy")
    state = w.state()
    assert decide(w.checked, state, created_at=NOW).notifications == []
    assert not state.take_needs().notified


def _diverging(w: World, job_id: str) -> None:
    w.events[job_id] = [LiveEvent(message=f"Step {s}", step=s, metrics={"valid_loss": 0.5 + s / 100})
                        for s in (50, 40, 30, 20, 10)]


GUARDED = BASE_SPEC.replace("  seed: 105\n", "  seed: 105\n  guards:\n  - {metric: valid_loss, rising: 3, "
                                             "action: pause}\n")


def test_a_tripped_guard_pauses_then_holds_until_the_spec_says_resume(make_project: MakeProject) -> None:
    w = world(make_project(spec=GUARDED + HOOK))
    w.uploads()
    job = w.job("clippy", status="running")
    _diverging(w, job.id)
    plan = _plan(w)
    a = by_resource(plan)["FineTuningJob/clippy"]
    assert isinstance(a, PauseJob) and a.guard is not None and a.guard.step == 40
    assert "rollout on hold" in by_resource(plan)["Deployment/clippy-prod"].reason
    assert [n.event for n in plan.notifications] == ["guard.tripped"]
    w.set_job(job, status="paused")
    held = by_resource(_plan(w))["FineTuningJob/clippy"]
    assert isinstance(held, NoOp) and held.guard is not None and "resume: true" in held.reason
    # resume: true (or the guard removed): resumed.
    r = world(make_project(spec=GUARDED.replace("  guards:", "  resume: true\n  guards:")))
    r.uploads()
    paused = r.job("clippy", status="paused")
    _diverging(r, paused.id)
    assert any(isinstance(a, ResumeJob) for a in r.plan().actions)


def test_a_guard_on_a_running_job_waits_for_its_events(make_project: MakeProject) -> None:
    w = world(make_project(spec=GUARDED))
    w.uploads()
    job = w.job("clippy", status="running")
    del w.events[job.id]
    state = w.state()
    decide(w.checked, state, created_at=NOW)
    assert job.id in state.take_needs().events
