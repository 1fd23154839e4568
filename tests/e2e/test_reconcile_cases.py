"""Each case the plan must get right, against the local Foundry through the real clients."""

from __future__ import annotations

import hashlib
import time
from typing import Any

from tests.e2e.conftest import FAST, TRAIN, Project

TRAIN_NAME = f"ftops.clippy-demo.clippy-train.{hashlib.sha256(TRAIN.read_bytes()).hexdigest()[:32]}.jsonl"
SLOW = 40.0  # a clippy job takes about 10 s at this speed


def by_resource(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["resource"]: a for a in plan["actions"] if a["op"] != "job.cancel" and not a["duplicate_of"]}


def cancels(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for a in plan["actions"] if a["action"] == "cancel"]


def test_pending_file_is_waited_on_and_error_file_is_reported(project: Project) -> None:
    with project.live(speed=0.001) as live:
        pending = live.oai.files.create(file=(TRAIN_NAME, TRAIN.read_bytes()), purpose="fine-tune")
    a = by_resource(project.plan_json())["Dataset/clippy-train"]
    assert a["action"] == "wait" and pending.id in a["reason"]
    with project.live() as live:
        live.oai.files.delete(pending.id)
        live.oai.files.create(file=(TRAIN_NAME, b"not json\n"), purpose="fine-tune")
    plan = by_resource(project.plan_json())
    assert plan["Dataset/clippy-train"]["blocked"] and "Foundry rejected" in plan["Dataset/clippy-train"]["reason"]
    assert plan["FineTuningJob/clippy"]["blocked"]
    r = project.ftops("apply", "--auto-approve")
    assert r.code == 1 and "blocked" in r.out


def test_running_job_shows_progress_and_is_never_resubmitted(project: Project) -> None:
    project.set("speed", SLOW)
    assert project.ftops("apply", "--auto-approve").code == 0
    deadline = time.monotonic() + 15
    while True:  # until the first training-step event exists
        plan = by_resource(project.plan_json())
        job = plan["FineTuningJob/clippy"]
        if (job["progress"] or {}).get("step") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert job["action"] == "wait" and job["progress"]["status"] == "running"
    assert job["progress"]["step"] and job["progress"]["total_steps"] and job["progress"]["estimated_finish"]
    text = project.ftops("plan")
    assert "progress: running · epoch" in text.out and "Step" in text.out and "ETA" in text.out
    assert plan["Deployment/clippy-prod"]["action"] == "create" and plan["Deployment/clippy-prod"]["depends_on"]
    assert project.ftops("apply", "--auto-approve").code == 0
    status = project.ftops("status", "--format", "json")
    assert status.code == 0 and '"running' in status.out
    with project.live() as live:
        assert len(live.oai.fine_tuning.jobs.list().data) == 1


def test_failed_job_is_reported_and_retried_only_within_budget(project: Project) -> None:
    with project.live() as live:
        live.admin.fail_job(suffix="clippy", message="GPU on fire", at=0.3)
    r = project.ftops("apply", "--auto-approve", "--wait")
    assert r.code == 1 and "GPU on fire" in r.out + r.err
    plan = by_resource(project.plan_json())
    assert plan["FineTuningJob/clippy"]["blocked"] and plan["FineTuningJob/clippy"]["drift"] == "failed"
    assert "GPU on fire" in plan["FineTuningJob/clippy"]["reason"]
    assert project.ftops("drift").code == 2
    assert project.ftops("apply", "--auto-approve").code == 1
    with project.live() as live:
        assert len(live.oai.fine_tuning.jobs.list().data) == 1  # no resubmission without a budget
    project.edit("  seed: 105\n", "  seed: 105\n  retries: 1\n")
    plan = by_resource(project.plan_json())
    assert plan["FineTuningJob/clippy"]["action"] == "create" and "retry 1/1" in plan["FineTuningJob/clippy"]["reason"]


def test_job_cancelled_by_someone_else_is_drift(project: Project) -> None:
    project.set("speed", SLOW)
    assert project.ftops("apply", "--auto-approve").code == 0
    with project.live() as live:
        job = live.oai.fine_tuning.jobs.list().data[0]
        live.oai.fine_tuning.jobs.cancel(job.id)
    plan = by_resource(project.plan_json())
    assert plan["FineTuningJob/clippy"]["action"] == "create" and plan["FineTuningJob/clippy"]["drift"] == "modified"
    assert project.ftops("drift").code == 2


