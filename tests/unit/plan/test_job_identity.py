"""Job identity, offline: a job is what Foundry trains on (issue 19, finding 2), never its name or project.

Each edit below changes nothing Foundry trains on and used to start a second billed job; each is now the
same job. Jobs created before the content hash (only `ftops-hash`) are still recognised.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from ftops import ValidationFailed
from ftops.checks import validate_dir
from ftops.foundry import LiveJob
from ftops.plan import CancelJob, CreateJob, NoOp, PauseJob, RollOut, WaitJob
from ftops.plan import _matching as matching
from tests.conftest import BASE_SPEC, MakeProject
from tests.unit.plan.snapshots import World, by_resource, world

SECOND = """---
apiVersion: ftops/v1
kind: FineTuningJob
metadata: {name: other}
spec:
  baseModel: gpt-4.1-mini-2025-04-14
  trainingData: train
  validationData: valid
  hyperparameters: {n_epochs: 3}
  suffix: clippy
  seed: 106
"""


@pytest.fixture
def w(make_project: MakeProject) -> World:
    return world(make_project())


def _jobs(plan_actions: list[object]) -> list[object]:
    return [a for a in plan_actions if isinstance(a, CreateJob)]


def _trained(w: World, name: str = "clippy", **kw: Any) -> LiveJob:
    """A succeeded job with its checkpoints (the deployment resolves `best` from them)."""
    job = w.job(name, **kw)
    w.checkpoints_for(job, [0.5, 0.4, 0.3])
    return job


def _after_edit(before: World, make_project: MakeProject, spec: str) -> World:
    """The specs edited to `spec`, against the live state `before` had."""
    after = world(make_project(spec=spec))
    after.files, after.jobs, after.deployments = before.files, before.jobs, before.deployments
    after.events, after.checkpoints = before.events, before.checkpoints
    return after


SAME_JOB = {
    "defaults-written-out": ("hyperparameters: {n_epochs: 3}",
                             "hyperparameters: {n_epochs: 3, batch_size: auto, learning_rate_multiplier: auto}"),
    "keys-reordered": ("  hyperparameters: {n_epochs: 3}\n  suffix: clippy\n  seed: 105\n",
                       "  seed: 105\n  suffix: clippy\n  hyperparameters: {n_epochs: 3}\n"),
    "method-default-written-out": ("  baseModel: gpt-4.1-mini-2025-04-14\n  method: supervised\n",
                                   "  baseModel: gpt-4.1-mini-2025-04-14\n"),
    "retries-and-keep-superseded": ("  seed: 105\n", "  seed: 105\n  retries: 2\n  keepSuperseded: true\n"),
    "dataset-renamed": ("metadata: {name: valid}", "metadata: {name: held-back}"),
}


@pytest.mark.parametrize("edit", list(SAME_JOB))
def test_an_edit_that_changes_nothing_foundry_trains_on_is_the_same_job(make_project: MakeProject,
                                                                        edit: str) -> None:
    before = world(make_project())
    before.uploads()
    job = _trained(before)
    old, new = SAME_JOB[edit]
    spec = BASE_SPEC.replace(old, new)
    if edit == "dataset-renamed":
        spec = spec.replace("validationData: valid", "validationData: held-back")
    assert spec != BASE_SPEC
    after = _after_edit(before, make_project, spec)
    plan = after.plan()
    a = by_resource(plan)["FineTuningJob/clippy"]
    assert not _jobs(plan.actions) and isinstance(a, NoOp) and a.live_id == job.id, a


def test_a_number_written_as_an_integer_is_the_same_job(make_project: MakeProject) -> None:
    before = world(make_project(spec=BASE_SPEC.replace("{n_epochs: 3}", "{n_epochs: 3, learning_rate_multiplier: 2}")))
    before.uploads()
    _trained(before)
    after = _after_edit(before, make_project, BASE_SPEC.replace("{n_epochs: 3}",
                                                                "{n_epochs: 3, learning_rate_multiplier: 2.0}"))
    assert not _jobs(after.plan().actions)


@pytest.mark.parametrize("old,new", [("n_epochs: 3", "n_epochs: 4"), ("suffix: clippy", "suffix: clippy2"),
                                     ("seed: 105", "seed: 7"), ("{n_epochs: 3}", "{n_epochs: 3, batch_size: 4}")])
def test_an_edit_of_what_foundry_trains_on_is_a_new_job(make_project: MakeProject, old: str, new: str) -> None:
    before = world(make_project())
    before.uploads()
    _trained(before)
    after = _after_edit(before, make_project, BASE_SPEC.replace(old, new))
    (create,) = _jobs(after.plan().actions)
    assert isinstance(create, CreateJob) and create.reason.startswith("spec changed")


def test_a_renamed_spec_re_attaches_and_says_what_it_was_called(make_project: MakeProject) -> None:
    before = world(make_project())
    before.uploads()
    running = before.job("clippy", status="running")
    spec = BASE_SPEC.replace("metadata: {name: clippy}", "metadata: {name: clippy-v2}").replace(
        "model: {job: clippy,", "model: {job: clippy-v2,")
    after = _after_edit(before, make_project, spec)
    plan = after.plan()
    a = by_resource(plan)["FineTuningJob/clippy-v2"]
    assert isinstance(a, WaitJob) and a.job_id == running.id and "(was clippy)" in a.reason
    assert a.changes == {"name": ("clippy", "clippy-v2")}
    # The old name's running job is this spec's job: not an orphan, nothing cancelled.
    assert not [x for x in plan.actions if isinstance(x, CancelJob) or "no spec names" in x.reason]
    assert not _jobs(plan.actions)


def test_a_job_from_before_content_identity_is_recognised_by_its_spec_hash(w: World) -> None:
    w.uploads()
    job = _trained(w)
    legacy = {k: v for k, v in job.metadata.items() if k != matching.META_CONTENT}
    w.set_job(job, metadata=legacy)
    a = by_resource(w.plan())["FineTuningJob/clippy"]
    assert isinstance(a, NoOp) and a.live_id == job.id
    # And its deployment, rolled out before, keeps serving with no change.
    w.deploy("clippy-prod", replace(job, metadata=legacy))
    assert not w.plan().has_changes


def test_spec_names_swapped_re_attach_each_job_and_cancel_neither(make_project: MakeProject) -> None:
    before = world(make_project(spec=BASE_SPEC + SECOND))
    before.uploads()
    one, two = before.job("clippy", status="running"), before.job("other", status="running")
    swapped = (BASE_SPEC + SECOND).replace("seed: 105", "seed: X").replace("seed: 106", "seed: 105").replace(
        "seed: X", "seed: 106")
    after = _after_edit(before, make_project, swapped)
    plan = after.plan()
    a = by_resource(plan)
    assert isinstance(a["FineTuningJob/clippy"], WaitJob) and a["FineTuningJob/clippy"].job_id == two.id
    assert isinstance(a["FineTuningJob/other"], WaitJob) and a["FineTuningJob/other"].job_id == one.id
    assert not _jobs(plan.actions) and not [x for x in plan.actions if isinstance(x, CancelJob)]


def test_a_spec_renamed_before_this_fix_trained_twice_keeps_the_job_of_its_name(w: World) -> None:
    w.uploads()
    first = _trained(w, created_at=10, **{matching.META_SPEC: "clippy-old"})
    second = _trained(w, created_at=20)
    w.deploy("clippy-prod", second)
    plan = w.plan()
    a = by_resource(plan)["FineTuningJob/clippy"]
    assert isinstance(a, NoOp) and a.live_id == second.id
    dup = next(x for x in plan.actions if x.live_id == first.id)
    assert dup.duplicate_of == second.id and "both were billed" in dup.reason
    assert not plan.has_changes  # the deployment keeps serving the job it was moved to


def test_another_projects_job_of_the_same_content_is_followed_and_never_touched(make_project: MakeProject) -> None:
    w = world(make_project(spec=BASE_SPEC.replace("  seed: 105\n", "  seed: 105\n  paused: true\n")))
    w.uploads()
    theirs = w.job("clippy", status="running", **{matching.META_PROJECT: "renamed-from", matching.META_SPEC: "x"})
    plan = w.plan()
    a = by_resource(plan)["FineTuningJob/clippy"]
    assert isinstance(a, NoOp) and a.live_id == theirs.id and "renamed-from/x" in a.reason
    assert not [x for x in plan.actions if isinstance(x, PauseJob | CancelJob | CreateJob)]
    done = w.set_job(theirs, status="succeeded", fine_tuned_model="gpt-4.1-mini-2025-04-14.ft-theirs")
    unpaused = _after_edit(w, make_project, BASE_SPEC)
    unpaused.checkpoints_for(done, [0.5, 0.4, 0.3])
    plan = unpaused.plan()
    assert not _jobs(plan.actions)
    rollout = by_resource(plan)["Deployment/clippy-prod"]
    assert isinstance(rollout, RollOut) and rollout.job_id == done.id


def test_another_projects_job_moves_the_fingerprint_only_when_it_is_followed(w: World) -> None:
    w.uploads()
    theirs = w.job("clippy", status="running", **{matching.META_PROJECT: "elsewhere"})
    borrowed = w.plan().fingerprint
    w.set_job(theirs, status="succeeded", fine_tuned_model="m.ft-x")
    w.checkpoints[theirs.id] = []
    assert w.plan().fingerprint != borrowed  # a saved plan that followed it is stale now
    ours = w.job("clippy", status="running")
    w.events[ours.id] = []
    alone = w.plan().fingerprint
    w.set_job(theirs, status="cancelled")
    assert w.plan().fingerprint == alone  # ours is followed: theirs decides nothing


def test_two_specs_of_one_training_content_are_refused_at_validate(make_project: MakeProject) -> None:
    root = make_project(spec=BASE_SPEC + SECOND.replace("seed: 106", "seed: 105"))
    with pytest.raises(ValidationFailed) as e:
        validate_dir(root / "specs", root)
    (problem,) = [p for p in e.value.problems if p.severity == "error"]
    assert problem.path == "specs/main.yaml" and problem.line is not None and problem.line > 30
    assert "trains exactly what FineTuningJob clippy (specs/main.yaml:" in problem.message


def test_a_spec_that_names_its_twins_resolved_base_model_is_blocked_not_shared(make_project: MakeProject) -> None:
    continuous = """---
