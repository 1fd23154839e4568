"""One function per action type: what apply does for it. Every step is safe to repeat."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import _urls as urls
from .._exceptions import FoundryNotFound, FtopsError, PermanentFoundryError, StalePlanError
from ..datasets import UrlRefused, hash_file, head_url
from ..foundry import DeploymentWrite, storage_headers
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
    PutRaiPolicy,
    ResumeJob,
    RollOut,
    UploadDataset,
    WaitFile,
    WaitJob,
    evaluations,
    job_request,
    matching,
    needs_checkpoints,
    override_tags,
    policy_write,
    rai_policy_hash,
    resolve_model,
)
from ..spec import expand_env
from ._evaluate import confirm, evaluate, verdict_of
from ._runtime import DEAD_FILE, Runtime, first_look, oldest_upload, settle_upload


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
    ds = rt.checked.project.datasets[a.name]
    assert ds.spec.url is not None  # verify_plan / the planner checked it is the spec's url
    url = expand_env(ds.spec.url, "url", ds.path, ds.line_of("url"))
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
    base_model = a.base_model
    if base_model is None:
        assert a.base_job is not None and a.base_hash is not None  # the plan file validator checked it
        base_model = rt.await_job(a, a.base_job, a.base_hash).fine_tuned_model
    spec = rt.checked.project.jobs[a.name].spec
    files = {name: rt.files[name] for name in filter(None, (spec.training_data, spec.validation_data))}
    request, ident = job_request(rt.checked, a.name, str(base_model), files)
    if rt.wait_jobs and (marks := matching.rollout_marks(
            (r.name, r.spec_hash) for r in rt.plan.actions if isinstance(r, RollOut) and r.job == a.name)):
        request.metadata[matching.META_ROLLOUTS] = marks  # this apply rolls them out when the job finishes
    request.metadata.update(override_tags(rt.plan, a.id))  # the soft-mandatory policy an override let through
    if a.spec_hash is not None and ident[matching.META_CONTENT] != a.spec_hash:
        raise StalePlanError(f"job {a.name}: the spec or its data changed since the plan was made; plan again")
    if a.spec_hash is None:
        # The hash was not known at plan time (the base job had not finished): look before creating.
        lookup = matching.job_lookup(rt.plan.project, ident[matching.META_CONTENT])
        existing = [j for j in rt.client.list_jobs(metadata=lookup) if j.status != "cancelled"]
        if existing and not a.retry:
            job = min(existing, key=lambda j: (j.created_at, j.id))
            with rt.lock:
                rt.jobs[a.name] = job
            return f"adopted {job.id} (created earlier for the same training content)"
    # One call. The plan's snapshot (or a saved plan's fingerprint check) showed no job for this hash;
    # a concurrent apply that created one meanwhile is settled right after creation.
    job = rt.client.create_job(request, ident)
    if job.metadata.get(matching.META_CONTENT) != ident[matching.META_CONTENT]:
        # Without its metadata the job cannot be found again, and every run would submit another.
        raise PermanentFoundryError(
            f"Foundry did not keep the metadata of {job.id}; ftops identifies jobs by it and would resubmit "
            "on every run, so it stops here (the next plan blocks this job's spec until this is resolved)")
    first_look(rt, job, a.name, ident)  # in the background: a rival's job found then is followed instead
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
    spec = rt.checked.project.deployments[a.name].spec
    model, loss = a.model, a.loss
    verdict = a.verdict
    if a.gated:
        verdict = verdict_of(rt, a.name)
        if verdict is None:
            raise FtopsError(f"rollout blocked: evaluation of {a.name} has no verdict in this run")
        if not verdict.passed or verdict.winner is None:
            raise FtopsError(f"rollout blocked: {verdict.reason}; keeps serving {a.served_model or 'nothing'}")
        model, loss = verdict.winner, _loss_of(rt, job.id, verdict.winner)
    elif spec.evaluation is not None and (model is None or a.job_id != job.id):
        raise StalePlanError(f"deployment {a.name}: the plan's verdict is for another job; plan again")
    elif model is None or a.job_id != job.id:
        checkpoints = rt.client.checkpoints(job.id) if needs_checkpoints(spec) else []
        resolved = resolve_model(job, checkpoints, spec, a.served_loss)
        if resolved.blocked:
            raise FtopsError(f"rollout blocked: {resolved.blocked}")
        model, loss = resolved.model, resolved.loss
    if verdict is not None and not a.gated:  # read from eval metadata, which anyone may edit: the runs decide
        verdict = confirm(rt, a, verdict)
    tags = matching.deployment_tags(rt.plan.project, a.name, a.spec_hash, job.id, loss, str(model))
    if verdict is not None:
        tags[evaluations.TAG_VERDICT] = evaluations.verdict_tag(verdict)
        if verdict.baseline_model:
            tags[evaluations.TAG_BASELINE] = verdict.baseline_model[:256]
    tags.update(override_tags(rt.plan, a.id))  # the soft-mandatory policy an override let through
    write = DeploymentWrite(str(model), a.sku, a.capacity, tags, a.model_format, settings=a.settings,
                            user_tags=a.user_tags)
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
STEPS: dict[type[Action], Step] = {
    UploadDataset: upload, WaitFile: wait_file, CreateJob: create_job, CancelJob: cancel, PauseJob: pause,
    ResumeJob: resume, WaitJob: wait_job, RollOut: roll_out, DeleteDeployment: delete_deployment,
    DeleteFile: delete_file, EvaluateCandidates: evaluate, ImportDataset: import_dataset,
    PutRaiPolicy: put_rai_policy, DeleteRaiPolicy: delete_rai_policy,
}


def step_of(a: Action) -> Step | None:
    """What runs for `a`; None for actions with nothing to do (no-ops)."""
    return STEPS.get(type(a))
