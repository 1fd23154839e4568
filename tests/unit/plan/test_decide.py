"""The pure planner, offline: one test per reconcile case (tests/e2e/test_reconcile_cases.py), on snapshot fixtures."""

from __future__ import annotations

import pytest

from ftops.foundry import LiveEvent
from ftops.plan import CancelJob, CreateJob, NoOp, PauseJob, ResumeJob, RollOut, UploadDataset, WaitFile, WaitJob
from ftops.plan._drift import drift_items, in_progress
from tests.conftest import BASE_SPEC, MakeProject
from tests.unit.plan.snapshots import World, by_resource, world

CONTINUOUS = BASE_SPEC + """---
apiVersion: ftops/v1
kind: FineTuningJob
metadata: {name: clippy-v2}
spec:
  baseModel: {job: clippy}
  trainingData: train
  validationData: valid
  hyperparameters: {n_epochs: 2}
  suffix: clippy-v2
"""


@pytest.fixture
def w(make_project: MakeProject) -> World:
    return world(make_project())


def test_empty_account_creates_everything_in_dependency_order(w: World) -> None:
    plan = w.plan()
    a = by_resource(plan)
    assert isinstance(a["Dataset/train"], UploadDataset) and a["Dataset/train"].path == "specs/data/train.jsonl"
    job = a["FineTuningJob/clippy"]
    assert isinstance(job, CreateJob) and job.depends_on == ["dataset.train:create", "dataset.valid:create"]
    dep = a["Deployment/clippy-prod"]
    assert isinstance(dep, RollOut) and dep.action == "create" and dep.depends_on == ["job.clippy:create"]
    assert not dep.pending and plan.has_changes
    assert {d.kind for d in drift_items(plan)} == {"unapplied"}


def test_pending_file_is_waited_on_and_error_file_blocks_its_job(w: World) -> None:
    pending = w.upload("train", status="pending")
    a = by_resource(w.plan())
    assert isinstance(a["Dataset/train"], WaitFile) and a["Dataset/train"].file_id == pending.id
    assert "dataset.train:wait" in a["FineTuningJob/clippy"].depends_on
    w.files = []
    w.upload("train", status="error", details="line 3: not JSON")
    a = by_resource(w.plan())
    assert a["Dataset/train"].blocked and a["Dataset/train"].drift == "failed"
    assert a["FineTuningJob/clippy"].blocked and "line 3" in a["FineTuningJob/clippy"].blocked


def test_running_job_is_followed_with_progress_and_its_rollout_is_pending(w: World) -> None:
    w.uploads()
    job = w.job("clippy", status="running")
    w.events[job.id] = [LiveEvent("Step 40/80: training loss=0.5", step=40, total_steps=80, train_loss=0.5)]
    plan = w.plan()
    a = by_resource(plan)
    wait = a["FineTuningJob/clippy"]
    assert isinstance(wait, WaitJob) and wait.job_id == job.id
    assert wait.progress is not None and (wait.progress.epoch, wait.progress.step) == (2, 40)
    assert a["Deployment/clippy-prod"].pending  # not a change now: it waits for Foundry
    assert not plan.has_changes and drift_items(plan) == []
    assert [x.resource for x in in_progress(plan)] == ["FineTuningJob/clippy", "Deployment/clippy-prod"]


def test_running_job_needs_its_events_and_says_so(w: World) -> None:
    w.uploads()
    job = w.job("clippy", status="running")
    del w.events[job.id]
    state = w.state()
    from ftops.plan import decide

    decide(w.checked, state)
    assert state.take_needs().events == {job.id}


