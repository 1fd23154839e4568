"""Azure's checks of a fine-tuning job, end to end: the local Foundry fails a job as Azure does (`ftops emulator
fail-job --kind`), and ftops never pays again for a refusal, whatever `retries:` says."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.conftest import Project
from tests.e2e.test_reconcile_cases import by_resource


def _fail_next_jobs(project: Project, kind: str) -> None:
    """`ftops emulator fail-job` on the project's local Foundry (its state exists once a plan has run)."""
    assert project.ftops("plan").code in (0, 2)
    r = project.ftops("emulator", "fail-job", "--suffix", "clippy", "--kind", kind)
    assert r.code == 0, r.err
    assert json.loads(r.out)["fail_rules"][-1]["kind"] == kind


def _jobs(project: Project) -> list[Any]:
    with project.live() as live:
        return list(live.oai.fine_tuning.jobs.list().data)


def _refused_then_never_resubmitted(project: Project, kind: str, outcome: str, words: str) -> Any:
    project.edit("  seed: 105\n", "  seed: 105\n  retries: 2\n")
    _fail_next_jobs(project, kind)
    r = project.ftops("apply", "--auto-approve", "--wait")
    assert r.code == 1 and words in r.out + r.err and "not resubmitted" in r.out + r.err  # said as it happens
    for _ in range(3):  # several ticks of a reconcile loop
        r = project.ftops("apply", "--auto-approve")
        assert r.code == 1 and "blocked" in r.out
    (job,) = _jobs(project)  # exactly one job: no retry paid for the same refusal
    assert job.status == "failed" and job.fine_tuned_model is None
    plan = by_resource(project.plan_json())
    a = plan["FineTuningJob/clippy"]
    assert a["action"] == "no-op" and a["blocked"] and a["outcome"] == outcome and a["drift"] == "failed"
    assert words in a["reason"] and "retries do not apply" in a["reason"]
    assert plan["Deployment/clippy-prod"]["blocked"] and plan["Deployment/clippy-prod"]["op"] == "noop"
    text = project.ftops("plan")
    assert words in text.out
    status = project.ftops("status", "--format", "json")
    rows = {r["name"]: r for r in json.loads(status.out)}
    assert rows["clippy"]["outcome"] == outcome and words in rows["clippy"]["detail"]
    assert "blocked" in project.ftops("status").out
    drift = project.ftops("drift", "--format", "json")
    assert drift.code == 2
    items = {i["resource"]: i for i in json.loads(drift.out)["items"]}
    assert items["FineTuningJob/clippy"]["kind"] == "failed" and items["FineTuningJob/clippy"]["outcome"] == outcome
    return job


def test_a_job_failing_the_safety_evaluation_is_never_retried(project: Project) -> None:
    job = _refused_then_never_resubmitted(project, "safety", "safety_failed", "failed Azure's safety evaluation")
    assert job.error.code == "contentFilter" and job.error.param is None
    assert job.error.message.startswith("This model is unable to be deployed.")
    with project.live() as live:
        assert not live.oai.fine_tuning.jobs.checkpoints.list(job.id).data  # nothing of it is deployable
        messages = [e.message for e in live.oai.fine_tuning.jobs.list_events(job.id).data]
        assert "Job started." in messages and any("unable to be deployed" in m for m in messages)
        assert not list(live.arm.deployments.list(live.conn.resource_group, live.conn.account))


def test_a_job_refused_by_the_data_checks_is_never_retried(project: Project) -> None:
    job = _refused_then_never_resubmitted(project, "data-checks", "data_refused", "refused by Azure's data checks")
    assert job.error.code == "contentFilter" and job.error.param == "training_file"
    assert job.error.message.startswith("The provided training data failed RAI checks")
    with project.live() as live:
        messages = [e.message for e in live.oai.fine_tuning.jobs.list_events(job.id).data]
        assert "Job started." not in messages  # refused before any training


