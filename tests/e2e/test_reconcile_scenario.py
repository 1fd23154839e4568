"""The end-to-end scenario of the reconciler on the shipped specs, against the local Foundry."""

from __future__ import annotations

import json

from tests.e2e.conftest import Project


def test_plan_apply_change_rollout_drift_recreate(project: Project) -> None:
    # 1. A first plan shows the uploads, the job and the deployment.
    assert project.actions() == {"Dataset/clippy-train": "create", "Dataset/clippy-valid": "create",
                                 "FineTuningJob/clippy": "create", "Deployment/clippy-prod": "create"}
    text = project.ftops("plan")
    assert text.code == 0 and "Plan: 4 to create" in text.out and "Estimated cost" in text.out

    # 2. apply --wait uploads, trains and deploys in one run; a second plan is empty.
    r = project.ftops("apply", "--auto-approve", "--wait")
    assert r.code == 0, r.out + r.err
    assert "Apply complete. 4 done, 0 failed" in r.out
    assert project.ftops("plan", "--detailed-exitcode").code == 0
    with project.live() as live:
        jobs = live.oai.fine_tuning.jobs.list().data
        assert len(jobs) == 1 and jobs[0].metadata["ftops-spec"] == "clippy"
        first_model = live.arm.deployments.get(live.conn.resource_group, live.conn.account, "clippy-prod")
        assert first_model.tags["ftops-job"] == jobs[0].id
        assert len(live.oai.files.list(purpose="fine-tune").data) == 2

    # 3. A changed hyperparameter means a new job and a pending rollout; the old model keeps serving.
    project.edit("n_epochs: 3", "n_epochs: 4")
    plan = project.plan_json()
    by = {a["resource"]: a for a in plan["actions"]}
    assert by["FineTuningJob/clippy"]["action"] == "create"
    assert by["FineTuningJob/clippy"]["changes"] == {"n_epochs": [3, 4]}
    assert by["Deployment/clippy-prod"]["action"] == "update"
    assert "pending rollout: keeps serving" in by["Deployment/clippy-prod"]["reason"]
    assert by["Deployment/clippy-prod"]["depends_on"] == ["job.clippy:create"]
    assert project.ftops("plan", "--detailed-exitcode").code == 2

    r = project.ftops("apply", "--auto-approve", "--wait")
    assert r.code == 0, r.out + r.err
    with project.live() as live:
        jobs = live.oai.fine_tuning.jobs.list().data
        assert len(jobs) == 2 and len(live.oai.files.list(purpose="fine-tune").data) == 2  # data reused
        new_job = next(j for j in jobs if j.hyperparameters.n_epochs == 4)
        dep = live.arm.deployments.get(live.conn.resource_group, live.conn.account, "clippy-prod")
        assert dep.tags["ftops-job"] == new_job.id
        cps = {c.id for c in live.oai.fine_tuning.jobs.checkpoints.list(new_job.id).data}
        assert dep.properties.model.name in cps | {new_job.fine_tuned_model}
        # 4. Two hours later, someone deletes the deployment behind ftops' back. (Within the first hour
        # after its job finished, a missing deployment reads as `unapplied`: see docs/reference.md.)
        live.admin.advance(seconds=7200)
        live.arm.deployments.begin_delete(live.conn.resource_group, live.conn.account, "clippy-prod").result()
    assert project.ftops("plan", "--detailed-exitcode").code == 2
    d = project.ftops("drift", "--format", "json")
    assert d.code == 2
    items = json.loads(d.out)["items"]
    assert [(i["kind"], i["resource"]) for i in items] == [("deleted", "Deployment/clippy-prod")]
    assert project.ftops("drift").code == 2
    r = project.ftops("apply", "--auto-approve")
    assert r.code == 0 and "1 done" in r.out
    assert project.ftops("drift").code == 0

    # 5. Sixteen days without traffic: Foundry deletes it; drift names it; apply recreates it.
    with project.live() as live:
        live.admin.advance(days=16)
    drift = project.ftops("drift")
    assert drift.code == 2 and "Deployment/clippy-prod" in drift.out and "deleted" in drift.out
    md = project.ftops("drift", "--format", "markdown")
    assert md.code == 2 and md.out.startswith("### ftops drift")
    assert project.ftops("apply", "--auto-approve").code == 0
    assert project.ftops("drift").code == 0
    with project.live() as live:
        assert len(live.oai.fine_tuning.jobs.list().data) == 2  # never a duplicate job


def test_saved_plan_is_applied_verbatim_or_refused_when_stale(project: Project) -> None:
    # A plan made against an empty account is stale once another run has applied.
    assert project.ftops("plan", "--out", "empty.plan.json").code == 0
    assert project.ftops("apply", "--auto-approve", "--wait").code == 0
    stale = project.ftops("apply", "empty.plan.json")
    assert stale.code == 1 and "live state changed since the plan was made" in stale.err
    with project.live() as live:
        assert len(live.oai.fine_tuning.jobs.list().data) == 1
    # Objects of no concern to this project do not make a plan stale.
    project.edit("n_epochs: 3", "n_epochs: 2")
    assert project.ftops("plan", "--out", "fresh.plan.json").code == 0
    with project.live() as live:
        live.oai.files.create(file=("x.jsonl", b'{"a": 1}\n'), purpose="fine-tune")
    ok = project.ftops("apply", "fresh.plan.json", "--wait")
    assert ok.code == 0, ok.out + ok.err
    saved = json.loads((project.root / "fresh.plan.json").read_text())
    assert saved["format_version"] == 3 and saved["fingerprint"]
    assert {a["resource"] for a in saved["actions"]} >= {"FineTuningJob/clippy", "Deployment/clippy-prod"}
    again = project.ftops("apply", "fresh.plan.json")
    assert again.code == 1 and "changed since the plan" in again.err
    assert project.ftops("plan", "--detailed-exitcode").code == 0


def test_apply_without_a_terminal_needs_auto_approve(project: Project) -> None:
    r = project.ftops("apply")
    assert r.code == 1 and "pass --auto-approve" in r.err
    with project.live() as live:
        assert live.oai.files.list().data == []


def test_markdown_and_json_plans(project: Project) -> None:
    md = project.ftops("plan", "--format", "markdown")
    assert md.code == 0 and md.out.startswith("### ftops plan")
    assert "| `+` | `FineTuningJob/clippy` | create |" in md.out
    data = project.plan_json()
    assert data["format_version"] == 3 and data["cost"]["estimate"] is True
    for a in data["actions"]:
        assert {"resource", "action", "reason", "changes", "depends_on"} <= a.keys()
    # `plan --format json` shows the requests apply sends (issue 15): the job's, the deployment write's
    job = next(a for a in data["actions"] if a["op"] == "job.create")
    assert job["request"]["hyperparameters"] == {"n_epochs": 3} and job["request"]["method"] == "supervised"
    assert job["request"]["training_file"]["made_by"] == "dataset.clippy-train:create"
    assert job["request"]["metadata"]["ftops-content"] == job["spec_hash"]
    rollout = next(a for a in data["actions"] if a["op"] == "deployment.rollout")
    assert (rollout["sku"], rollout["capacity"], rollout["model_format"]) == ("GlobalStandard", 50, "OpenAI")
    assert rollout["tags"]["ftops-spec"] == "clippy-prod" and rollout["selector"]["checkpoint"] == "best"