def test_failed_job_blocks_until_a_retry_budget_allows_one(w: World, make_project: MakeProject) -> None:
    w.uploads()
    w.job("clippy", status="failed", error="GPU on fire")
    a = by_resource(w.plan())["FineTuningJob/clippy"]
    assert isinstance(a, NoOp) and a.drift == "failed" and "GPU on fire" in a.reason and a.blocked
    assert by_resource(w.plan())["Deployment/clippy-prod"].blocked
    retrying = world(make_project(spec=BASE_SPEC.replace("  seed: 105\n", "  seed: 105\n  retries: 1\n")))
    retrying.uploads()
    retrying.job("clippy", status="failed", error="GPU on fire")
    a = by_resource(retrying.plan())["FineTuningJob/clippy"]
    assert isinstance(a, CreateJob) and a.retry == 1 and "retry 1/1" in a.reason


def test_job_cancelled_outside_ftops_is_modified_and_resubmitted(w: World) -> None:
    w.uploads()
    w.job("clippy", status="cancelled")
    a = by_resource(w.plan())["FineTuningJob/clippy"]
    assert isinstance(a, CreateJob) and a.drift == "modified" and "cancelled outside ftops" in a.reason


def test_changed_spec_supersedes_and_cancels_the_running_job(w: World, make_project: MakeProject) -> None:
    changed = world(make_project(spec=BASE_SPEC.replace("n_epochs: 3", "n_epochs: 2")))
    changed.uploads()
    old = w.job("clippy", status="running", files={"train": "file-a", "valid": "file-b"})  # the old spec's hash
    changed.jobs, changed.events = [old], {old.id: []}
    plan = changed.plan()
    create = by_resource(plan)["FineTuningJob/clippy"]
    assert isinstance(create, CreateJob) and create.supersedes == [old.id]
    assert create.changes == {"n_epochs": (3, 2)}  # field-level, not hashes
    cancel = [a for a in plan.actions if isinstance(a, CancelJob)]
    assert len(cancel) == 1 and cancel[0].cause == "superseded" and cancel[0].depends_on == [create.id]
    dep = by_resource(plan)["Deployment/clippy-prod"]
    assert not dep.pending and dep.depends_on == [create.id]


def test_keep_superseded_leaves_the_old_job_running(make_project: MakeProject) -> None:
    first = world(make_project())
    old = first.job("clippy", status="running", files={"train": "file-a", "valid": "file-b"})
    spec = BASE_SPEC.replace("n_epochs: 3", "n_epochs: 1").replace("  seed: 105\n", "  seed: 105\n  keepSuperseded: true\n")
    w = world(make_project(spec=spec))
    w.uploads()
    w.jobs, w.events = [old], {old.id: []}
    plan = w.plan()
    assert not [a for a in plan.actions if isinstance(a, CancelJob)]
    assert any("keepSuperseded" in a.reason for a in plan.actions)


def test_pause_and_resume_follow_the_spec(make_project: MakeProject) -> None:
    w = world(make_project(spec=BASE_SPEC.replace("  seed: 105\n", "  seed: 105\n  paused: true\n")))
    w.uploads()
    job = w.job("clippy", status="running")
    a = by_resource(w.plan())
    assert isinstance(a["FineTuningJob/clippy"], PauseJob)
    assert "rollout on hold" in a["Deployment/clippy-prod"].reason and not a["Deployment/clippy-prod"].blocked
    w.set_job(job, status="paused")
    assert isinstance(by_resource(w.plan())["FineTuningJob/clippy"], NoOp)
    resumed = world(make_project())
    resumed.uploads()
    paused = resumed.job("clippy", status="paused")
    plan = resumed.plan()
    ops = [a for a in plan.actions if a.name == "clippy"]
    assert [type(a) for a in ops] == [ResumeJob, WaitJob] and ops[1].depends_on == [ops[0].id]
    assert ops[0].live_id == paused.id


