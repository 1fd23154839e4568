"""Planning fine-tuning jobs: re-attach by training content, pause/resume, retry, supersede, settle races.

Two passes, both pure (they read only `ctx.live`). `identify_jobs` finds, for every spec (bases first),
the live jobs of its identity: the content it trains on (`FineTuningJobSpec.training_content`), never its
name or project, so a renamed spec or project re-attaches to its job. It prefers this project's jobs; when
none is usable, another project's job of the same content is followed (read, never paused, resumed or
cancelled). Every spec's identity is known before any decision, so no spec supersedes a job another spec
re-attaches to. `plan_job` then decides: follow the job (`_plan_existing`) or submit one (`_plan_new`).
"""

from __future__ import annotations

import graphlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from .._vocabulary import FINAL_OUTCOMES, JobOutcome
from ..checks import CheckedProject
from ..foundry import LiveJob
from ..spec import HYPERPARAMETER_MODELS, FineTuningJobSpec, JobRef, Resource, normalised_hyperparameters
from . import _matching as ident
from ._actions import (
    CancelJob,
    Cost,
    CreateJob,
    GuardTrip,
    JobFile,
    JobProgress,
    JobSubmission,
    NoOp,
    PauseJob,
    ResumeJob,
    WaitJob,
    known_after_apply,
)
from ._adoption import adopted_ids, adopted_job
from ._context import Ctx, JobState
from ._cost import training_cost
from ._guards import job_trip
from ._provenance import GitSource
from ._requests import job_metadata

# Which of several live jobs for one hash to follow: a finished one, else one in progress, else the rest.
KEEP_ORDER = {"succeeded": 0, "running": 1, "paused": 1, "queued": 1, "validating_files": 1, "pending": 1}


def job_order(checked: CheckedProject) -> list[str]:
    """Jobs with their continuous fine-tuning bases first (the spec layer rejected cycles)."""
    graph: dict[str, set[str]] = {}
    for name, job in checked.project.jobs.items():
        base = job.spec.base_model
        graph[name] = {base.job} if isinstance(base, JobRef) else set()
    return list(graphlib.TopologicalSorter(graph).static_order())


def job_submission(checked: CheckedProject, name: str, base_model: str | None, *,
                   file_ids: Mapping[str, str] | None = None,
                   made_by: Mapping[str, str] | None = None, source: GitSource | None = None) -> JobSubmission:
    """The request job `name` sends on `base_model` (None: the base job's model, known after apply), with
    the file ids the plan found (dataset -> processed file id) or the actions that yield them, and the git
    `source` its metadata records."""
    s = checked.project.jobs[name].spec
    file_ids, made_by = file_ids or {}, made_by or {}

    def file(ds: str) -> JobFile:
        return JobFile(dataset=ds, sha256=checked.reports[ds].sha256, file_id=None if ds in made_by else
                       file_ids.get(ds), made_by=made_by.get(ds))

    job = JobSubmission(base_model=base_model, training_file=file(s.training_data),
                        validation_file=file(s.validation_data) if s.validation_data else None, method=s.method,
                        hyperparameters=dict(s.hyperparameters), training_type=s.training_type, suffix=s.suffix,
                        seed=s.seed, grader=s.grader)
    if base_model is not None:
        job.metadata = job_metadata(checked.project.project_name, name, job, base_model, source)[1]
    return job


def _content(checked: CheckedProject, job: Resource[FineTuningJobSpec], base_model: str) -> dict[str, Any]:
    return job.spec.training_content(base_model, {name: r.sha256 for name, r in checked.reports.items()})


def job_identity(checked: CheckedProject, name: str, base_model: str) -> tuple[str, str]:
    """(training-content hash, spec hash) of job `name` on `base_model`: what live jobs of it carry."""
    metadata = job_submission(checked, name, base_model).metadata  # with a base model: the identity is in it
    assert metadata is not None
    return metadata[ident.META_CONTENT], metadata[ident.META_HASH]


