"""One function per action type: what apply does for it. Every step is safe to repeat."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import _urls as urls
from .._exceptions import FoundryNotFound, FtopsError, PermanentFoundryError, PlanNotApproved, StalePlanError
from ..datasets import UrlRefused, hash_file, head_url
from ..foundry import (
    CHAT,
    DEPLOYMENTS_DELETE,
    DEPLOYMENTS_WRITE,
    EVALS_WRITE,
    FILES_DELETE,
    FILES_WRITE,
    FINE_TUNES_WRITE,
    RAI_POLICIES_DELETE,
    RAI_POLICIES_WRITE,
    DeploymentWrite,
    storage_headers,
)
from ..plan import (
    Action,
    CancelJob,
    CreateJob,
    DeleteDeployment,
    DeleteFile,
    DeleteRaiPolicy,
    EvaluateCandidates,
    ImportDataset,
    PauseJob,
    Promote,
    PutRaiPolicy,
    ResumeJob,
    RollOut,
    UploadDataset,
    WaitFile,
    WaitJob,
    needs_checkpoints,
    override_tags,
    policy_write,
    rai_policy_hash,
    resolve_model,
    rollout_tags,
    submission,
)
from ._evaluate import confirm, evaluate, verdict_of
from ._runtime import DEAD_FILE, Deferred, Runtime, first_look, oldest_upload, settle_upload


class DataChanged(StalePlanError):
    """A dataset's bytes are not the bytes the plan was made for."""


def _stat(path: Path) -> tuple[int, int, int, int]:
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino


def upload(rt: Runtime, a: UploadDataset) -> str:
    path = rt.checked.project.root / a.path
    # Re-hash the bytes about to be sent, and refuse if they changed since the plan (or during the upload).
    before = _stat(path)
    if before[0] != a.bytes or hash_file(path) != a.sha256:
        raise DataChanged(f"dataset {a.name}: {a.path} is not the file the plan was made for (its sha256 "
                          "changed); plan again")
    f = rt.client.upload(path, a.filename, progress=lambda n: rt.reporter.progress(a, n, a.bytes))
    if _stat(path) != before:
        rt.client.delete_file(f.id)
        raise DataChanged(f"dataset {a.name}: {a.path} changed while it was being uploaded; the upload was "
                          "deleted; plan again")
    if f.status != "processed":
        f = rt.client.wait_file(f.id, stop=rt.stop, on_status=lambda text: rt.reporter.status(a, text),
                              on_outage=lambda text: rt.reporter.warn(a, text))
    if f.status != "processed":
        raise FtopsError(f"Foundry rejected {f.id}: {f.status_details or f.status}")
    f = settle_upload(rt, f)
    with rt.lock:
        rt.files[a.name] = f.id
    return f"uploaded {f.id}"


def import_dataset(rt: Runtime, a: ImportDataset) -> str:
    """Have Foundry fetch the dataset's URL (its SAS expanded only for this request), wait until it is
    processed, and keep the oldest import of that name (racing applies), as an upload does."""
    url = rt.checked.import_url(a.name)  # verify_plan / the planner checked the plan was made for it
    _same_remote(a, url)
    f = rt.client.import_file(url, a.filename)
    if f.status != "processed":
        f = rt.client.wait_file(f.id, stop=rt.stop, on_status=lambda text: rt.reporter.status(a, text),
                                on_outage=lambda text: rt.reporter.warn(a, text))
    if f.status != "processed":
        raise FtopsError(f"Foundry rejected {f.id}: {f.status_details or f.status}")
    if f.bytes and f.bytes != a.bytes:  # Foundry fetched other bytes than ftops validated: never train on them
        rt.client.delete_file(f.id)
        raise DataChanged(f"dataset {a.name}: Foundry imported {f.bytes:,} bytes, the plan was made for "
                          f"{a.bytes:,}; the import was deleted; plan again")
    f = settle_upload(rt, f)
    with rt.lock:
        rt.files[a.name] = f.id
    return f"imported {f.id}"


