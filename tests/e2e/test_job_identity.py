"""A job is what it trains on, not what it is called (issue 19, finding 2): against the local Foundry.

Before, jobs were found by their spec name and project: renaming a FineTuningJob (or the project) trained
an identical job again, billed, and the deployment moved to the retrained model. Now a job whose training
content (base model, data bytes, method, hyperparameters as Foundry reads them, training type, seed,
suffix, grader) matches a live managed job re-attaches to it, and the plan says so.
"""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import Foundry, Project


def jobs(live: Foundry) -> list[Any]:
    return list(live.oai.fine_tuning.jobs.list().data)


def served(live: Foundry) -> str:
    dep = live.arm.deployments.get(live.conn.resource_group, live.conn.account, "clippy-prod")
    return str(dep.properties.model.name)


def test_a_renamed_job_spec_re_attaches_and_the_deployment_keeps_serving(project: Project) -> None:
    assert project.ftops("apply", "--auto-approve", "--wait").code == 0
    with project.live() as live:
        model, (job,) = served(live), jobs(live)
    project.edit("metadata: {name: clippy}", "metadata: {name: clippy-renamed}")
    project.edit("model: {job: clippy,", "model: {job: clippy-renamed,")
    plan = project.plan_json()
    assert not [a for a in plan["actions"] if a["op"] == "job.create"], plan["actions"]
    renamed = next(a for a in plan["actions"] if a["resource"] == "FineTuningJob/clippy-renamed")
    assert renamed["op"] == "noop" and renamed["live_id"] == job.id and "was clippy" in renamed["reason"]
    text = project.ftops("plan", "-v").out
    assert "FineTuningJob/clippy-renamed" in text and "(was clippy)" in text, text
    assert not any(a["op"] == "job.cancel" for a in plan["actions"])  # the old name's job is not an orphan
    r = project.ftops("apply", "--auto-approve", "--wait")
    assert r.code == 0, r.out + r.err
    with project.live() as live:
        assert [j.id for j in jobs(live)] == [job.id] and served(live) == model
    assert project.ftops("drift").code == 0
    assert project.ftops("plan", "--detailed-exitcode").code == 0
    metrics = project.ftops("metrics", "clippy-renamed")  # found by its content, not the name it was created under
    assert metrics.code == 0 and job.id in metrics.out, metrics.out + metrics.err


def test_edits_that_change_nothing_foundry_trains_on_start_no_job(project: Project) -> None:
    assert project.ftops("apply", "--auto-approve", "--wait").code == 0
    # Keys reordered, Foundry's defaults written out ("auto" is what an absent hyperparameter means).
    project.edit("  hyperparameters: {n_epochs: 3}\n  suffix: clippy\n  seed: 105\n",
                 "  seed: 105\n  suffix: clippy\n  hyperparameters: {batch_size: auto, n_epochs: 3, "
                 "learning_rate_multiplier: auto}\n")
    plan = project.plan_json()
    assert not [a for a in plan["actions"] if a["op"] == "job.create"], plan["actions"]
    assert project.ftops("plan", "--detailed-exitcode").code == 0


def test_a_renamed_project_trains_nothing_again(project: Project) -> None:
    assert project.ftops("apply", "--auto-approve", "--wait").code == 0
    with project.live() as live:
        (job,) = jobs(live)
    project.edit("namespace: clippy-demo", "namespace: clippy-renamed")
    plan = project.plan_json()
    assert not [a for a in plan["actions"] if a["op"] == "job.create"], plan["actions"]
    followed = next(a for a in plan["actions"] if a["resource"] == "FineTuningJob/clippy")
    assert followed["live_id"] == job.id and "clippy-demo" in followed["reason"]
    # The deployment stays the old project's: the namespace is never taken over, so the rollout is blocked.
    dep = next(a for a in plan["actions"] if a["resource"] == "Deployment/clippy-prod")
    assert dep["blocked"] and "clippy-demo" in dep["blocked"]
    project.ftops("apply", "--auto-approve", "--wait")
    with project.live() as live:
        assert [j.id for j in jobs(live)] == [job.id]
