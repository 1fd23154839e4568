"""Diff the specs against a snapshot of the live account and produce a Plan."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from deepdiff import DeepDiff

from ..checks import CheckedProject
from ..foundry import FoundryClient, LiveDeployment, LiveFile, LiveJob, Snapshot
from ..spec import FineTuningJobSpec, JobRef, Resource
from . import _identity as ident
from ._cost import monthly_hosting, training_cost
from ._model import Action, Plan
from ._resolve import Resolved, resolve_model

DEVELOPER_NOTE = "Foundry deletes Developer-tier deployments after 24 h"
INACTIVE_NOTE = "Foundry deletes fine-tuned deployments unused for 15 days"


@dataclass
class JobState:
    hash: str
    live: LiveJob | None = None  # the job that carries this spec hash, if any
    action_id: str | None = None  # the action others must wait for (create or wait)
    blocked: str | None = None
    paused: bool = False  # on hold by the spec (paused: true): dependents wait, nothing failed

    @property
    def succeeded(self) -> bool:
        return self.live is not None and self.live.status == "succeeded"


@dataclass
class _Ctx:
    checked: CheckedProject
    client: FoundryClient
    snap: Snapshot
    project: str
    prune: bool
    actions: list[Action] = field(default_factory=list)
    dataset_files: dict[str, LiveFile] = field(default_factory=dict)
    dataset_action: dict[str, str] = field(default_factory=dict)
    dataset_blocked: dict[str, str] = field(default_factory=dict)
    jobs: dict[str, JobState] = field(default_factory=dict)

    def add(self, action: Action) -> Action:
        self.actions.append(action)
        return action


def fingerprint(snap: Snapshot, project: str) -> str:
    """A hash of the live objects the plan depends on: this project's files and jobs, all deployments."""
    files = sorted((f.id, f.filename, f.status) for f in snap.files
                   if (p := ident.parse_file_name(f.filename)) is not None and p[0] == project)
    jobs = sorted((j.id, j.status, j.fine_tuned_model or "") for j in snap.jobs
                  if j.metadata.get(ident.META_PROJECT) == project)
    deps = sorted((d.name, d.model or "", d.sku_name or "", d.capacity or 0, ident.canonical_hash(d.tags))
                  for d in snap.deployments)
    return ident.canonical_hash({"files": files, "jobs": jobs, "deployments": deps})


def make_plan(checked: CheckedProject, client: FoundryClient, *, prune: bool = False,
              snapshot: Snapshot | None = None) -> Plan:
    """Read live state (unless given) and compute the actions that make it match the specs."""
    calls_before = client.api_calls
    snap = snapshot or client.snapshot()
    project = checked.project.project_name
    ctx = _Ctx(checked, client, snap, project, prune)
    _plan_datasets(ctx)
    for name in _job_order(checked):
        _plan_job(ctx, checked.project.jobs[name])
    for dep in checked.project.deployments.values():
        _plan_deployment(ctx, dep)
    _plan_orphans(ctx)
    return Plan(project=project, endpoint=client.target, fingerprint=fingerprint(snap, project),
                spec_dir=checked.project.spec_dir_shown, created_at=time.time(), actions=ctx.actions, prune=prune,
                api_calls=client.api_calls - calls_before)


# -- datasets -------------------------------------------------------------------------------
def _plan_datasets(ctx: _Ctx) -> None:
    live_hashes = _live_job_hashes(ctx)
    for name in ctx.checked.project.datasets:
        report = ctx.checked.reports[name]
        fname = ident.file_name(ctx.project, name, report.sha256)
        candidates = sorted((f for f in ctx.snap.files if f.filename == fname), key=lambda f: (f.created_at, f.id))
        processed = [f for f in candidates if f.status == "processed"]
        pending = [f for f in candidates if f.status in ("pending", "uploaded", "running")]
        aid = f"dataset.{name}"
        if processed:
            ctx.dataset_files[name] = processed[0]
            ctx.add(Action(f"{aid}:no-op", "Dataset", name, "no-op", f"uploaded as {processed[0].id}",
                           params={"file_id": processed[0].id}))
        elif pending:
            ctx.dataset_files[name] = pending[0]
            ctx.dataset_action[name] = ctx.add(Action(
                f"{aid}:wait", "Dataset", name, "wait", f"{pending[0].id} is still being processed by Foundry",
                params={"file_id": pending[0].id})).id
        elif candidates:
            why = f"Foundry rejected {candidates[-1].id}: {candidates[-1].status_details or candidates[-1].status}"
            ctx.dataset_blocked[name] = why
            ctx.add(Action(f"{aid}:no-op", "Dataset", name, "no-op", why, blocked=why, drift="failed"))
        else:
            path = ctx.checked.project.dataset_paths[name]
            in_use = any(j.spec.training_data == name or j.spec.validation_data == name
                         for j in ctx.checked.project.jobs.values() if _spec_hash_guess(ctx, j) in live_hashes)
            reason = (f"upload {report.size:,} bytes (sha256 {report.sha256[:12]})" if not in_use else
                      "the uploaded file is missing (deleted outside ftops); upload again "
                      f"(sha256 {report.sha256[:12]})")
            ctx.dataset_action[name] = ctx.add(Action(
                f"{aid}:create", "Dataset", name, "create", reason,
                changes={"file": [None, fname]}, drift="missing" if in_use else None,
                params={"path": str(path), "filename": fname, "sha256": report.sha256, "bytes": report.size})).id


