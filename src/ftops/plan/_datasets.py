"""Planning datasets: reuse an uploaded file with the same bytes, wait on a pending one, or upload."""

from __future__ import annotations

from ..spec import FineTuningJobSpec, Resource
from . import _identity as ident
from ._context import Ctx
from ._jobs import job_hash
from ._model import Action


def plan_datasets(ctx: Ctx) -> None:
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


def _live_job_hashes(ctx: Ctx) -> set[str]:
    return {j.metadata.get(ident.META_HASH, "") for j in ctx.snap.jobs
            if j.metadata.get(ident.META_PROJECT) == ctx.project}


def _spec_hash_guess(ctx: Ctx, job: Resource[FineTuningJobSpec]) -> str | None:
    # Only for the "was this file deleted behind our back" heuristic: base-model jobs hash directly.
    if isinstance(job.spec.base_model, str):
        return job_hash(ctx, job, job.spec.base_model)
    return None