apiVersion: ftops/v1
kind: FineTuningJob
metadata: {name: child}
spec:
  baseModel: {job: clippy}
  trainingData: train
  hyperparameters: {n_epochs: 1}
---
apiVersion: ftops/v1
kind: FineTuningJob
metadata: {name: pinned}
spec:
  baseModel: MODEL
  trainingData: train
  hyperparameters: {n_epochs: 1}
"""
    before = world(make_project(spec=BASE_SPEC + continuous.replace("MODEL", "gpt-4.1-mini-2025-04-14")))
    before.uploads()
    base = _trained(before)
    assert base.fine_tuned_model
    # `pinned` names the model `child`'s base job made (the catalog override lets validate accept it).
    override = f"""models:
  {base.fine_tuned_model}:
    encoding: o200k_base
    methods: [supervised]
    vision: false
    maxExampleTokens: 65536
    training: {{GlobalStandard: ["*"]}}
    deployment: {{GlobalStandard: ["*"]}}
    price: {{trainingPerMillionTokens: {{GlobalStandard: 5.0}}, hostingPerHour: {{GlobalStandard: 1.7}}}}
"""
    make_project(files={"ftops.catalog.yaml": override})
    after = _after_edit(before, make_project, BASE_SPEC + continuous.replace("MODEL", base.fine_tuned_model))
    plan = after.plan()
    a = by_resource(plan)
    (blocked,) = [x for x in (a["FineTuningJob/child"], a["FineTuningJob/pinned"]) if x.blocked]
    assert isinstance(blocked, NoOp) and "trains exactly what FineTuningJob" in str(blocked.blocked)
    assert [x.name for x in _jobs(plan.actions)] == [{"child": "pinned", "pinned": "child"}[blocked.name]]


def test_a_job_request_hashes_to_the_identity_the_spec_had_before_requests_were_in_the_plan(w: World) -> None:
    """Live jobs carry these hashes: the request the plan now holds must hash exactly as the spec did (the
    content, and the spec fields older ftops versions stored), or every job would be submitted again."""
    from ftops.plan import submission
    from ftops.plan._jobs import job_submission

    spec = w.checked.project.jobs["clippy"].spec
    base = "gpt-4.1-mini-2025-04-14"
    shas = {name: r.sha256 for name, r in w.checked.reports.items()}
    content = matching.canonical_hash(spec.training_content(base, shas))
    written = matching.canonical_hash({
        "model": base, "training_data": shas[spec.training_data],
        "validation_data": shas[spec.validation_data] if spec.validation_data else None, "method": spec.method,
        "hyperparameters": dict(sorted(spec.hyperparameters.items())), "trainingType": spec.training_type,
        "seed": spec.seed, "suffix": spec.suffix, "grader": spec.grader})
    request = job_submission(w.checked, "clippy", base, file_ids={d: "file-" + d for d in shas})
    sent = submission(w.project, "clippy", request, base, {})
    assert sent.content_hash == content and sent.identity[matching.META_HASH] == written
    assert request.metadata == sent.request.metadata and sent.request.training_file == "file-" + spec.training_data
    assert sent.request.hyperparameters == {"n_epochs": 3}