def test_only_new_training_content_makes_a_new_job_after_a_refusal(project: Project) -> None:
    _fail_next_jobs(project, "safety")
    assert project.ftops("apply", "--auto-approve", "--wait").code == 1
    project.edit("n_epochs: 3", "n_epochs: 2")
    a = by_resource(project.plan_json())["FineTuningJob/clippy"]
    assert a["op"] == "job.create" and a["retry"] == 0


def test_a_transient_failure_is_still_retried_within_the_budget(project: Project) -> None:
    project.edit("  seed: 105\n", "  seed: 105\n  retries: 1\n")
    _fail_next_jobs(project, "internal")
    assert project.ftops("apply", "--auto-approve", "--wait").code == 1
    (job,) = _jobs(project)
    assert job.error.code == "internal_error"
    a = by_resource(project.plan_json())["FineTuningJob/clippy"]
    assert a["op"] == "job.create" and "retry 1/1" in a["reason"]
    assert project.ftops("apply", "--auto-approve", "--wait").code == 1  # the retry fails the same way
    assert len(_jobs(project)) == 2
    a = by_resource(project.plan_json())["FineTuningJob/clippy"]
    assert a["blocked"] and a["outcome"] == "transient" and "retries: 1 used" in a["reason"]
    assert project.ftops("apply", "--auto-approve").code == 1
    assert len(_jobs(project)) == 2


def test_an_unknown_failure_kind_is_one_line_and_a_usage_error(project: Project) -> None:
    assert project.ftops("plan").code in (0, 2)
    r = project.ftops("emulator", "fail-job", "--suffix", "clippy", "--kind", "gremlins")
    assert r.code != 0 and "unknown failure kind 'gremlins'" in r.err and "safety" in r.err
    assert "Traceback" not in r.err


def test_the_local_foundry_deploys_nothing_of_a_job_its_safety_evaluation_refused(emulator_factory: Any) -> None:
    from azure.core.exceptions import HttpResponseError

    f = emulator_factory(speed=1.0)  # emulated time moves only when the test advances the clock
    job = f.job(f.upload(), suffix="risky")
    for _ in range(100):  # until the first epoch's checkpoint exists
        f.admin.advance(seconds=30)
        if checkpoints := f.oai.fine_tuning.jobs.checkpoints.list(job.id).data:
            break
    assert checkpoints and f.oai.fine_tuning.jobs.retrieve(job.id).status == "running"
    failed = f.admin.fail_job(job.id, kind="safety")
    assert failed["status"] == "failed" and failed["error"]["code"] == "contentFilter"
    assert failed["error"]["param"] is None and failed["fine_tuned_model"] is None
    assert not f.oai.fine_tuning.jobs.checkpoints.list(job.id).data
    with pytest.raises(HttpResponseError):
        f.deploy("risky", checkpoints[0].fine_tuned_model_checkpoint).result()
    events = f.oai.fine_tuning.jobs.list_events(job.id).data
    assert events[0].level == "error" and "unable to be deployed" in events[0].message


def test_an_internal_failure_leaves_its_checkpoints_deployable(emulator_factory: Any) -> None:
    f = emulator_factory(speed=1.0)
    job = f.job(f.upload(), suffix="flaky")
    for _ in range(100):
        f.admin.advance(seconds=30)
        if checkpoints := f.oai.fine_tuning.jobs.checkpoints.list(job.id).data:
            break
    failed = f.admin.fail_job(job.id, kind="internal")
    assert failed["error"] == {"code": "internal_error", "param": None,
                               "message": "The job failed due to an internal error."}
    assert f.oai.fine_tuning.jobs.checkpoints.list(job.id).data == checkpoints


def test_the_admin_api_refuses_an_unknown_failure_kind(foundry: Any) -> None:
    import httpx

    with pytest.raises(httpx.HTTPStatusError) as e:
        foundry.admin.fail_job(suffix="x", kind="gremlins")
    assert e.value.response.status_code == 400 and "safety" in e.value.response.text
