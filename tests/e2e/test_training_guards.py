"""Training guards against the local Foundry: a diverging job is paused by its guard during `apply --wait`,
`status` says why, the job stays paused until the spec says `resume: true`."""

from __future__ import annotations

import json

from tests.e2e.conftest import Project

GUARD = "  seed: 105\n  guards:\n  - {metric: valid_loss, rising: 3, action: pause}\n"


def _job_status(project: Project) -> str:
    with project.live() as live:
        jobs = live.oai.fine_tuning.jobs.list().data
        assert len(jobs) == 1
        return str(jobs[0].status)


def test_a_diverging_job_is_paused_by_its_guard_during_apply_wait(project: Project) -> None:
    project.set("speed", 200)  # a few seconds of training: apply --wait reads its metrics while it runs
    project.edit("  seed: 105\n", GUARD)
    assert project.ftops("plan").code == 0  # starts the local Foundry: its state exists from here on
    fault = project.ftops("emulator", "fail-job", "--suffix", "clippy", "--kind", "diverge")
    assert fault.code == 0, fault.err
    r = project.ftops("apply", "--auto-approve", "--wait")
    assert r.code == 1, r.out + r.err
    assert "valid_loss rising 3 -> pause" in r.out + r.err and "is paused" in r.out + r.err
    assert _job_status(project) == "paused"

    status = project.ftops("status", "--format", "json")
    job = next(row for row in json.loads(status.out) if row["name"] == "clippy")
    assert job["status"] == "paused"
    assert "guard valid_loss rising 3 -> pause tripped" in job["detail"] and "rose 3 times in a row" in job["detail"]

    # Still paused on the next runs: the guard still trips on the job's events; its rollout waits.
    assert project.actions()["FineTuningJob/clippy"] == "no-op"
    assert project.ftops("apply", "--auto-approve").code == 0
    assert _job_status(project) == "paused"

    # The spec says go on: resumed, and it trains to the end.
    project.edit("  seed: 105\n", "  seed: 105\n  resume: true\n")
    assert "resume" in [a["action"] for a in project.plan_json()["actions"] if a["resource"] == "FineTuningJob/clippy"]
    r = project.ftops("apply", "--auto-approve", "--wait")
    assert r.code == 0, r.out + r.err
    assert _job_status(project) == "succeeded"


def test_a_cancel_guard_cancels_once_and_never_resubmits(project: Project) -> None:
    project.set("speed", 200)
    project.edit("  seed: 105\n", "  seed: 105\n  guards:\n  - {metric: valid_loss, above: 1.2, action: cancel}\n")
    assert project.ftops("plan").code == 0
    assert project.ftops("emulator", "fail-job", "--suffix", "clippy", "--kind", "diverge").code == 0
    r = project.ftops("apply", "--auto-approve", "--wait")
    assert r.code == 1 and "is cancelled" in r.out + r.err, r.out + r.err
    assert _job_status(project) == "cancelled"
    plan = project.plan_json()
    job = next(a for a in plan["actions"] if a["resource"] == "FineTuningJob/clippy")
    assert job["action"] == "no-op" and job["blocked"] and job["guard"]["action"] == "cancel"
    assert not any(a["action"] == "create" and a["kind"] == "FineTuningJob" for a in plan["actions"])


def test_adding_a_guard_never_resubmits_a_job(project: Project) -> None:
    assert project.ftops("apply", "--auto-approve", "--wait").code == 0
    project.edit("  seed: 105\n", GUARD)
    assert project.ftops("plan", "--detailed-exitcode").code == 0