def test_changed_spec_supersedes_and_cancels_the_running_job(project: Project) -> None:
    project.set("speed", SLOW)
    assert project.ftops("apply", "--auto-approve").code == 0
    project.edit("n_epochs: 3", "n_epochs: 2")
    plan = project.plan_json()
    assert by_resource(plan)["FineTuningJob/clippy"]["action"] == "create"
    assert "supersedes" in by_resource(plan)["FineTuningJob/clippy"]["reason"]
    assert len(cancels(plan)) == 1 and cancels(plan)[0]["depends_on"] == ["job.clippy:create"]
    assert project.ftops("apply", "--auto-approve").code == 0
    with project.live() as live:
        statuses = sorted(j.status for j in live.oai.fine_tuning.jobs.list().data)
    assert statuses[0] == "cancelled" and len(statuses) == 2
    # keepSuperseded leaves the old one running.
    project.edit("n_epochs: 2", "n_epochs: 1")
    project.edit("  seed: 105\n", "  seed: 105\n  keepSuperseded: true\n")
    plan = project.plan_json()
    assert not cancels(plan) and any("keepSuperseded" in a["reason"] for a in plan["actions"])


def test_pause_and_resume_from_the_spec(project: Project) -> None:
    project.set("speed", SLOW)
    assert project.ftops("apply", "--auto-approve").code == 0
    time.sleep(1.2)
    project.edit("  seed: 105\n", "  seed: 105\n  paused: true\n")
    assert by_resource(project.plan_json())["FineTuningJob/clippy"]["action"] == "pause"
    assert project.ftops("apply", "--auto-approve").code == 0
    with project.live() as live:
        assert live.oai.fine_tuning.jobs.list().data[0].status == "paused"
    plan = by_resource(project.plan_json())
    assert "rollout on hold" in plan["Deployment/clippy-prod"]["reason"]
    assert not plan["Deployment/clippy-prod"]["blocked"]
    assert project.ftops("apply", "--auto-approve").code == 0  # on hold is not an error
    project.edit("  paused: true\n", "  paused: false\n")
    resumed = [a for a in project.plan_json()["actions"] if a["resource"] == "FineTuningJob/clippy"]
    assert [a["action"] for a in resumed] == ["resume", "wait"]
    assert project.ftops("apply", "--auto-approve").code == 0
    with project.live() as live:
        assert live.oai.fine_tuning.jobs.list().data[0].status in ("running", "succeeded")


CONTINUOUS = """---
apiVersion: ftops/v1
kind: FineTuningJob
metadata: {name: clippy-v2}
spec:
  baseModel: {job: clippy}
  trainingData: clippy-train
  validationData: clippy-valid
  hyperparameters: {n_epochs: 2}
  suffix: clippy-v2
"""


def test_continuous_fine_tuning_waits_for_its_base(project: Project) -> None:
    project.append(CONTINUOUS)
    plan = by_resource(project.plan_json())
    assert plan["FineTuningJob/clippy-v2"]["depends_on"] == [
        "dataset.clippy-train:create", "dataset.clippy-valid:create", "job.clippy:create"]
    r = project.ftops("apply", "--auto-approve", "--wait")
    assert r.code == 0, r.out + r.err
    with project.live() as live:
        jobs = {j.metadata["ftops-spec"]: j for j in live.oai.fine_tuning.jobs.list().data}
    assert jobs["clippy-v2"].model == jobs["clippy"].fine_tuned_model
    assert project.ftops("plan", "--detailed-exitcode").code == 0


def test_checkpoint_selection_and_gates(project: Project) -> None:
    project.edit("checkpoint: best", "checkpoint: {epoch: 2}")
    assert project.ftops("apply", "--auto-approve", "--wait").code == 0
    with project.live() as live:
        job = live.oai.fine_tuning.jobs.list().data[0]
        cps = sorted(live.oai.fine_tuning.jobs.checkpoints.list(job.id).data, key=lambda c: c.step_number)
        dep = live.arm.deployments.get(live.conn.resource_group, live.conn.account, "clippy-prod")
    assert dep.properties.model.name == cps[1].id  # epoch 2 of 3 is a checkpoint, not the final model
    project.edit("checkpoint: {epoch: 2}", "checkpoint: final")
    plan = by_resource(project.plan_json())
    assert plan["Deployment/clippy-prod"]["changes"]["model"] == [cps[1].id, job.fine_tuned_model]
    project.edit("checkpoint: final", "checkpoint: best}\n  gates: {maxValidLoss: 0.01")
    plan = by_resource(project.plan_json())
    assert "gate maxValidLoss" in plan["Deployment/clippy-prod"]["blocked"]
    assert "keeps serving" in plan["Deployment/clippy-prod"]["reason"]


def test_epoch_outside_the_last_three_is_blocked(project: Project) -> None:
    project.edit("n_epochs: 3", "n_epochs: 5")
    project.edit("checkpoint: best", "checkpoint: {epoch: 1}")
    r = project.ftops("apply", "--auto-approve", "--wait")
    assert r.code == 1 and "epoch 1 is not deployable" in r.out + r.err