def _same_remote(a: ImportDataset, url: str) -> None:
    """Refuse when a HEAD shows another version than the plan's (its ETag or size). The content itself is
    hashed again by the validation every apply starts with; this narrows the window up to the import."""
    if a.etag is None or (a.identity == "sha256" and a.etag.startswith("W/")):
        return  # a weak ETag may change with nothing changed: the content's hash is the identity there
    try:
        head = head_url(url, auth=storage_headers)
    except UrlRefused as e:
        if a.identity == "etag":
            raise DataChanged(f"dataset {a.name}: {e.message}; plan again") from None
        return  # a server that reads but does not answer HEAD: the plan's hash was made moments ago
    if head.etag != a.etag or (head.size is not None and head.size != a.bytes):
        raise DataChanged(f"dataset {a.name}: {urls.shown(url)} changed since the plan was made (its ETag or "
                          "size); plan again")


def wait_file(rt: Runtime, a: WaitFile) -> str:
    """Wait for a pending upload (maybe a concurrent apply's), then use the upload of that name that survives."""
    try:
        f = rt.client.wait_file(a.file_id, stop=rt.stop, on_status=lambda text: rt.reporter.status(a, text),
                                on_outage=lambda text: rt.reporter.warn(a, text))
    except FoundryNotFound:  # deleted meanwhile: the apply that uploaded it kept an older twin
        f = None
    survivor = oldest_upload(rt, a.filename, f.created_at if f else 0, f if f and f.status not in DEAD_FILE else None)
    if survivor is None:
        raise FtopsError(f"{a.file_id} is gone and no other upload of {a.filename} exists; run apply again")
    if survivor.status != "processed":
        survivor = rt.client.wait_file(survivor.id, stop=rt.stop)
    if survivor.status != "processed":
        raise FtopsError(f"Foundry rejected {survivor.id}: {survivor.status_details or survivor.status}")
    with rt.lock:
        rt.files[a.name] = survivor.id
    return f"{survivor.id} processed"


def create_job(rt: Runtime, a: CreateJob) -> str:
    """Submit the plan's job request: the base job's model and the file ids uploads yielded filled in."""
    base_model = a.request.base_model
    if base_model is None:
        assert a.base_job is not None and a.base_hash is not None  # the plan file validator checked it
        base_model = rt.await_job(a, a.base_job, a.base_hash).fine_tuned_model
    with rt.lock:
        files = dict(rt.files)
    missing = [f.dataset for f in a.request.files() if f.file_id is None and f.dataset not in files]
    if missing:
        raise FtopsError(f"job {a.name}: dataset {missing[0]} has no uploaded file in this run")
    rollouts = [(r.name, r.spec_hash) for r in rt.plan.actions if isinstance(r, RollOut) and r.job == a.name]
    sent = submission(rt.plan.project, a.name, a.request, str(base_model), files,
                      rollouts if rt.wait_jobs else (),  # this apply rolls them out when the job finishes
                      source=rt.plan.provenance)  # the reviewed plan's commit, not the checkout's now
    if a.spec_hash is not None and sent.content_hash != a.spec_hash:
        raise PlanNotApproved(f"job {a.name}: the plan's job request is not the one its identity was made for; "
                              "refusing it")
    sent.request.metadata.update(override_tags(rt.plan, a.id))  # the soft-mandatory policy an override let through
    if a.spec_hash is None:
        # The hash was not known at plan time (the base job had not finished): look before creating.
        existing = [j for j in rt.client.list_jobs(metadata=sent.lookup) if j.status != "cancelled"]
        if existing and not a.retry:
            job = min(existing, key=lambda j: (j.created_at, j.id))
            with rt.lock:
                rt.jobs[a.name] = job
            return f"adopted {job.id} (created earlier for the same training content)"
    # One call. The plan's snapshot (or a saved plan's fingerprint check) showed no job for this hash;
    # a concurrent apply that created one meanwhile is settled right after creation.
    job = rt.client.create_job(sent.request, sent.identity)
    if not sent.kept_by(job.metadata):
        # Without its metadata the job cannot be found again, and every run would submit another.
        raise PermanentFoundryError(
            f"Foundry did not keep the metadata of {job.id}; ftops identifies jobs by it and would resubmit "
            "on every run, so it stops here (the next plan blocks this job's spec until this is resolved)")
    first_look(rt, job, a.name, sent.identity)  # in the background: a rival's job found then is followed instead
    return f"submitted {job.id}"


