"""Verifying a saved plan before apply runs it: its fit to the specs and data, offline, then its freshness.

A plan file is an approval, not a program. It is validated as a whole before anything runs: its schema
(`format_version`, every action's type and fields), its graph (known ids, no cycle), its paths (inside the
project root, the files the specs name), its hashes (the bytes and specs it was made for), then the live
state it was made against; and then apply decides again and runs that fresh decision only if the file
approved exactly it (`_approval.py`).

Two kinds of refusal: a *stale* plan (StalePlanError: the specs, their data or the live state moved since,
by the fingerprints) is planned again under `--on-stale replan`; a plan that is *not approved*
(PlanNotApproved: nothing moved, yet the file is not what ftops decides, so it was edited) is always refused.
"""

from __future__ import annotations

import graphlib
from collections.abc import Callable
from typing import Any

from .._exceptions import PlanNotApproved, PreflightFailed, StalePlanError
from .._urls import plan_form
from ..checks import CheckedProject
from ..plan import (
    NO_UPSTREAM,
    Action,
    CreateJob,
    EvaluateCandidates,
    ImportDataset,
    LiveState,
    Plan,
    Promote,
    PutRaiPolicy,
    RollOut,
    UploadDataset,
    Upstream,
    WaitFile,
    criteria_hash,
    file_name,
    make_plan,
    spec_fingerprint,
)
from ..spec import followed
from ._approval import approve
from ._connect import Session


def verify_plan(plan: Plan, checked: CheckedProject) -> None:
    """Refuse, before any change, a plan that does not fit these specs and data, offline.

    StalePlanError when the specs or data changed since; PlanNotApproved for what no plan of ftops holds
    (a repeated id, an unknown dependency, a cycle; once the specs are the plan's own, an action that
    does not match them: `FITS`, per action type).
    """
    project = checked.project
    if plan.project != project.project_name:
        raise StalePlanError(f"the plan is for project {plan.project!r}, the specs are for "
                             f"{project.project_name!r}")
    _check_graph(plan)
    require_preflight(plan)
    if plan.spec_fingerprint != spec_fingerprint(checked):
        raise StalePlanError("the specs or their data changed since the plan was made; run `ftops plan` again")
    for a in plan.actions:
        check = FITS.get(type(a))
        if check is not None:
            check(a, checked)


def _refuse(a: Action, what: str) -> PlanNotApproved:
    return PlanNotApproved(f"plan action {a.id}: {what}; refusing it")


def _check_wait_file(a: WaitFile, checked: CheckedProject) -> None:
    project = checked.project
    if a.name not in checked.reports or a.filename != file_name(
            project.project_name, a.name, checked.reports[a.name].sha256):
        raise _refuse(a, f"file name {a.filename!r} is not this dataset's upload")


def _check_job(a: CreateJob, checked: CheckedProject) -> None:
    jobs = checked.project.jobs
    if a.name not in jobs or (a.base_job and (a.base_job not in jobs or a.base_hash is None)):
        raise _refuse(a, f"job {a.name} does not match the specs")
    if a.base_job is None and a.request.base_model is None:
        raise _refuse(a, f"job {a.name} names no base model")
    if any(f.file_id is None and f.made_by is None for f in a.request.files()) and not a.blocked:
        raise _refuse(a, f"job {a.name} names neither a file nor the action that uploads it")


def _check_rollout(a: RollOut, checked: CheckedProject) -> None:
    if a.name not in checked.project.deployments or a.job not in checked.project.jobs:
        raise _refuse(a, f"deployment {a.name} does not match the specs")


def _check_promote(a: Promote, checked: CheckedProject) -> None:
    """A promotion serves the model of the stage its spec names (the Deployment it follows, or the other
    account's job), under that stage's name."""
    project = checked.project
    dep = project.deployments.get(a.name)
    if dep is None:
        raise _refuse(a, f"deployment {a.name} does not match the specs")
    target = followed(project, dep)
    job = project.every_job.get(dep.spec.job_ref.job) if dep.spec.job_ref is not None else None
    stage = target if target is not None else job
    if stage is None or a.upstream != f"{stage.foundry}/{stage.name}":
        raise _refuse(a, f"deployment {a.name} does not serve the model of {a.upstream} in the specs")


def _check_evaluation(a: EvaluateCandidates, checked: CheckedProject) -> None:
    project = checked.project
    if (a.name not in project.evaluations or a.deployment not in project.deployments or a.job not in project.jobs
            or (ref := project.deployments[a.deployment].spec.evaluation) is None or ref.name != a.name):
        raise _refuse(a, f"evaluation {a.name} does not match the specs")
    job_ref = project.deployments[a.deployment].spec.job_ref
    if (job_ref is None or a.job != job_ref.job
            or a.criteria_hash != criteria_hash(checked, project.evaluations[a.name])):
        raise _refuse(a, f"evaluation {a.name} is not for these criteria, data or job")


def _check_rai_policy(a: PutRaiPolicy, checked: CheckedProject) -> None:
    if a.name not in checked.project.rai_policies:
        raise _refuse(a, f"content filter policy {a.name} does not match the specs")