def _live_job_hashes(ctx: _Ctx) -> set[str]:
    return {j.metadata.get(ident.META_HASH, "") for j in ctx.snap.jobs
            if j.metadata.get(ident.META_PROJECT) == ctx.project}


def _spec_hash_guess(ctx: _Ctx, job: Resource[FineTuningJobSpec]) -> str | None:
    # Only for the "was this file deleted behind our back" heuristic: base-model jobs hash directly.
    if isinstance(job.spec.base_model, str):
        return _job_hash(ctx, job, job.spec.base_model)
    return None


# -- jobs -----------------------------------------------------------------------------------
def _job_order(checked: CheckedProject) -> list[str]:
    """Jobs with their continuous fine-tuning bases first (references were checked acyclic)."""
    order: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen:
            return
        seen.add(name)
        base = checked.project.jobs[name].spec.base_model
        if isinstance(base, JobRef):
            visit(base.job)
        order.append(name)

    for name in checked.project.jobs:
        visit(name)
    return order


def _fields(checked: CheckedProject, job: Resource[FineTuningJobSpec], base_model: str) -> dict[str, Any]:
    s = job.spec
    reports = checked.reports
    return {
        "model": base_model,
        "training_data": reports[s.training_data].sha256,
        "validation_data": reports[s.validation_data].sha256 if s.validation_data else None,
        "method": s.method,
        "hyperparameters": dict(sorted(s.hyperparameters.items())),
        "trainingType": s.training_type,
        "seed": s.seed,
        "suffix": s.suffix,
        "grader": s.grader,
    }


def _job_hash(ctx: _Ctx, job: Resource[FineTuningJobSpec], base_model: str) -> str:
    return ident.canonical_hash(_fields(ctx.checked, job, base_model))


def job_request(checked: CheckedProject, name: str, base_model: str,
                files: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """(create body, identity metadata) of job `name` on `base_model`: the request apply sends.

    The spec hash covers the resolved base model, data hashes, method, hyperparameters, training
    type, seed, suffix and grader; the stored fields let a later plan show what changed.
    """
    project = checked.project.project_name
    job = checked.project.jobs[name]
    fields = _fields(checked, job, base_model)
    identity = ident.job_metadata(project, name, ident.canonical_hash(fields))
    metadata = dict(identity)
    stored = stored_fields(fields)
    if stored is not None:
        metadata["ftops-fields"] = stored
    return job_body(job, base_model, files, metadata), identity


def job_body(job: Resource[FineTuningJobSpec], base_model: str, files: dict[str, str],
             metadata: dict[str, str]) -> dict[str, Any]:
    """The create request, as Foundry spells it (hyperparameters under method)."""
    s = job.spec
    method: dict[str, Any] = {"type": s.method, s.method: {}}
    if s.hyperparameters:
        method[s.method]["hyperparameters"] = dict(s.hyperparameters)
    if s.method == "reinforcement" and s.grader is not None:
        method[s.method]["grader"] = s.grader
    body: dict[str, Any] = {"model": base_model, "training_file": files[s.training_data], "method": method,
                            "metadata": metadata, "trainingType": s.training_type}
    if s.validation_data:
        body["validation_file"] = files[s.validation_data]
    if s.suffix:
        body["suffix"] = s.suffix
    if s.seed is not None:
        body["seed"] = s.seed
    return body


def _progress(ctx: _Ctx, job: LiveJob) -> str:
    parts = [job.status]
    if job.status == "running":
        event = ctx.client.latest_event(job.id)
        if event:
            parts.append(event)
        if job.estimated_finish:
            parts.append("ETA " + time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(job.estimated_finish)))
    return " · ".join(parts)