def test_continuous_fine_tuning_waits_for_its_base(make_project: MakeProject) -> None:
    w = world(make_project(spec=CONTINUOUS))
    a = by_resource(w.plan())["FineTuningJob/clippy-v2"]
    assert isinstance(a, CreateJob) and a.base_job == "clippy" and a.spec_hash is None
    assert a.depends_on == ["dataset.train:create", "dataset.valid:create", "job.clippy:create"]
    w.uploads()
    base = w.job("clippy", status="running")
    a = by_resource(w.plan())["FineTuningJob/clippy-v2"]
    assert a.pending and a.depends_on[-1] == "job.clippy:wait"
    base = w.set_job(base, status="succeeded", fine_tuned_model="gpt-4.1-mini-2025-04-14.ft-" + "a" * 32)
    w.checkpoints_for(base, [0.9, 0.5, 0.7])
    a = by_resource(w.plan())["FineTuningJob/clippy-v2"]
    assert isinstance(a, CreateJob) and a.request.base_model == "gpt-4.1-mini-2025-04-14.ft-" + "a" * 32 and a.spec_hash


def test_best_checkpoint_and_epoch_selection(w: World, make_project: MakeProject) -> None:
    w.uploads()
    job = w.job("clippy")
    cps = w.checkpoints_for(job, [0.9, 0.5, 0.7])
    dep = by_resource(w.plan())["Deployment/clippy-prod"]
    assert isinstance(dep, RollOut) and dep.model == cps[1].id and dep.loss == 0.5
    w2 = world(make_project(spec=BASE_SPEC.replace("checkpoint: best", "checkpoint: {epoch: 3}")))
    w2.uploads()
    job2 = w2.job("clippy")
    w2.checkpoints_for(job2, [0.9, 0.5, 0.7])
    assert by_resource(w2.plan())["Deployment/clippy-prod"].model == job2.fine_tuned_model  # the final epoch
    w3 = world(make_project(spec=BASE_SPEC.replace("n_epochs: 3", "n_epochs: 5")
                            .replace("checkpoint: best", "checkpoint: {epoch: 1}")))
    w3.uploads()
    job3 = w3.job("clippy")
    w3.checkpoints_for(job3, [0.9, 0.5, 0.7])
    blocked = by_resource(w3.plan())["Deployment/clippy-prod"]
    assert blocked.blocked and "epoch 1 is not deployable" in blocked.blocked


def test_gates_block_a_rollout_and_the_current_model_keeps_serving(make_project: MakeProject) -> None:
    w = world(make_project(spec=BASE_SPEC.replace("checkpoint: best}", "checkpoint: best}\n  gates: {maxValidLoss: 0.1}")))
    w.uploads()
    job = w.job("clippy")
    w.checkpoints_for(job, [0.9, 0.5, 0.7])
    a = by_resource(w.plan())["Deployment/clippy-prod"]
    assert a.blocked and "gate maxValidLoss" in a.blocked and "not deployed" in a.reason


def test_hand_edited_capacity_is_modified_and_reverted(w: World) -> None:
    w.uploads()
    job = w.job("clippy")
    w.checkpoints_for(job, [0.9, 0.5, 0.7])
    w.deploy("clippy-prod", job, capacity=7)
    a = by_resource(w.plan())["Deployment/clippy-prod"]
    assert isinstance(a, RollOut) and a.action == "update" and a.drift == "modified"
    assert a.changes == {"sku.capacity": (7, 50)} and "revert" in a.reason


def test_capacity_changed_in_the_spec_is_unapplied(w: World, make_project: MakeProject) -> None:
    w.uploads()
    job = w.job("clippy")
    cps = w.checkpoints_for(job, [0.9, 0.5, 0.7])
    w.deploy("clippy-prod", job, cps[1].id)
    changed = world(make_project(spec=BASE_SPEC.replace("capacity: 50", "capacity: 70")))
    changed.files, changed.jobs, changed.deployments, changed.checkpoints = w.files, w.jobs, w.deployments, w.checkpoints
    plan = changed.plan()
    a = by_resource(plan)["Deployment/clippy-prod"]
    assert a.changes == {"sku.capacity": (50, 70)} and a.drift is None
    assert [(d.kind, d.resource) for d in drift_items(plan)] == [("unapplied", "Deployment/clippy-prod")]