def project_filter(project: str) -> dict[str, str]:
    """The metadata filter that lists the jobs of `project`."""
    return {ident.META_PROJECT: project}


def jobs_of_spec(checked: CheckedProject, name: str, jobs: list[LiveJob]) -> list[LiveJob]:
    """Of this project's live `jobs`, those of spec `name`: created under that name, or carrying its
    identity (a job of a renamed spec). A `{job: ...}` base's model is known only live: such a job is
    found by its name."""
    keys: set[str] = set()
    base = checked.project.jobs[name].spec.base_model
    if isinstance(base, str):
        content, spec_hash = job_identity(checked, name, base)
        keys = {content, ident.LEGACY + spec_hash}
    return [j for j in jobs if j.metadata.get(ident.META_SPEC) == name or ident.content_key(j.metadata) in keys]


def _progress(ctx: Ctx, job: LiveJob) -> JobProgress:
    """status, epoch, step, loss and ETA from the newest metrics event (fetched by the refresh step)."""
    p = JobProgress(status=job.status, n_epochs=job.n_epochs, estimated_finish=job.estimated_finish)
    if job.status != "running":
        return p
    events = ctx.live.events_of(job.id) or []
    metrics = next((e for e in events if e.step is not None), None)
    if metrics is None:
        p.last_message = events[0].message if events else None
        return p
    p.step, p.total_steps, p.train_loss = metrics.step, metrics.total_steps, metrics.train_loss
    if metrics.total_steps and job.n_epochs and metrics.step is not None:
        p.epoch = min(job.n_epochs, -(-metrics.step * job.n_epochs // metrics.total_steps))
    return p


@dataclass
class _Base:
    model: str  # a model id, or "job:<hash>" while the base job has not finished
    job: str | None
    depends: list[str]
    blocked: str | None


def _base_model(ctx: Ctx, s: FineTuningJobSpec) -> str:
    """The model to train on: the base job's fine-tuned model once it exists, else a stand-in for it."""
    if not isinstance(s.base_model, JobRef):
        return s.base_model
    base = ctx.jobs[s.base_model.job]
    if base.succeeded and base.live is not None and base.live.fine_tuned_model:
        return base.live.fine_tuned_model
    return f"job:{base.hash}"


def _base(ctx: Ctx, s: FineTuningJobSpec) -> _Base:
    model = _base_model(ctx, s)
    if not isinstance(s.base_model, JobRef):
        return _Base(model, None, [], None)
    name = s.base_model.job
    base = ctx.jobs[name]
    if not model.startswith("job:"):
        return _Base(model, name, [], None)
    return _Base(model, name, [base.action_id] if base.action_id else [],
                 base.blocked and f"base job {name} cannot finish: {base.blocked}")


def identify_jobs(ctx: Ctx) -> None:
    """Every spec's identity and the live job it follows, bases first (a base's model is in its child's)."""
    first: dict[str, str] = {}  # content hash -> the spec that has it
    for name in job_order(ctx.checked):
        job = ctx.checked.project.jobs[name]
        base_model = _base_model(ctx, job.spec)
        state = ctx.jobs[name] = JobState(*job_identity(ctx.checked, name, base_model))
        twin = first.setdefault(state.hash, name)
        if twin != name:
            # validate refuses twins it can see; this one shows once a base job's model is resolved (a spec
            # that names that model outright): both would be one job, so the later spec is blocked.
            state.blocked = (f"trains exactly what FineTuningJob {twin} trains once its base model is resolved, so "
                             f"both would be one job: point its deployments at {twin}, or change its seed or suffix")
            continue
        found = ctx.index.jobs_with_content(state.hash, state.spec_hash)
        state.matches = [j for j in found if j.metadata.get(ident.META_PROJECT) == ctx.project]
        theirs = [j for j in found if j.metadata.get(ident.META_PROJECT) != ctx.project]
        for j in state.matches:
            ctx.claimed.setdefault(j.id, name)
        ours = _follow_order(state.matches, name)
        if ours and ours[0].status != "failed":
            state.live = ours[0]
            continue
        adopted, state.adopt_changes = adopted_job(ctx, name, base_model)
        if adopted is not None:  # made outside ftops, and still what the spec says
            state.live, state.adopted = adopted, True
            ctx.claimed.setdefault(adopted.id, name)
            ctx.borrowed.add(adopted.id)  # in the plan's fingerprint: a saved plan is stale when it changes
            continue
        ctx.borrowed.update(j.id for j in theirs)  # only now do other projects' jobs decide anything
        if usable := [j for j in _follow_order(theirs, name) if j.status != "failed"]:
            state.live, state.owner = usable[0], usable[0].metadata.get(ident.META_PROJECT)
        else:
            state.refused_elsewhere = next((j for j in theirs if j.outcome in FINAL_OUTCOMES), None)


def plan_job(ctx: Ctx, job: Resource[FineTuningJobSpec]) -> None:
    s = job.spec
    state = ctx.jobs[job.name]
    if state.blocked:  # a twin of another spec (identify_jobs)
        ctx.add(NoOp(id=f"job.{job.name}:no-op", kind="FineTuningJob", name=job.name, reason=state.blocked,
                     blocked=state.blocked))
        return
    base = _base(ctx, s)
    for ds in filter(None, (s.training_data, s.validation_data)):
        if ds in ctx.dataset_action:
            base.depends.append(ctx.dataset_action[ds])
        if ds in ctx.dataset_blocked:
            base.blocked = base.blocked or f"dataset {ds}: {ctx.dataset_blocked[ds]}"
    alive = _settle_duplicates(ctx, job.name, state.matches)
    if alive and alive[0].status != "failed":
        _plan_existing(ctx, job, state, alive[0])
    elif (state.owner is not None or state.adopted) and state.live is not None:
        _plan_existing(ctx, job, state, state.live)
    else:
        _plan_new(ctx, job, state, base, list(ctx.index.jobs_of_spec(job.name)), state.matches)


def _follow_order(current: list[LiveJob], name: str) -> list[LiveJob]:
    """The live jobs of one identity, the one to follow first; cancelled ones left out.

    A finished job beats a running one (no more billing); among equals the oldest survives, as in apply's race
    settling, except that a job created under this spec's own name goes first (a spec renamed before ftops
    knew content identity may have trained twice: keep following the job its deployments were moved to).
    """
    alive = sorted((j for j in current if j.status != "cancelled"),
                   key=lambda j: (KEEP_ORDER.get(j.status, 2), j.created_at, j.id))
    usable = [j for j in alive if j.status != "failed"]
    if len(usable) < 2:
        return alive
    done = [j for j in usable if j.status == "succeeded"]
    first = min(done or usable, key=lambda j: (j.metadata.get(ident.META_SPEC) != name, j.created_at, j.id))
    return [first] + [j for j in alive if j is not first]


def _settle_duplicates(ctx: Ctx, name: str, current: list[LiveJob]) -> list[LiveJob]:
    """Order this project's jobs of one identity (`_follow_order`); cancel or report the duplicates of racing
    applies (or of a renamed spec trained twice before content identity)."""
    alive = _follow_order(current, name)
    usable = [j for j in alive if j.status != "failed"]
    if len(usable) < 2:
        return alive
    kept = alive[0]
    for dup in (j for j in usable if j is not kept):
        if dup.active:
            ctx.add(CancelJob(id=f"job.{name}:cancel:{dup.id}", name=name, job_id=dup.id, live_id=dup.id,
                              cause="duplicate", duplicate_of=kept.id,
                              reason=f"duplicate of {kept.id} for the same training content (concurrent applies); "
                                     "keeping the oldest"))
        else:
            ctx.add(NoOp(id=f"job.{name}:duplicate:{dup.id}", kind="FineTuningJob", name=name, live_id=dup.id,
                         duplicate_of=kept.id, reason=f"{dup.id} ({dup.status}) duplicates {kept.id} for the "
                         "same training content; both were billed, nothing to do"))
    return alive


def _attached(ctx: Ctx, name: str, chosen: LiveJob) -> tuple[str, dict[str, tuple[Any, Any]]]:
    """How a re-attached job was named when it was created, if not as now: (a note, the changes to show)."""
    project, spec = chosen.metadata.get(ident.META_PROJECT), chosen.metadata.get(ident.META_SPEC)
    if ctx.jobs[name].adopted:
        return "; adopted (made outside ftops; its fields are the spec's)", {}
    if project != ctx.project:
        return ("; another project's job of the same training content: followed, never paused or cancelled "
                f"(was {project}/{spec})"), {"project": (project, ctx.project)}
    if spec != name:
        return f"; re-attached: same training content (was {spec})", {"name": (spec, name)}
    return "", {}


def _plan_existing(ctx: Ctx, job: Resource[FineTuningJobSpec], state: JobState, chosen: LiveJob) -> None:
    s, name, aid = job.spec, job.name, f"job.{job.name}"
    state.live = chosen
    was, renamed = _attached(ctx, name, chosen)
    common: dict[str, Any] = {"name": name, "live_id": chosen.id}
    if chosen.status == "succeeded":
        ctx.add(NoOp(id=f"{aid}:no-op", kind="FineTuningJob", reason=f"{chosen.id} succeeded: "
                     f"{chosen.fine_tuned_model or 'no model named yet'}{was}", changes=renamed,
                     fine_tuned_model=chosen.fine_tuned_model,
                     **common))
        return
    progress = _progress(ctx, chosen)
    trip = _guard_trip(ctx, job, state, chosen)
    if trip is not None and not s.paused:
        _plan_tripped(ctx, job, state, chosen, trip, progress)
        return
    if s.paused:
        state.paused = True
        if chosen.status != "paused" and state.owner is None:
            ctx.add(PauseJob(id=f"{aid}:pause", reason=f"paused: true in the spec; {chosen.id} is {chosen.status}"
                             f"{was}", changes={"status": (chosen.status, "paused")}, job_id=chosen.id,
                             progress=progress, **common))
        else:
            ctx.add(NoOp(id=f"{aid}:no-op", kind="FineTuningJob", reason=f"{chosen.id} is {chosen.status} "
                         f"(paused: true holds this spec's rollouts){was}", changes=renamed, progress=progress,
                         **common))
        return
    after: list[str] = []
    if chosen.status == "paused" and state.owner is None:
        after.append(ctx.add(ResumeJob(id=f"{aid}:resume", reason=f"paused: false in the spec; resume {chosen.id}"
                                       f"{was}", changes={"status": ("paused", "running")}, job_id=chosen.id,
                                       progress=progress, **common)).id)
    state.action_id = ctx.add(WaitJob(id=f"{aid}:wait", reason=f"{chosen.id} is {chosen.status}{was}",
                                      changes=renamed, job_id=chosen.id, spec_hash=state.hash, progress=progress,
                                      depends_on=after, **common)).id


def _guard_trip(ctx: Ctx, job: Resource[FineTuningJobSpec], state: JobState, chosen: LiveJob) -> GuardTrip | None:
    """The guard that trips on this project's running or paused job (another project's job is never touched);
    None while its events are being fetched (the refresh step decides again with them)."""
    if not job.spec.guards or state.owner is not None or chosen.status not in ("running", "paused"):
        return None
    events = ctx.live.events_of(chosen.id)
    return None if events is None else job_trip(ctx.checked, job.name, chosen, events)


def _plan_tripped(ctx: Ctx, job: Resource[FineTuningJobSpec], state: JobState, chosen: LiveJob, trip: GuardTrip,
                  progress: JobProgress) -> None:
    """A tripped guard: pause or cancel the job, or hold it paused; its rollouts wait (or are blocked)."""
    name, aid = job.name, f"job.{job.name}"
    common: dict[str, Any] = {"name": name, "live_id": chosen.id, "job_id": chosen.id, "progress": progress,
                              "guard": trip}
    if trip.action == "cancel":
        state.blocked = f"{chosen.id} cancelled by its {trip}"
        ctx.add(CancelJob(id=f"{aid}:cancel:{chosen.id}", cause="guard", reason=f"{trip}",
                          changes={"status": (chosen.status, "cancelled")}, **common))
        return
    state.paused = True
    if chosen.status == "running":
        ctx.add(PauseJob(id=f"{aid}:pause", reason=f"{trip}", changes={"status": ("running", "paused")}, **common))
        return
    del common["job_id"]
    ctx.add(NoOp(id=f"{aid}:no-op", kind="FineTuningJob", reason=f"{chosen.id} is paused by its {trip}; remove the "
                 "guard or set resume: true in the spec to resume it", **common))


def _cancelled_by_guard(ctx: Ctx, job: Resource[FineTuningJobSpec], current: list[LiveJob]) -> tuple[LiveJob,
                                                                                                     GuardTrip] | None:
    """The newest cancelled job of this identity, when a cancel guard of the spec trips on its events: that
    cancel was the guard's, so the same training content is not resubmitted."""
    cancelled = [j for j in current if j.status == "cancelled"]
    if not job.spec.guards or not cancelled:
        return None
    newest = max(cancelled, key=lambda j: (j.created_at, j.id))
    events = ctx.live.events_of(newest.id)
    trip = None if events is None else job_trip(ctx.checked, job.name, newest, events)
    return (newest, trip) if trip is not None and trip.action == "cancel" else None


def _plan_new(ctx: Ctx, job: Resource[FineTuningJobSpec], state: JobState, base: _Base, live: list[LiveJob],
              current: list[LiveJob]) -> None:
    """No usable job carries this hash: create one (first time, spec changed, retry or resubmission)."""
    s, name, aid = job.spec, job.name, f"job.{job.name}"
    if (stopped := _cancelled_by_guard(ctx, job, current)) is not None:
        old, trip = stopped
        state.blocked = f"{old.id} was cancelled by its {trip}"
        ctx.add(NoOp(id=f"{aid}:no-op", kind="FineTuningJob", name=name, live_id=old.id, guard=trip,
                     reason=state.blocked + "; change the training content (data, hyperparameters, seed) to train "
                     "again", blocked=state.blocked))
        return
    failed = [j for j in current if j.status == "failed"]
    if final := next((j for j in reversed(failed) if j.outcome in FINAL_OUTCOMES), state.refused_elsewhere):
        _refused(ctx, job, state, final)
        return
    if failed and len(failed) > s.retries:
        why = f"{failed[-1].id} failed: {_one_line(failed[-1].error)}"
        state.blocked = why
        hint = f" (retries: {s.retries} used)" if s.retries else " (set `retries` in the spec to resubmit)"
        ctx.add(NoOp(id=f"{aid}:no-op", kind="FineTuningJob", name=name, reason=why + hint, blocked=why,
                     drift="failed", live_id=failed[-1].id, outcome=failed[-1].outcome))
        return
    twin = _unlabelled_twin(ctx, job, base.model)
    if twin is not None:
        state.blocked = (f"{twin.id} was trained on this spec's uploaded data but carries no ftops metadata "
                         "(Foundry dropped it, or someone submitted it by hand); ftops cannot tell whether it is "
                         "this spec's job and will not submit another. Cancel or rename it (or change the spec) "
                         "to proceed")
        ctx.add(NoOp(id=f"{aid}:no-op", kind="FineTuningJob", name=name, reason=state.blocked,
                     blocked=state.blocked, drift="foreign", live_id=twin.id))
        return
    # A job of this spec's name that no spec's identity claims is what the new job replaces (one another spec
    # re-attaches to, after names were swapped, is that spec's).
    superseded = [j for j in live if j.id not in ctx.claimed and j.active]
    changed = any(j.id not in ctx.claimed or ctx.claimed[j.id] != name for j in live)
    known = not base.model.startswith("job:")
    files = {ds: f.id for ds, f in ctx.dataset_files.items()}
    request = job_submission(ctx.checked, name, base.model if known else None, file_ids=files,
                             made_by=ctx.dataset_action, source=ctx.source)
    reason = _create_reason(changed, current, failed, superseded, s.retries)
    if state.adopt_changes:  # the adopted job no longer is what the spec says: jobs are immutable
        reason = f"spec changed: the adopted {s.adopt} differs in {', '.join(state.adopt_changes)}, so a new job"
    create = ctx.add(CreateJob(
        id=f"{aid}:create", request=request, name=name, reason=reason, depends_on=sorted(set(base.depends)),
        changes={k: (_scalar(a), _scalar(b)) for k, (a, b) in state.adopt_changes.items()}
        or _job_changes(ctx, job, live, base.model),
        blocked=base.blocked, drift="modified" if current and not failed else None, cost=_cost(ctx, job),
        spec_hash=state.hash if known else None, base_job=base.job,
        base_hash=ctx.jobs[base.job].hash if base.job else None, retry=len(failed),
        supersedes=sorted(j.id for j in superseded)))  # sorted: a listing may order jobs of one second either way
    state.action_id, state.blocked, state.creating = create.id, base.blocked, True
    for old in superseded:
        if s.keep_superseded:
            ctx.add(NoOp(id=f"{aid}:keep:{old.id}", kind="FineTuningJob", name=name, live_id=old.id,
                         reason=f"superseded {old.id} keeps running (keepSuperseded: true)"))
        else:
            ctx.add(CancelJob(id=f"{aid}:cancel:{old.id}", name=name, job_id=old.id, live_id=old.id,
                              cause="superseded", depends_on=[create.id],
                              reason=f"superseded by the new spec; {old.id} is {old.status}"))


# Why a job whose outcome is final is not resubmitted, and what would change it (FINAL_OUTCOMES).
_FINAL_WORDS: dict[JobOutcome, tuple[str, str]] = {
    "data_refused": ("was refused by Azure's data checks before training (harmful content in the training data; "
                     "Azure bills no training)", "change the training data"),
    "safety_failed": ("failed Azure's safety evaluation after training, so its model cannot be deployed (Azure "
                      "bills no training)", "change the training data, or ask Microsoft to review it (Learn: "
                      "fine-tuning safety evaluation)"),
    "data_invalid": ("failed Foundry's validation of its training data", "fix the data"),
}


def refusal(job: LiveJob) -> str | None:
    """For a job whose outcome is final (FINAL_OUTCOMES): what happened, that it is not resubmitted, and what
    would change that, in one line; None for any other job."""
    if job.outcome not in FINAL_OUTCOMES:
        return None
    what, remedy = _FINAL_WORDS[job.outcome]
    return f"{what}; not resubmitted (retries do not apply): {remedy}"


def _refused(ctx: Ctx, job: Resource[FineTuningJobSpec], state: JobState, failed: LiveJob) -> None:
    """A job the same training content cannot pass: blocked, never resubmitted, whatever `retries` says
    (a new job would train, or be checked, on the same content and be refused again)."""
    assert failed.outcome is not None
    what, remedy = _FINAL_WORDS[failed.outcome]
    owner = failed.metadata.get(ident.META_PROJECT)
    whose = "" if owner == ctx.project else f" (namespace {owner}'s job of the same training content)"
    state.blocked = f"{failed.id}{whose} {what}: {_one_line(failed.error)}"
    reason = f"{state.blocked.rstrip('.')}; not resubmitted (retries do not apply): {remedy}"
    ctx.add(NoOp(id=f"job.{job.name}:no-op", kind="FineTuningJob", name=job.name, blocked=state.blocked,
                 reason=reason, drift="failed", live_id=failed.id, outcome=failed.outcome))


def _one_line(text: str | None) -> str:
    """Foundry's error message on one line (a plan line, a status cell)."""
    return " ".join((text or "no reason given").split())


def _create_reason(changed: bool, current: list[LiveJob], failed: list[LiveJob], superseded: list[LiveJob],
                   retries: int) -> str:
    if failed:
        reason = f"retry {len(failed)}/{retries}: {failed[-1].id} failed: {_one_line(failed[-1].error)}"
    elif current:
        reason = f"the job for this spec ({current[-1].id}) was cancelled outside ftops; resubmitting"
    elif changed:
        reason = "spec changed: jobs are immutable, so a new job"
    else:
        reason = "new job"
    if superseded:
        reason += f"; supersedes {', '.join(j.id for j in superseded)}"
    return reason


def _cost(ctx: Ctx, job: Resource[FineTuningJobSpec]) -> Cost:
    s = job.spec
    info = ctx.checked.base_model_info(job.name)
    tokens = ctx.checked.reports[s.training_data].trained_tokens
    return Cost(training_usd=training_cost(info, s.training_type, tokens, s.hyperparameters.get("n_epochs")))


def _unlabelled_twin(ctx: Ctx, job: Resource[FineTuningJobSpec], base_model: str) -> LiveJob | None:
    """A live job with no ftops metadata on the same base model, suffix and uploaded training file."""
    file = ctx.dataset_files.get(job.spec.training_data)
    if file is None:
        return None
    adopted = adopted_ids(ctx)  # a spec's adopted job is that spec's, not a stranger's twin
    for j in ctx.index.unlabelled_jobs_on(file.id):
        if j.id not in adopted and j.model == base_model and (j.suffix or None) == job.spec.suffix \
                and j.status != "cancelled":
            return j
    return None


def _job_changes(ctx: Ctx, job: Resource[FineTuningJobSpec], live: list[LiveJob],
                 base_model: str) -> dict[str, tuple[Any, Any]]:
    """Fields that differ from the newest live job of this spec (from the fields ftops stored with it)."""
    newest = max(live, key=lambda j: (j.created_at, j.id), default=None)
    if newest is None:
        return {}
    new_fields = _content(ctx.checked, job, base_model)
    old = _as_content(ident.stored_fields_of(newest))
    compact = ident.stored_fields(new_fields)
    if not old or compact is None:  # nothing stored to compare with: only the hash says it changed
        was = newest.metadata.get(ident.META_CONTENT, newest.metadata.get(ident.META_HASH))
        return {"spec hash": (was, ident.canonical_hash(new_fields))}
    changes = {k: (_scalar(a), _scalar(b)) for k, (a, b) in ident.flat_changes(old, orjson.loads(compact)).items()}
    if base_model.startswith("job:") and "model" in changes:  # the base job's model does not exist yet
        changes["model"] = (changes["model"][0], known_after_apply("the model the base job trains"))
    return changes


def _as_content(stored: dict[str, Any]) -> dict[str, Any]:
    """Stored fields as the content would hold them (jobs from before it stored hyperparameters as written)."""
    hp, method = stored.get("hyperparameters"), stored.get("method")
    if isinstance(hp, dict) and method in HYPERPARAMETER_MODELS:
        return {**stored, "hyperparameters": normalised_hyperparameters(method, hp)}
    return stored


def _scalar(v: Any) -> Any:
    if v is None or isinstance(v, str | int | float | bool):
        return v
    return orjson.dumps(v, option=orjson.OPT_SORT_KEYS).decode()