def _plan_job(ctx: _Ctx, job: Resource[FineTuningJobSpec]) -> None:
    s = job.spec
    name = job.name
    aid = f"job.{name}"
    depends: list[str] = []
    blocked: str | None = None
    base_job: str | None = None
    if isinstance(s.base_model, JobRef):
        base_job = s.base_model.job
        base = ctx.jobs[base_job]
        if base.succeeded and base.live is not None and base.live.fine_tuned_model:
            base_model = base.live.fine_tuned_model
        else:
            base_model = f"job:{base.hash}"  # not known until the base job finishes
            if base.action_id:
                depends.append(base.action_id)
            blocked = base.blocked and f"base job {base_job} cannot finish: {base.blocked}"
    else:
        base_model = s.base_model
    spec_hash = _job_hash(ctx, job, base_model)
    state = ctx.jobs[name] = JobState(spec_hash)
    for ds in filter(None, (s.training_data, s.validation_data)):
        if ds in ctx.dataset_action:
            depends.append(ctx.dataset_action[ds])
        if ds in ctx.dataset_blocked:
            blocked = blocked or f"dataset {ds}: {ctx.dataset_blocked[ds]}"
    live = [j for j in ctx.snap.jobs if j.metadata.get(ident.META_PROJECT) == ctx.project
            and j.metadata.get(ident.META_SPEC) == name]
    current = [j for j in live if j.metadata.get(ident.META_HASH) == spec_hash]
    keep_order = {"succeeded": 0, "running": 1, "paused": 1, "queued": 1, "validating_files": 1, "pending": 1}
    alive = sorted((j for j in current if j.status != "cancelled"),
                   key=lambda j: (keep_order.get(j.status, 2), j.created_at, j.id))
    # Two applies that raced each created a job for this hash: keep the oldest, cancel the rest.
    if alive and any(j.active for j in alive[1:]):
        oldest = min((j for j in alive if j.status != "failed"), key=lambda j: (j.created_at, j.id), default=alive[0])
        alive = [oldest] + [j for j in alive if j is not oldest]
        for dup in alive[1:]:
            if dup.active:
                ctx.add(Action(f"{aid}:cancel:{dup.id}", "FineTuningJob", name, "cancel",
                               f"duplicate of {oldest.id} for the same spec hash (concurrent applies); keeping the "
                               "oldest", params={"job_id": dup.id}))
    info = ctx.checked.base_model_info(name)
    train_tokens = ctx.checked.reports[s.training_data].trained_tokens
    cost = {"training_usd": training_cost(info, s.training_type, train_tokens, s.hyperparameters.get("n_epochs"))}
    create_params = {"spec_hash": spec_hash, "base_model": None if base_model.startswith("job:") else base_model,
                     "base_job": base_job, "base_hash": ctx.jobs[base_job].hash if base_job else None}
    failed = [j for j in current if j.status == "failed"]
    chosen = alive[0] if alive else None
    if chosen is not None and chosen.status != "failed":
        state.live = chosen
        if chosen.status == "succeeded":
            ctx.add(Action(f"{aid}:no-op", "FineTuningJob", name, "no-op", f"{chosen.id} succeeded: "
                           f"{chosen.fine_tuned_model}", params={"job_id": chosen.id, "spec_hash": spec_hash}))
            return
        progress = _progress(ctx, chosen)
        if s.paused and chosen.status != "paused":
            ctx.add(Action(f"{aid}:pause", "FineTuningJob", name, "pause", f"paused: true in the spec; {chosen.id} "
                           f"is {chosen.status}", changes={"status": [chosen.status, "paused"]},
                           params={"job_id": chosen.id, "spec_hash": spec_hash}, progress=progress))
            state.paused = True
            return
        if s.paused:
            state.paused = True
            ctx.add(Action(f"{aid}:no-op", "FineTuningJob", name, "no-op", f"{chosen.id} is paused (paused: true)",
                           params={"job_id": chosen.id, "spec_hash": spec_hash}, progress=progress))
            return
        if not s.paused and chosen.status == "paused":
            ctx.add(Action(f"{aid}:resume", "FineTuningJob", name, "resume", f"paused: false in the spec; resume "
                           f"{chosen.id}", changes={"status": ["paused", "running"]},
                           params={"job_id": chosen.id, "spec_hash": spec_hash}, progress=progress))
        state.action_id = ctx.add(Action(f"{aid}:wait", "FineTuningJob", name, "wait", f"{chosen.id} is "
                                         f"{chosen.status}", params={"job_id": chosen.id, "spec_hash": spec_hash},
                                         progress=progress)).id
        return
    # No usable job carries this hash: create one (first time, spec changed, retry or resubmission).
    drift = None
    if failed and len(failed) > s.retries:
        why = f"{failed[-1].id} failed: {failed[-1].error or 'no reason given'}"
        state.blocked = why
        hint = f" (retries: {s.retries} used)" if s.retries else " (set `retries` in the spec to resubmit)"
        ctx.add(Action(f"{aid}:no-op", "FineTuningJob", name, "no-op", why + hint, blocked=why, drift="failed",
                       params={"job_id": failed[-1].id}))
        return
    if failed:
        reason = f"retry {len(failed)}/{s.retries}: {failed[-1].id} failed: {failed[-1].error or 'no reason given'}"
    elif current:
        reason = f"the job for this spec ({current[-1].id}) was cancelled outside ftops; resubmitting"
        drift = "cancelled"
    else:
        superseded = [j for j in live if j.metadata.get(ident.META_HASH) != spec_hash]
        reason = "new job" if not superseded else f"spec changed (hash {superseded[0].metadata.get(ident.META_HASH)} " \
                                                  f"-> {spec_hash}): jobs are immutable, so a new job"
    changes = _job_changes(ctx, job, live, base_model)
    superseded_active = [j for j in live if j.metadata.get(ident.META_HASH) != spec_hash and j.active]
    if superseded_active:
        reason += f"; supersedes {', '.join(j.id for j in superseded_active)}"
    create = ctx.add(Action(f"{aid}:create", "FineTuningJob", name, "create", reason, changes=changes,
                            depends_on=sorted(set(depends)), params=create_params, blocked=blocked, drift=drift,
                            cost=cost))
    state.action_id = create.id
    state.blocked = blocked
    for old in superseded_active:
        if s.keep_superseded:
            ctx.add(Action(f"{aid}:keep:{old.id}", "FineTuningJob", name, "no-op", f"superseded {old.id} keeps "
                           "running (keepSuperseded: true)", params={"job_id": old.id}))
        else:
            ctx.add(Action(f"{aid}:cancel:{old.id}", "FineTuningJob", name, "cancel",
                           f"superseded by the new spec; {old.id} is {old.status}", depends_on=[create.id],
                           params={"job_id": old.id}))