def require_preflight(plan: Plan) -> None:
    """Refuse a plan whose preflight found what Foundry would refuse (one line: the first problem)."""
    if plan.refused:
        first = plan.refused[0]
        more = f" (and {len(plan.refused) - 1} more)" if len(plan.refused) > 1 else ""
        raise PreflightFailed(f"preflight: {first.resource}: {first.message}{more}; nothing was applied")


def _check_graph(plan: Plan) -> None:
    ids = [a.id for a in plan.actions]
    if len(set(ids)) != len(ids):
        raise PlanNotApproved("the plan file repeats an action id; refusing it")
    known = set(ids)
    for a in plan.actions:
        unknown = [d for d in a.depends_on if d not in known]
        if unknown:
            raise PlanNotApproved(f"plan action {a.id} depends on unknown action {unknown[0]!r}")
    try:
        graphlib.TopologicalSorter({a.id: set(a.depends_on) for a in plan.actions}).prepare()
    except graphlib.CycleError as e:
        raise PlanNotApproved(f"the plan's dependencies form a cycle ({' -> '.join(map(str, e.args[1]))})") from e


def _check_upload(a: UploadDataset, checked: CheckedProject) -> None:
    project = checked.project
    expected = project.dataset_paths.get(a.name)
    target = (project.root / a.path).resolve()
    if expected is None or not target.is_relative_to(project.root) or target != expected:
        raise PlanNotApproved(f"plan action {a.id}: path {a.path!r} is not the file the specs name for dataset "
                              f"{a.name}; refusing to upload it")
    report = checked.reports[a.name]
    if a.sha256 != report.sha256 or a.bytes != report.size:
        # The specs' data is what the plan was made for (spec_fingerprint): other bytes here are an edit.
        raise PlanNotApproved(f"plan action {a.id}: sha256 or size of dataset {a.name} is not its file's; "
                              "refusing to upload it")
    if a.filename != file_name(project.project_name, a.name, a.sha256):
        raise PlanNotApproved(f"plan action {a.id}: file name {a.filename!r} does not follow ftops' naming; "
                              "refusing it")


def _check_import(a: ImportDataset, checked: CheckedProject) -> None:
    """An import sends the spec's url (expanded at apply): the plan must have been made for that url, the
    identity validation found now, and the name ftops gives it."""
    project = checked.project
    ds = project.datasets.get(a.name)
    if ds is None or ds.spec.url is None or plan_form(ds.spec.url) != a.url:
        raise PlanNotApproved(f"plan action {a.id}: url {a.url!r} is not the url the specs name for dataset "
                              f"{a.name}; refusing to import it")
    report = checked.reports[a.name]
    if (a.sha256, a.bytes, a.identity) != (report.sha256, report.size, report.identity):
        # The specs' data is what the plan was made for (spec_fingerprint): another identity here is an edit.
        raise PlanNotApproved(f"plan action {a.id}: identity of dataset {a.name} is not its url's; refusing to "
                              "import it")
    if a.filename != file_name(project.project_name, a.name, a.sha256):
        raise PlanNotApproved(f"plan action {a.id}: file name {a.filename!r} does not follow ftops' naming; "
                              "refusing it")

# What each action type must fit in the specs and data before anything runs (the fresh decision then
# decides every field: `approve`). A type not listed has nothing of the specs to fit.
Fit = Callable[[Any, CheckedProject], None]
FITS: dict[type[Action], Fit] = {
    UploadDataset: _check_upload, ImportDataset: _check_import, WaitFile: _check_wait_file, CreateJob: _check_job,
    RollOut: _check_rollout, Promote: _check_promote, EvaluateCandidates: _check_evaluation,
    PutRaiPolicy: _check_rai_policy,
}


def check_fresh(plan: Plan, session: Session, *, upstream: Upstream = NO_UPSTREAM,
                live: LiveState | None = None) -> Plan:
    """The plan to run for a saved `plan`: a fresh decision from the specs and the live state (`live` when read
    already; with `upstream`, what the accounts planned before it offer), when `plan` approved exactly it.
    Refuses a plan made for other specs, another account or another live state (StalePlanError), and one whose
    actions are not that decision (PlanNotApproved)."""
    verify_plan(plan, session.checked)
    if plan.endpoint != session.client.target:
        raise StalePlanError(f"the plan was made against another account ({plan.endpoint}), not "
                             f"{session.client.target}")
    # Decided with the saved plan's git source: apply records the commit that was reviewed, and the checkout's
    # commit now is not compared. Provenance says where the specs came from; whether they are the specs the
    # plan was made for is `spec_fingerprint`'s to say (the same specs at a merge commit are the same
    # approval), so another commit alone never makes a plan stale or unapproved.
    fresh = make_plan(session.checked, session.client, prune=plan.prune, live=live, upstream=upstream,
                      provenance=plan.provenance)
    if fresh.fingerprint != plan.fingerprint:
        raise StalePlanError("the live state changed since the plan was made (fingerprint "
                             f"{plan.fingerprint[:12]} -> {fresh.fingerprint[:12]}); run `ftops plan` again")
    if fresh.upstream_fingerprint != plan.upstream_fingerprint:
        raise StalePlanError("what the accounts it follows offer changed since the plan was made (a stage moved "
                             "on, or finished what it was doing); run `ftops plan` again")
    require_preflight(fresh)  # what Foundry would refuse now (a model retired since), even if the plan was clean
    return approve(plan, fresh)
