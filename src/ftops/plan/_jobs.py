"""Planning fine-tuning jobs: re-attach by spec hash, pause/resume, retry, supersede, settle races."""

from __future__ import annotations

import re
import time
from typing import Any

import orjson
from deepdiff import DeepDiff

from ..checks import CheckedProject
from ..foundry import LiveJob
from ..spec import FineTuningJobSpec, JobRef, Resource
from . import _identity as ident
from ._context import Ctx, JobState
from ._cost import training_cost
from ._model import Action


def job_order(checked: CheckedProject) -> list[str]:
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


def job_hash(ctx: Ctx, job: Resource[FineTuningJobSpec], base_model: str) -> str:
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


_STEP = re.compile(r"Step (\d+)/(\d+)")


def _progress(ctx: Ctx, job: LiveJob) -> str:
    """status · epoch e/n · step s/t · loss x · ETA, from the newest metrics event (one call)."""
    parts = [job.status]
    if job.status == "running":
        events = ctx.client.latest_events(job.id)
        metrics = next(((m, d) for m, d in events if "step" in d or _STEP.search(m)), None)
        if metrics is not None:
            message, data = metrics
            found = _STEP.search(message)
            step = int(data.get("step") or (found.group(1) if found else 0))
            total = int(found.group(2)) if found else None
            if total and job.n_epochs:
                epoch = min(job.n_epochs, -(-step * job.n_epochs // total))
                parts.append(f"epoch {epoch}/{job.n_epochs}")
            parts.append(f"Step {step}/{total}" if total else f"Step {step}")
            if data.get("train_loss") is not None:
                parts.append(f"loss {float(data['train_loss']):.4f}")
        elif events:
            parts.append(events[0][0])
        if job.estimated_finish:
            parts.append("ETA " + time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(job.estimated_finish)))
    return " · ".join(parts)


def plan_job(ctx: Ctx, job: Resource[FineTuningJobSpec]) -> None:
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
    spec_hash = job_hash(ctx, job, base_model)
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
    unlabelled = _unlabelled_twin(ctx, job, base_model)
    if unlabelled is not None:
        why = (f"{unlabelled.id} was trained on this spec's uploaded data but carries no ftops metadata (Foundry "
               "dropped it, or someone submitted it by hand); ftops cannot tell whether it is this spec's job and "
               "will not submit another. Cancel or rename it (or change the spec) to proceed")
        state.blocked = why
        ctx.add(Action(f"{aid}:no-op", "FineTuningJob", name, "no-op", why, blocked=why,
                       params={"job_id": unlabelled.id}))
        return
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


def _unlabelled_twin(ctx: Ctx, job: Resource[FineTuningJobSpec], base_model: str) -> LiveJob | None:
    """A live job with no ftops metadata on the same base model, suffix and uploaded training file."""
    file = ctx.dataset_files.get(job.spec.training_data)
    if file is None:
        return None
    for j in ctx.snap.jobs:
        if ident.META_HASH not in j.metadata and j.training_file == file.id and j.model == base_model \
                and (j.suffix or None) == job.spec.suffix and j.status != "cancelled":
            return j
    return None


def _job_changes(ctx: Ctx, job: Resource[FineTuningJobSpec], live: list[LiveJob], base_model: str) -> dict[str, Any]:
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