def test_hand_edits_are_reverted_and_foreign_deployments_left_alone(project: Project) -> None:
    assert project.ftops("apply", "--auto-approve", "--wait").code == 0
    with project.live() as live:
        job = live.oai.fine_tuning.jobs.list().data[0]
        rg, acct = live.conn.resource_group, live.conn.account
        dep = live.arm.deployments.get(rg, acct, "clippy-prod")
        live.deploy("clippy-prod", dep.properties.model.name, capacity=7, tags=dep.tags).result()
        live.deploy("someone-elses", job.fine_tuned_model).result()
    plan = by_resource(project.plan_json())
    a = plan["Deployment/clippy-prod"]
    assert a["action"] == "update" and a["drift"] == "modified" and a["changes"] == {"sku.capacity": [7, 50]}
    assert "revert" in a["reason"]
    assert project.ftops("apply", "--auto-approve").code == 0
    assert project.ftops("plan", "--detailed-exitcode").code == 0
    # A deployment of another owner with a name a spec wants is never taken over.
    project.edit("metadata: {name: clippy-prod}", "metadata: {name: someone-elses}")
    plan = by_resource(project.plan_json())
    assert "not managed by ftops" in plan["Deployment/someone-elses"]["blocked"]


def test_orphans_are_listed_and_pruned_only_with_prune(project: Project) -> None:
    assert project.ftops("apply", "--auto-approve", "--wait").code == 0
    text = project.spec.read_text()
    project.spec.write_text(text[:text.index("---\napiVersion: ftops/v1\nkind: Deployment")])
    plan = by_resource(project.plan_json())
    assert plan["Deployment/clippy-prod"]["action"] == "no-op" and plan["Deployment/clippy-prod"]["drift"] == "unapplied"
    assert project.ftops("apply", "--auto-approve").code == 0
    with project.live() as live:
        assert len(list(live.arm.deployments.list(live.conn.resource_group, live.conn.account))) == 1
    assert by_resource(project.plan_json("--prune"))["Deployment/clippy-prod"]["action"] == "delete"
    assert project.ftops("apply", "--auto-approve", "--prune").code == 0
    with project.live() as live:
        assert list(live.arm.deployments.list(live.conn.resource_group, live.conn.account)) == []
        assert len(live.oai.fine_tuning.jobs.list().data) == 1  # jobs are never deleted
    assert project.ftops("drift").code == 0


def test_duplicate_jobs_from_racing_applies_are_cancelled_but_the_oldest(project: Project) -> None:
    project.set("speed", SLOW)
    assert project.ftops("apply", "--auto-approve").code == 0
    with project.live(speed=SLOW) as live:
        original = live.oai.fine_tuning.jobs.list().data[0]
        live.admin.advance(seconds=2)  # created_at has one-second resolution: make the order unambiguous
        dup = live.oai.fine_tuning.jobs.create(model=original.model, training_file=original.training_file,
                                               metadata=original.metadata, extra_body={"trainingType": "GlobalStandard"})
    plan = project.plan_json()
    assert [c["job_id"] for c in cancels(plan)] == [dup.id]
    assert project.ftops("apply", "--auto-approve").code == 0
    with project.live() as live:
        assert live.oai.fine_tuning.jobs.retrieve(dup.id).status == "cancelled"
        assert live.oai.fine_tuning.jobs.retrieve(original.id).status != "cancelled"


def test_faults_on_a_fifth_of_requests_still_converge(project: Project) -> None:
    with project.live() as live:
        live.admin.faults(rate=0.2, kinds=["429", "500", "503", "drop"], seed=7, retry_after=0)
    r = project.ftops("apply", "--auto-approve", "--wait")
    for _ in range(3):  # a run may give up on a step after bounded retries; the next one continues
        if r.code == 0:
            break
        r = project.ftops("apply", "--auto-approve", "--wait")
    assert r.code == 0, r.out + r.err
    with project.live() as live:
        live.admin.clear_faults()
        files = [f.filename for f in live.oai.files.list(purpose="fine-tune").data]
        jobs = [j for j in live.oai.fine_tuning.jobs.list().data if j.status != "cancelled"]
    assert sorted(set(files)) == sorted(files) and len(files) == 2  # no duplicate upload
    assert len(jobs) == 1  # no duplicate job
    assert project.ftops("plan", "--detailed-exitcode").code == 0


def test_speed_setting_is_respected(project: Project) -> None:
    project.set("speed", FAST)
    assert project.ftops("apply", "--auto-approve", "--wait").code == 0


def test_a_service_that_drops_job_metadata_never_gets_a_second_job(project: Project) -> None:
    with project.live() as live:
        live.admin.quirks(drop_job_metadata=True)
    r = project.ftops("apply", "--auto-approve", "--wait")
    assert r.code == 1 and "did not keep the metadata" in r.out + r.err
    plan = by_resource(project.plan_json())
    assert plan["FineTuningJob/clippy"]["blocked"] and "carries no ftops metadata" in plan["FineTuningJob/clippy"]["reason"]
    assert project.ftops("apply", "--auto-approve", "--wait").code == 1
    with project.live() as live:
        assert len(live.oai.fine_tuning.jobs.list().data) == 1