def _job_changes(ctx: _Ctx, job: Resource[FineTuningJobSpec], live: list[LiveJob], base_model: str) -> dict[str, Any]:
    """Fields that differ from the newest live job of this spec (from the fields ftops stored with it)."""
    newest = max(live, key=lambda j: (j.created_at, j.id), default=None)
    new_fields = _fields(ctx.checked, job, base_model)
    if newest is None:
        return {}
    stored = newest.metadata.get("ftops-fields")
    compact = stored_fields(new_fields)
    if not stored or compact is None:
        return {"spec": [newest.metadata.get(ident.META_HASH), ident.canonical_hash(new_fields)]}
    old, new = orjson.loads(stored), orjson.loads(compact)
    diff = DeepDiff(old, new, ignore_order=True, verbose_level=2)
    changes: dict[str, Any] = {}
    for kind in ("values_changed", "type_changes", "dictionary_item_added", "dictionary_item_removed"):
        for path, change in diff.get(kind, {}).items():
            key = path.replace("root", "").replace("['", ".").replace("']", "").lstrip(".")
            if isinstance(change, dict) and ("old_value" in change or "new_value" in change):
                changes[key] = [change.get("old_value"), change.get("new_value")]
            elif kind == "dictionary_item_added":
                changes[key] = [None, change]
            else:
                changes[key] = [change, None]
    return changes