def test_finished_job_with_no_deployment_is_unapplied_then_deleted_after_the_grace(w: World) -> None:
    w.uploads()
    job = w.job("clippy", finished_at=int(w.now) - 60)
    w.checkpoints_for(job, [0.9, 0.5, 0.7])
    assert [d.kind for d in drift_items(w.plan())] == ["unapplied"]
    w.set_job(job, finished_at=int(w.now) - 16 * 86400)
    assert [d.kind for d in drift_items(w.plan())] == ["deleted"]


def test_a_deployment_rolled_out_by_the_apply_that_followed_its_job_is_deleted_at_once(w: World) -> None:
    """`apply --wait`, then the deployment deleted by hand: drift said `unapplied` for an hour."""
    from ftops.plan import _matching as matching
    from ftops.plan._deployments import deployment_hash

    w.uploads()
    spec = w.checked.project.deployments["clippy-prod"].spec
    marks = matching.rollout_marks([("clippy-prod", deployment_hash(spec))])
    assert marks is not None
    job = w.job("clippy", finished_at=int(w.now) - 60, **{matching.META_ROLLOUTS: marks})
    w.checkpoints_for(job, [0.9, 0.5, 0.7])
    a = by_resource(w.plan())["Deployment/clippy-prod"]
    assert [d.kind for d in drift_items(w.plan())] == ["deleted"] and "deployed by the apply that followed" in a.reason
    # A spec changed since the job was submitted was not part of that rollout: judged by time, as before.
    w.set_job(job, metadata={**job.metadata, matching.META_ROLLOUTS: matching.rollout_marks([("clippy-prod", "0" * 16)])})
    assert [d.kind for d in drift_items(w.plan())] == ["unapplied"]
    w.set_job(w.jobs[-1], metadata={**job.metadata, matching.META_ROLLOUTS: "not json"})
    assert [d.kind for d in drift_items(w.plan())] == ["unapplied"]


def test_rollout_marks_fit_in_one_metadata_value() -> None:
    from ftops.plan import _matching as matching

    marks = matching.rollout_marks((f"d{i}", "a" * 16) for i in range(200))
    assert marks is not None and len(marks) <= 512
    assert matching.rollout_marks([]) is None


def test_a_name_held_by_someone_else_is_foreign(w: World) -> None:
    w.uploads()
    job = w.job("clippy")
    w.checkpoints_for(job, [0.9, 0.5, 0.7])
    d = w.deploy("clippy-prod", job)
    w.deployments = [d.__class__(**{**d.__dict__, "tags": {}})]
    a = by_resource(w.plan())["Deployment/clippy-prod"]
    assert a.drift == "foreign" and a.blocked and "not managed by ftops" in a.blocked


def test_orphans_are_unapplied_and_pruned_only_with_prune(w: World) -> None:
    w.uploads()
    job = w.job("clippy")
    w.checkpoints_for(job, [0.9, 0.5, 0.7])
    w.deploy("clippy-prod", job)
    w.deploy("clippy-prod", job)
    orphan = w.deployments[0].__class__(**{**w.deployments[0].__dict__, "name": "old-prod"})
    w.deployments.append(orphan)
    a = by_resource(w.plan())["Deployment/old-prod"]
    assert isinstance(a, NoOp) and a.drift == "unapplied"
    assert by_resource(w.plan(prune=True))["Deployment/old-prod"].action == "delete"


def test_duplicate_jobs_of_racing_applies_cancel_all_but_the_oldest(w: World) -> None:
    w.uploads()
    original = w.job("clippy", status="running", created_at=10)
    dup = w.job("clippy", status="running", created_at=12)
    plan = w.plan()
    cancels = [a for a in plan.actions if isinstance(a, CancelJob)]
    assert [(c.job_id, c.cause, c.duplicate_of) for c in cancels] == [(dup.id, "duplicate", original.id)]
    w.set_job(dup, status="succeeded", fine_tuned_model="m.ft-" + "b" * 32)
    w.checkpoints_for(w.set_job(original, status="succeeded", fine_tuned_model="m.ft-" + "a" * 32), [0.9, 0.5, 0.7])
    plan = w.plan()
    shown = [a for a in plan.actions if a.duplicate_of]
    assert len(shown) == 1 and "both were billed" in shown[0].reason  # visible, not hidden