def cancel(rt: Runtime, a: CancelJob) -> str:
    job = rt.client.cancel_job(a.job_id)
    if job.status != "cancelled":
        return f"{job.id} had already {job.status}; nothing to cancel"
    return f"{job.id} is cancelled"


def pause(rt: Runtime, a: PauseJob) -> str:
    return f"{a.job_id} is {rt.client.pause_job(a.job_id).status}"


def resume(rt: Runtime, a: ResumeJob) -> str:
    return f"{a.job_id} is {rt.client.resume_job(a.job_id).status}"


def wait_job(rt: Runtime, a: WaitJob) -> str:
    job = rt.await_job(a, a.name, a.spec_hash)
    return f"{job.id} succeeded: {job.fine_tuned_model}"


def roll_out(rt: Runtime, a: RollOut) -> str:
    job = rt.await_job(a, a.job, a.job_hash)
    model, loss = a.model, a.loss
    verdict = a.verdict
    if a.gated:
        verdict = verdict_of(rt, a.name)
        if verdict is None:
            raise FtopsError(f"rollout blocked: evaluation of {a.name} has no verdict in this run")
        if not verdict.passed or verdict.winner is None:
            raise FtopsError(f"rollout blocked: {verdict.reason}; keeps serving {a.served_model or 'nothing'}")
        model, loss = verdict.winner, _loss_of(rt, job.id, verdict.winner)
    elif a.evaluation is not None and (model is None or a.job_id != job.id):
        raise StalePlanError(f"deployment {a.name}: the plan's verdict is for another job; plan again")
    elif model is None or a.job_id != job.id:
        checkpoints = rt.client.checkpoints(job.id) if needs_checkpoints(a.selector) else []
        resolved = resolve_model(job, checkpoints, a.selector, a.served_loss)
        if resolved.blocked:
            raise FtopsError(f"rollout blocked: {resolved.blocked}")
        model, loss = resolved.model, resolved.loss
    if verdict is not None and not a.gated:  # read from eval metadata, which anyone may edit: the runs decide
        verdict = confirm(rt, a, verdict)
    tags = dict(a.tags)
    if (model, loss, job.id, verdict) != (a.model, a.loss, a.job_id, a.verdict):  # resolved now, not in the plan
        tags = rollout_tags(rt.plan.project, a.name, a.spec_hash, job_id=job.id, loss=loss, model=str(model),
                            verdict=verdict, source=rt.plan.provenance)
    tags.update(override_tags(rt.plan, a.id))  # the soft-mandatory policy an override let through
    write = DeploymentWrite(str(model), a.sku, a.capacity, tags, a.model_format, a.model_version,
                            settings=a.settings, user_tags=a.user_tags, rolled_at=_now(rt))
    return _write_deployment(rt, a, write)


def promote(rt: Runtime, a: Promote) -> str:
    """Serve the model the stage before serves (the plan read it there), from its account when it is another."""
    if a.model is None:  # the stage before was still moving or soaking: a later plan knows the model
        raise Deferred(a.reason)
    tags = {**a.tags, **override_tags(rt.plan, a.id)}
    write = DeploymentWrite(a.model, a.sku, a.capacity, tags, a.model_format, a.model_version, settings=a.settings,
                            user_tags=a.user_tags, source=a.source, rolled_at=_now(rt))
    return _write_deployment(rt, a, write)


def _now(rt: Runtime) -> float:
    """When a rollout happens, on Foundry's clock as last seen (the plan's `now` is that clock too)."""
    return rt.client.server_time or time.time()


def _write_deployment(rt: Runtime, a: RollOut | Promote, write: DeploymentWrite) -> str:
    """Write `write` over deployment `a.name` (one deployment write at a time), then wait until it answers."""
    model = write.model
    with rt.deploy_lock:
        if a.action == "replace":  # serving stops in between: the plan said so, and --allow-downtime allowed it
            rt.client.replace_deployment(a.name, write)
        else:
            if a.served_model and a.served_model != model and a.served_capacity not in (None, a.capacity):
                # Azure refuses a model and a capacity change in one write: capacity first, on the served
                # model, keeping ftops' tags as they are (the deployment does not serve the new model yet).
                first = DeploymentWrite(a.served_model, a.sku, a.capacity, None, a.model_format)
                rt.client.put_deployment(a.name, first)
            rt.client.put_deployment(a.name, write)
    if a.served_model != model:  # it serves the new model only once it answers (not right after `Succeeded`)
        waited = rt.client.smoke(a.name, stop=rt.stop)
        return f"serves {model}" + (f" (answered after {waited:.0f} s)" if waited >= 1 else "")
    return f"serves {model}"


