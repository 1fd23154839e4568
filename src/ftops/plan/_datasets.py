"""Planning datasets: reuse an uploaded file with the same bytes, wait on a pending one, or upload."""

from __future__ import annotations

from pathlib import Path

from .. import _urls as urls
from ..foundry import LiveFile
from . import _matching as ident
from ._actions import ImportDataset, NoOp, UploadDataset, WaitFile
from ._adoption import adopted_file
from ._context import Ctx

PENDING_FILE = frozenset({"pending", "uploaded", "running"})


def plan_datasets(ctx: Ctx) -> None:
    for name in ctx.checked.project.datasets:
        report = ctx.checked.reports[name]
        fname = ident.file_name(ctx.project, name, report.sha256)
        candidates = sorted(ctx.index.files_named(fname), key=lambda f: (f.created_at, f.id))
        processed = [f for f in candidates if f.status == "processed"]
        pending = [f for f in candidates if f.status in PENDING_FILE]
        aid = f"dataset.{name}"
        if (adopted := adopted_file(ctx, name)) is not None:  # made outside ftops; the bytes still match
            ctx.dataset_files[name] = adopted
            ctx.add(NoOp(id=f"{aid}:no-op", kind="Dataset", name=name, live_id=adopted.id,
                         reason=f"adopted {adopted.id} (its bytes are the spec's: sha256 {report.sha256[:12]})"))
        elif processed:
            ctx.dataset_files[name] = processed[0]
            ctx.add(NoOp(id=f"{aid}:no-op", kind="Dataset", name=name, reason=f"uploaded as {processed[0].id}",
                         live_id=processed[0].id))
        elif pending:
            ctx.dataset_files[name] = pending[0]
            ctx.dataset_action[name] = ctx.add(WaitFile(
                id=f"{aid}:wait", name=name, reason=f"{pending[0].id} is still being processed by Foundry",
                file_id=pending[0].id, filename=fname, live_id=pending[0].id)).id
        elif candidates:
            why = f"Foundry rejected {candidates[-1].id}: {candidates[-1].status_details or candidates[-1].status}"
            ctx.dataset_blocked[name] = why
            ctx.add(NoOp(id=f"{aid}:no-op", kind="Dataset", name=name, reason=why, blocked=why, drift="failed",
                         live_id=candidates[-1].id))
        elif ctx.checked.project.datasets[name].spec.url is not None:
            ctx.dataset_action[name] = ctx.add(_import(ctx, name, fname)).id
        else:
            ctx.dataset_action[name] = ctx.add(_upload(ctx, name, fname)).id


def _upload(ctx: Ctx, name: str, fname: str) -> UploadDataset:
    report = ctx.checked.reports[name]
    path = ctx.checked.project.dataset_paths[name]
    deleted = _uploaded_before(ctx, name)
    reason = (f"upload {report.size:,} bytes (sha256 {report.sha256[:12]})" if deleted is None else
              f"the uploaded file {deleted.id} is missing (deleted outside ftops); upload again "
              f"(sha256 {report.sha256[:12]})")
    return UploadDataset(id=f"dataset.{name}:create", name=name, reason=reason, changes={"file": (None, fname)},
                         drift="deleted" if deleted is not None else None,
                         path=Path(path).relative_to(ctx.checked.project.root).as_posix(), filename=fname,
                         sha256=report.sha256, bytes=report.size)


def _import(ctx: Ctx, name: str, fname: str) -> ImportDataset:
    """Foundry fetches the URL itself. The reason shows the URL without its query and says what identifies
    the data: its content's sha256 when validate could read it, else its ETag and size."""
    report = ctx.checked.reports[name]
    url = ctx.checked.project.datasets[name].spec.url
    assert url is not None
    etag = report.identity == "etag"
    ident = (f"identity: ETag {report.etag} and size (not readable here)" if etag else
             f"identity: sha256 of the content {report.sha256[:12]}")
    deleted = _uploaded_before(ctx, name)
    what = (f"the imported file {deleted.id} is missing (deleted outside ftops); import again"
            if deleted is not None else f"import {report.size:,} bytes")
    return ImportDataset(id=f"dataset.{name}:create", name=name, reason=f"{what} from {urls.shown(url)} ({ident})",
                         changes={"file": (None, fname)}, drift="deleted" if deleted is not None else None,
                         url=urls.plan_form(url), filename=fname, sha256=report.sha256, bytes=report.size,
                         identity="etag" if etag else "sha256", etag=report.etag)


def _uploaded_before(ctx: Ctx, name: str) -> LiveFile | None:
    """The upload of these bytes that a live job of this project trained on, if it is gone from Foundry.

    ftops stores the data hashes with each job (`ftops-fields`); a job whose file id is no longer
    listed means the file was deleted behind ftops' back (drift), not that this is a first upload.
    """
    fid = ctx.index.deleted_uploads.get(ctx.checked.reports[name].sha256[:16])
    if fid is None:
        return None
    return LiveFile(id=fid, filename="", bytes=0, status="deleted", purpose="fine-tune", created_at=0)