def test_duplicate_upload_is_shown(w: World) -> None:
    w.uploads()
    extra = w.upload("train", created_at=5)
    plan = w.plan()
    dup = next(a for a in plan.actions if a.live_id == extra.id)
    assert dup.duplicate_of is not None and dup.drift == "unapplied"


def test_unlabelled_job_on_our_data_blocks_the_spec(w: World) -> None:
    w.uploads()
    w.job("clippy", status="running")
    w.jobs = [w.jobs[0].__class__(**{**w.jobs[0].__dict__, "metadata": {}})]
    a = by_resource(w.plan())["FineTuningJob/clippy"]
    assert a.blocked and a.drift == "foreign" and "carries no ftops metadata" in a.reason


def test_deleted_upload_of_a_trained_job_is_drift(w: World) -> None:
    w.uploads()
    job = w.job("clippy")
    w.checkpoints_for(job, [0.9, 0.5, 0.7])
    w.deploy("clippy-prod", job)
    w.files = [f for f in w.files if f.id != job.training_file]
    a = by_resource(w.plan())["Dataset/train"]
    assert isinstance(a, UploadDataset) and a.drift == "deleted"


def test_no_op_world_makes_an_empty_plan(w: World) -> None:
    w.uploads()
    job = w.job("clippy")
    cps = w.checkpoints_for(job, [0.9, 0.5, 0.7])
    w.deploy("clippy-prod", job, cps[1].id)
    plan = w.plan()
    assert not plan.has_changes and drift_items(plan) == [] and in_progress(plan) == []
    assert plan.totals()["monthly_hosting_delta_usd"] == 0


def test_a_deployment_on_the_developer_tier_gets_a_warning(make_project: MakeProject) -> None:
    """Azure deletes Developer-tier deployments after 24 h: a Deployment spec there could not keep serving."""
    spec = BASE_SPEC.replace("sku: {name: GlobalStandard, capacity: 50}", "sku: {name: Developer, capacity: 50}")
    plan = world(make_project(spec=spec)).plan()
    found = [(f.severity, f.kind, f.resource) for f in plan.findings]
    assert found == [("warning", "ephemeral", "Deployment/clippy-prod")] and not plan.refused
    assert "deletes Developer-tier deployments 24 hours after" in plan.findings[0].message
    assert not world(make_project()).plan().findings  # GlobalStandard: nothing to say


RETRYING = "  seed: 105\n  retries: 2\n"


@pytest.mark.parametrize("code,param,outcome,words", [
    ("contentFilter", None, "safety_failed", "failed Azure's safety evaluation"),
    ("contentFilter", "training_file", "data_refused", "refused by Azure's data checks"),
    ("jsonlValidationFailed", "training_file", "data_invalid", "failed Foundry's validation"),
])
def test_a_refused_job_is_final_whatever_retries_says(make_project: MakeProject, code: str, param: str | None,
                                                       outcome: str, words: str) -> None:
    w = world(make_project(spec=BASE_SPEC.replace("  seed: 105\n", RETRYING)))
    w.uploads()
    w.job("clippy", status="failed", error="Harm found.", error_code=code, error_param=param)
    plan = w.plan()
    a = by_resource(plan)["FineTuningJob/clippy"]
    assert isinstance(a, NoOp) and a.blocked and a.drift == "failed" and a.outcome == outcome
    assert words in a.reason and "retries do not apply" in a.reason and "Harm found" in a.reason
    assert "\n" not in a.reason
    assert not [x for x in plan.actions if isinstance(x, CreateJob)]
    dep = by_resource(plan)["Deployment/clippy-prod"]
    assert isinstance(dep, NoOp) and dep.blocked and words in dep.blocked  # never rolled out
    (item,) = [d for d in drift_items(plan) if d.resource == "FineTuningJob/clippy"]
    assert item.kind == "failed" and item.to_dict()["outcome"] == outcome