def _loss_of(rt: Runtime, job_id: str, model: str) -> float | None:
    """The validation loss of the promoted checkpoint (for later mustBeatCurrent gates)."""
    cps = sorted(rt.client.checkpoints(job_id), key=lambda c: c.step_number)
    by_id = {c.id: c.loss for c in cps}
    return by_id.get(model, cps[-1].loss if cps else None)


def delete_deployment(rt: Runtime, a: DeleteDeployment) -> str:
    with rt.deploy_lock:
        rt.client.delete_deployment(a.name)
    return "deleted"


def delete_file(rt: Runtime, a: DeleteFile) -> str:
    rt.client.delete_file(a.file_id)
    return "deleted"


def put_rai_policy(rt: Runtime, a: PutRaiPolicy) -> str:
    """Write the content filter policy's spec-set fields over the live policy (the others kept)."""
    res = rt.checked.project.rai_policies[a.name]
    if rai_policy_hash(res.spec) != a.spec_hash:
        raise StalePlanError(f"content filter policy {a.name}: the spec changed since the plan was made; plan again")
    rt.client.put_rai_policy(a.name, policy_write(rt.plan.project, res))
    return "created" if a.action == "create" else "updated"


def delete_rai_policy(rt: Runtime, a: DeleteRaiPolicy) -> str:
    rt.client.delete_rai_policy(a.name)
    return "deleted"


Step = Callable[[Runtime, Any], str]
Needs = Callable[[Any], tuple[str, ...]]


def _always(*permissions: str) -> Needs:
    return lambda _: permissions


def _rollout_needs(a: RollOut | Promote) -> tuple[str, ...]:
    # A replace deletes the deployment and creates it again; the smoke test chats with it.
    return (DEPLOYMENTS_WRITE, CHAT, *((DEPLOYMENTS_DELETE,) if a.action == "replace" else ()))


@dataclass(frozen=True)
class ApplyStep:
    """What apply does for one action type, and the RBAC actions Azure authorizes it by (reads need
    `*/read`, which every role has): `_access.py` checks them before any change."""

    run: Step
    needs: Needs


# The only table of action types in apply. An action type not listed has nothing to do (a no-op).
STEPS: dict[type[Action], ApplyStep] = {
    UploadDataset: ApplyStep(upload, _always(FILES_WRITE)),
    ImportDataset: ApplyStep(import_dataset, _always(FILES_WRITE)),
    WaitFile: ApplyStep(wait_file, _always()),
    CreateJob: ApplyStep(create_job, _always(FINE_TUNES_WRITE)),
    CancelJob: ApplyStep(cancel, _always(FINE_TUNES_WRITE)),
    PauseJob: ApplyStep(pause, _always(FINE_TUNES_WRITE)),
    ResumeJob: ApplyStep(resume, _always(FINE_TUNES_WRITE)),
    WaitJob: ApplyStep(wait_job, _always()),
    RollOut: ApplyStep(roll_out, _rollout_needs),
    Promote: ApplyStep(promote, _rollout_needs),
    DeleteDeployment: ApplyStep(delete_deployment, _always(DEPLOYMENTS_DELETE)),
    DeleteFile: ApplyStep(delete_file, _always(FILES_DELETE)),
    # canaries are deployed, chatted with and deleted; eval runs are started
    EvaluateCandidates: ApplyStep(evaluate, _always(DEPLOYMENTS_WRITE, DEPLOYMENTS_DELETE, EVALS_WRITE, CHAT)),
    PutRaiPolicy: ApplyStep(put_rai_policy, _always(RAI_POLICIES_WRITE)),
    DeleteRaiPolicy: ApplyStep(delete_rai_policy, _always(RAI_POLICIES_DELETE)),
}
RUNS: dict[type[Action], Step] = {kind: step.run for kind, step in STEPS.items()}  # what the executor runs


def needs(a: Action) -> tuple[str, ...]:
    """The RBAC actions `a` needs (none for a no-op)."""
    step = STEPS.get(type(a))
    return step.needs(a) if step is not None else ()