def stored_fields(fields: dict[str, Any]) -> str | None:
    """The spec fields kept in job metadata (one value, at most 512 characters) for later diffs."""
    compact = dict(fields)
    for k in ("training_data", "validation_data"):
        if compact.get(k):
            compact[k] = compact[k][:16]
    compact.pop("grader", None)
    text = orjson.dumps(compact, option=orjson.OPT_SORT_KEYS).decode()
    return text if len(text) <= 512 else None


# -- deployments ----------------------------------------------------------------------------
def _plan_deployment(ctx: _Ctx, dep: Resource[Any]) -> None:
    s = dep.spec
    name = dep.name
    aid = f"deployment.{name}"
    sku = ident.ARM_SKU[s.sku.name]
    dhash = ident.canonical_hash({"model": s.model.model_dump(mode="json"), "sku": [sku, s.sku.capacity],
                                  "gates": s.gates.model_dump(mode="json")})
    live = next((d for d in ctx.snap.deployments if d.name == name), None)
    info = ctx.checked.base_model_info(s.model.job)
    monthly = monthly_hosting(info, s.sku.name)
    state = ctx.jobs[s.model.job]
    params: dict[str, Any] = {"job": s.model.job, "job_hash": state.hash, "sku": sku, "capacity": s.sku.capacity,
                              "spec_hash": dhash, "served_loss": _served_loss(live)}
    if live is not None and live.tags.get(ident.META_PROJECT) != ctx.project:
        owner = live.tags.get(ident.META_PROJECT)
        why = (f"a deployment named {name} exists and is managed by project {owner!r}" if owner else
               f"a deployment named {name} exists and is not managed by ftops") + "; ftops will not take it over"
        ctx.add(Action(f"{aid}:no-op", "Deployment", name, "no-op", why, blocked=why, drift="unmanaged"))
        return
    if state.paused:
        keep = f"keeps serving {live.model}" if live else "not deployed"
        ctx.add(Action(f"{aid}:no-op", "Deployment", name, "no-op", f"{keep}; rollout on hold while job "
                       f"{s.model.job} is paused", cost={"monthly_usd": monthly if live else 0.0}))
        return
    if state.blocked and not state.succeeded:
        why = f"job {s.model.job}: {state.blocked}"
        keep = f"keeps serving {live.model}" if live else "not deployed"
        ctx.add(Action(f"{aid}:no-op", "Deployment", name, "no-op", f"{keep}; rollout blocked ({why})", blocked=why,
                       cost={"monthly_usd": monthly if live else 0.0}))
        return
    if not state.succeeded or state.live is None:
        assert state.action_id is not None
        if live is not None:
            reason = f"pending rollout: keeps serving {live.model} until job {s.model.job} finishes"
            ctx.add(Action(f"{aid}:update", "Deployment", name, "update", reason,
                           changes={"model": [live.model, f"<{s.model.job}: {_selector(s)}>"]},
                           depends_on=[state.action_id], params=params, cost={"monthly_usd": monthly}))
        else:
            ctx.add(Action(f"{aid}:create", "Deployment", name, "create",
                           f"deploy {_selector(s)} of job {s.model.job} once it finishes",
                           changes={"model": [None, f"<{s.model.job}: {_selector(s)}>"], "sku": [None, sku]},
                           depends_on=[state.action_id], params=params, cost={"monthly_usd": monthly}))
        return
    served_loss = _served_loss(live)
    if live is not None and live.tags.get(ident.TAG_JOB) == state.live.id and live.tags.get(ident.META_HASH) == dhash \
            and live.tags.get(ident.TAG_MODEL) == live.model and live.model:
        # ftops resolved this job's checkpoint when it rolled it out; a finished job's checkpoints do
        # not change, so a no-op plan needs no checkpoint call per deployment.
        resolved = Resolved(live.model, served_loss, "as rolled out")
    else:
        resolved = resolve_model(ctx.client, state.live, s, served_loss)
    if resolved.blocked:
        keep = f"keeps serving {live.model}" if live else "not deployed"
        ctx.add(Action(f"{aid}:no-op", "Deployment", name, "no-op", f"{keep}; {resolved.blocked}",
                       blocked=resolved.blocked, cost={"monthly_usd": monthly if live else 0.0}))
        return
    params.update(model=resolved.model, loss=resolved.loss, job_id=state.live.id)
    if live is None:
        note = DEVELOPER_NOTE if sku == "DeveloperTier" else INACTIVE_NOTE
        ctx.add(Action(f"{aid}:create", "Deployment", name, "create",
                       f"deploy {resolved.note}: {resolved.model} "
                       f"(if it existed before: deleted by a person, or {note})",
                       changes={"model": [None, resolved.model], "sku": [None, f"{sku} x{s.sku.capacity}"]},
                       params=params, drift="missing", cost={"monthly_usd": monthly}))
        return
    changes: dict[str, list[Any]] = {}
    if live.model != resolved.model:
        changes["model"] = [live.model, resolved.model]
    if live.sku_name != sku:
        changes["sku.name"] = [live.sku_name, sku]
    if live.capacity != s.sku.capacity:
        changes["sku.capacity"] = [live.capacity, s.sku.capacity]
    if live.tags.get(ident.META_HASH) != dhash:
        changes["tags.ftops-hash"] = [live.tags.get(ident.META_HASH), dhash]
    if not changes:
        ctx.add(Action(f"{aid}:no-op", "Deployment", name, "no-op", f"serves {live.model} ({resolved.note})",
                       cost={"monthly_usd": monthly}))
        return
    by_hand = live.tags.get(ident.META_HASH) == dhash and live.tags.get(ident.TAG_JOB) == state.live.id
    if "model" in changes and not by_hand:
        reason = f"roll out {resolved.note}: {resolved.model}"
    elif by_hand:
        reason = "changed outside ftops; revert " + ", ".join(changes)
    else:
        reason = "spec changed: " + ", ".join(changes)
    action = "replace" if "sku.name" in changes else "update"
    ctx.add(Action(f"{aid}:{action}", "Deployment", name, action, reason, changes=changes, params=params,
                   drift="modified" if by_hand else None, cost={"monthly_usd": monthly}))