def test_a_refusal_after_a_retried_service_failure_is_still_final(make_project: MakeProject) -> None:
    w = world(make_project(spec=BASE_SPEC.replace("  seed: 105\n", RETRYING)))
    w.uploads()
    w.job("clippy", status="failed", error="GPU on fire", error_code="internal_error", created_at=10)
    w.job("clippy", status="failed", error="Harm.", error_code="contentFilter", created_at=20)
    a = by_resource(w.plan())["FineTuningJob/clippy"]
    assert isinstance(a, NoOp) and a.outcome == "safety_failed"


def test_a_transient_failure_is_retried_within_the_budget(make_project: MakeProject) -> None:
    w = world(make_project(spec=BASE_SPEC.replace("  seed: 105\n", RETRYING)))
    w.uploads()
    w.job("clippy", status="failed", error="The job failed\ndue to an internal error.", error_code="internal_error")
    a = by_resource(w.plan())["FineTuningJob/clippy"]
    assert isinstance(a, CreateJob) and a.retry == 1 and "retry 1/2" in a.reason and "\n" not in a.reason
    w.job("clippy", status="failed", error="again", error_code="internalFailure", created_at=20)
    w.job("clippy", status="failed", error="and again", error_code="internalFailure", created_at=30)
    a = by_resource(w.plan())["FineTuningJob/clippy"]
    assert isinstance(a, NoOp) and a.blocked and a.outcome == "transient" and "retries: 2 used" in a.reason


def test_a_new_training_content_makes_a_new_job_after_a_refusal(make_project: MakeProject) -> None:
    w = world(make_project())
    w.uploads()
    w.job("clippy", status="failed", error="Harm.", error_code="contentFilter")
    changed = world(make_project(spec=BASE_SPEC.replace("n_epochs: 3", "n_epochs: 2")))
    changed.uploads()
    changed.jobs = w.jobs
    changed.events = w.events
    a = by_resource(changed.plan())["FineTuningJob/clippy"]
    assert isinstance(a, CreateJob) and a.retry == 0


def test_status_says_why_in_one_line_with_a_machine_field(make_project: MakeProject) -> None:
    from ftops._vocabulary import FINAL_OUTCOMES
    from ftops.plan import status_rows
    from ftops.plan._jobs import _FINAL_WORDS

    assert set(_FINAL_WORDS) == FINAL_OUTCOMES  # every final outcome says why and what changes it
    w = world(make_project())
    w.uploads()
    w.job("clippy", status="failed", error="Harm.", error_code="contentFilter")
    (row,) = [r for r in status_rows(w.plan()) if r.kind == "FineTuningJob"]
    assert row.status == "blocked" and row.outcome == "safety_failed" and row.to_dict()["outcome"] == "safety_failed"
    assert "safety evaluation" in row.detail and "\n" not in row.detail


def test_another_namespaces_refusal_of_the_same_content_is_final_here_too(make_project: MakeProject) -> None:
    from ftops.plan import _matching as matching

    w = world(make_project(spec=BASE_SPEC.replace("  seed: 105\n", RETRYING)))
    w.uploads()
    theirs = w.job("clippy", status="failed", error="Harm.", error_code="contentFilter",
                   **{matching.META_PROJECT: "elsewhere"})
    a = by_resource(w.plan())["FineTuningJob/clippy"]
    assert isinstance(a, NoOp) and a.outcome == "safety_failed" and a.live_id == theirs.id
    assert "namespace elsewhere's job of the same training content" in a.reason
    w.jobs.remove(theirs)
    w.job("clippy", status="failed", error="GPU on fire", error_code="internal_error",
          **{matching.META_PROJECT: "elsewhere"})
    assert isinstance(by_resource(w.plan())["FineTuningJob/clippy"], CreateJob)  # their service failure is theirs