def _selector(spec: Any) -> str:
    c = spec.model.checkpoint
    return c if isinstance(c, str) else f"epoch {c.epoch}"


def _served_loss(live: LiveDeployment | None) -> float | None:
    if live is None or ident.TAG_LOSS not in live.tags:
        return None
    try:
        return float(live.tags[ident.TAG_LOSS])
    except ValueError:
        return None


# -- orphans --------------------------------------------------------------------------------
def _plan_orphans(ctx: _Ctx) -> None:
    p = ctx.checked.project
    hint = "managed by ftops but no spec names it; `apply --prune` deletes it"
    for d in ctx.snap.deployments:
        if d.tags.get(ident.META_PROJECT) == ctx.project and d.name not in p.deployments:
            ctx.add(_orphan(ctx, "Deployment", d.name, f"deployment.{d.name}", f"serves {d.model}; {hint}",
                            {"deployment": d.name}, "delete"))
    wanted = {f.id for f in ctx.dataset_files.values()}
    wanted_names = {f.filename for f in ctx.dataset_files.values()}
    active_files = {fid for j in ctx.snap.jobs if j.active for fid in (j.training_file, j.validation_file) if fid}
    for f in ctx.snap.files:
        parsed = ident.parse_file_name(f.filename)
        if parsed and parsed[0] == ctx.project and f.id not in wanted and f.id not in active_files:
            action = _orphan(ctx, "File", f.filename, f"file.{f.id}", f"{f.id} ({f.bytes:,} bytes); {hint}",
                             {"file_id": f.id}, "delete")
            if f.filename in wanted_names:  # a second upload of the same bytes (two applies raced): harmless
                action.drift = None
                action.reason = f"{f.id} duplicates the upload in use; `apply --prune` deletes it"
            ctx.add(action)
    for j in ctx.snap.jobs:
        spec = j.metadata.get(ident.META_SPEC)
        if j.metadata.get(ident.META_PROJECT) == ctx.project and j.active and spec not in p.jobs:
            ctx.add(_orphan(ctx, "FineTuningJob", spec or j.id, f"job.{spec}:orphan:{j.id}",
                            f"{j.id} is {j.status} but no spec names {spec!r}; `apply --prune` cancels it "
                            "(jobs are never deleted)", {"job_id": j.id}, "cancel"))


def _orphan(ctx: _Ctx, kind: str, name: str, aid: str, reason: str, params: dict[str, Any], verb: str) -> Action:
    if ctx.prune:
        return Action(f"{aid}:{verb}", kind, name, verb, reason.split(";")[0] + "; pruned (--prune)",
                      params=params, drift="unmanaged")
    return Action(f"{aid}:no-op", kind, name, "no-op", reason, params=params, drift="unmanaged")
