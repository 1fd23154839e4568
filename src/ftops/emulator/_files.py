"""Files and uploads of the data plane: multipart upload streamed to disk, status, limits, content."""

from __future__ import annotations

import ipaddress
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import _sim
from ._http import JSON, BadListing, bounded_limit, json_body, list_body, newest_first, openai_error
from ._http import emulator_of as _emu
from ._state import Emulator
from ._store import PageQuery

FILE_PROCESS_SECONDS = 5.0
FILES_PAGE_MAX = 10_000  # Files_List `limit`: "between 1 and 10,000, and the default is 10,000"
PURPOSES = {"fine-tune", "fine-tune-results", "assistants", "batch", "vision", "user_data", "evals"}


# -- files ----------------------------------------------------------------------------------
def file_view(f: dict[str, Any], now: float) -> dict[str, Any]:
    status = "pending" if now < f["processed_at"] else ("error" if f.get("status_details") else "processed")
    view = {k: f[k] for k in ("id", "object", "bytes", "created_at", "filename", "purpose")}
    view["status"] = status
    if status == "error":  # omitted otherwise: the schema has no null for it
        view["status_details"] = f["status_details"]
    return view


def inspect_jsonl(path: Path) -> tuple[int, int, str | None]:
    """(examples, approximate tokens, first error) of an uploaded JSONL file, read in a stream."""
    examples = tokens = 0
    with open(path, "rb") as f:
        head = f.read(3)
        if head != b"\xef\xbb\xbf":
            f.seek(0)
        for n, line in enumerate(f, 1):
            if not line.strip():
                return examples, tokens, f"Invalid file format. Line {n}: empty line."
            try:
                rec = orjson.loads(line)
            except orjson.JSONDecodeError as e:
                return examples, tokens, f"Invalid file format. Line {n}: {e.msg}."
            if not isinstance(rec, dict):
                return examples, tokens, f"Invalid file format. Line {n}: expected a JSON object."
            examples += 1
            tokens += max(1, len(line) // 4)  # an estimate: the emulator carries no tokenizer
    return examples, tokens, None


async def _store_file(emu: Emulator, source: Path | UploadFile, filename: str, purpose: str,
                      size: int | None = None) -> dict[str, Any] | JSON:
    fid = emu.new_id("file-")
    dest = emu.store.blob_dir / fid
    if isinstance(source, Path):
        await run_in_threadpool(os.replace, source, dest)
    else:
        def copy() -> None:
            with open(dest, "wb") as out:
                shutil.copyfileobj(source.file, out, 8 * 1024 * 1024)
        await run_in_threadpool(copy)
    size = dest.stat().st_size
    with emu.store.tx() as c:
        limits = emu.store.limits(c)
        count, total = emu.store.totals(c, "file", "bytes")
        problem = None
        if size > limits["max_file_bytes"]:
            problem = f"File size {size} exceeds the limit of {limits['max_file_bytes']} bytes."
        elif count >= limits["max_files"]:
            problem = f"The maximum number of files ({limits['max_files']}) has been reached for this resource."
        elif total + size > limits["max_total_file_bytes"]:
            problem = f"The total size of files would exceed {limits['max_total_file_bytes']} bytes."
    if problem:
        dest.unlink(missing_ok=True)
        return openai_error(400, problem, "quotaExceeded", "file")
    examples, tokens, error = (0, 0, None)
    if purpose == "fine-tune":
        examples, tokens, error = await run_in_threadpool(inspect_jsonl, dest)
    with emu.store.tx() as c:
        now = emu.store.now(c)
        rec = {"id": fid, "object": "file", "bytes": size, "created_at": int(now), "filename": filename,
               "purpose": purpose, "processed_at": now + FILE_PROCESS_SECONDS / emu.speed,
               "status_details": error, "examples": examples, "tokens": tokens}
        emu.store.put(c, "file", fid, rec)
        return file_view(rec, now)


async def create_file(request: Request) -> Response:
    emu = _emu(request)
    try:
        form = await request.form(max_part_size=1024 * 1024)
    except Exception as e:  # malformed multipart
        return openai_error(400, f"Invalid multipart body: {e}")
    upload, purpose = form.get("file"), form.get("purpose")
    if not isinstance(upload, UploadFile):
        return openai_error(400, "Missing required parameter: 'file'.", param="file")
    if purpose not in PURPOSES:
        return openai_error(400, f"Invalid purpose {purpose!r}.", param="purpose")
    result = await _store_file(emu, upload, upload.filename or "upload.jsonl", str(purpose))
    await form.close()
    return result if isinstance(result, Response) else JSON(result)


# -- import from a URL ---------------------------------------------------------------------
IMPORT_CONNECT_SECONDS = 10.0
IMPORT_READ_SECONDS = 60.0
IMPORT_REDIRECTS = 5


class _FetchFailed(Exception):
    """The content_url could not be fetched; the file is then stored in status `error` with this reason."""


def _loopback(url: object) -> bool:
    """An http(s) URL to 127.0.0.0/8, ::1 or localhost: all the local Foundry fetches (it must not reach
    out of the machine it runs on for whoever can call it)."""
    if not isinstance(url, str):
        return False
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or "@" in parts.netloc:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _fetch(url: str, dest: Path, limit: int) -> None:
    """GET `url` into `dest` (redirects followed only to loopback), at most `limit` bytes. Runs on a thread."""
    import httpx  # only an import needs it: the server starts without it

    timeout = httpx.Timeout(IMPORT_READ_SECONDS, connect=IMPORT_CONNECT_SECONDS)
    with httpx.Client(follow_redirects=False, trust_env=False, timeout=timeout,
                      headers={"User-Agent": "ftops-local-foundry"}) as client:
        for _ in range(IMPORT_REDIRECTS + 1):
            try:
                with client.stream("GET", url) as response:
                    location = response.headers.get("location")
                    if response.status_code in (301, 302, 303, 307, 308) and location:
                        url = urljoin(url, location)
                        if not _loopback(url):
                            raise _FetchFailed("content_url redirected outside the local machine.")
                        continue
                    if response.status_code != 200:
                        raise _FetchFailed(f"Failed to download content_url: HTTP {response.status_code}.")
                    _save(response.iter_bytes(1024 * 1024), dest, limit)
                    return
            except httpx.HTTPError as e:
                raise _FetchFailed(f"Failed to download content_url: {type(e).__name__}.") from None
        raise _FetchFailed("content_url redirected too many times.")


def _save(pieces: Iterator[bytes], dest: Path, limit: int) -> None:
    size = 0
    with open(dest, "wb") as out:
        for piece in pieces:
            size += len(piece)
            if size > limit:
                raise _FetchFailed(f"File size exceeds the limit of {limit} bytes.")
            out.write(piece)


async def import_file(request: Request) -> Response:
    """Files - Import: Foundry fetches `content_url` itself and answers 201 with the file `pending`; it is
    processed like an upload (`processed`, or `error` with `status_details`), also when the fetch fails."""
    emu = _emu(request)
    body = await json_body(request)
    if body is None:
        return openai_error(400, "The request body must be a JSON object.")
    url, filename, purpose = body.get("content_url"), body.get("filename"), body.get("purpose")
    if not isinstance(url, str) or not url:
        return openai_error(400, "Missing required parameter: 'content_url'.", "invalidPayload", "content_url")
    if not _loopback(url):
        # Quoting the URL as given, as a service may: ftops must not show what comes back (its query is a SAS).
        return openai_error(400, f"Cannot import from {str(url)[:2000]}: the local Foundry imports only from "
                                 "loopback http(s) URLs (127.0.0.1, ::1, localhost).", "invalidPayload", "content_url")
    if not isinstance(filename, str) or not filename:
        return openai_error(400, "Missing required parameter: 'filename'.", "invalidPayload", "filename")
    if purpose not in PURPOSES:
        return openai_error(400, f"Invalid purpose {purpose!r}.", param="purpose")
    tmp = emu.store.blob_dir / f"{emu.new_id('import-')}.part"
    with emu.store.tx() as c:
        limit = emu.store.limits(c)["max_file_bytes"]
    try:
        await run_in_threadpool(_fetch, url, tmp, limit)
        result = await _store_file(emu, tmp, filename, str(purpose))
    except _FetchFailed as e:
        tmp.unlink(missing_ok=True)
        result = _store_failed(emu, filename, str(purpose), str(e))
    if isinstance(result, Response):
        return result
    location = request.url.replace(path=request.url.path.rsplit("/", 1)[0] + f"/{result['id']}")
    return JSON(result, status_code=201, headers={"Location": str(location)})


def _store_failed(emu: Emulator, filename: str, purpose: str, message: str) -> dict[str, Any]:
    """A file whose import failed: listed, `pending` for a while, then `error` with the reason (no content)."""
    fid = emu.new_id("file-")
    (emu.store.blob_dir / fid).write_bytes(b"")
    with emu.store.tx() as c:
        now = emu.store.now(c)
        rec = {"id": fid, "object": "file", "bytes": 0, "created_at": int(now), "filename": filename,
               "purpose": purpose, "processed_at": now + FILE_PROCESS_SECONDS / emu.speed,
               "status_details": message, "examples": 0, "tokens": 0}
        emu.store.put(c, "file", fid, rec)
        return file_view(rec, now)


def list_files(request: Request) -> Response:
    """One page of files, newest first unless `order=asc`: `limit` 1 to 10,000 (default 10,000); outside
    that, or another order, is a 400 (docs/emulator.md cites the specs). Reads the page, not every file."""
    emu = _emu(request)
    purpose = request.query_params.get("purpose")
    try:
        query = PageQuery(limit=bounded_limit(request, FILES_PAGE_MAX, FILES_PAGE_MAX, clamp=False),
                          after=request.query_params.get("after"), newest_first=newest_first(request, "desc"),
                          equal={"purpose": purpose} if purpose is not None else {})
    except BadListing as e:
        return e.answer
    with emu.store.tx() as c:
        now = emu.store.now(c)
        page, more = emu.store.page(c, "file", query)
    return list_body([file_view(f, now) for f in page], more, with_ids=True)


def retrieve_file(request: Request) -> Response:
    emu = _emu(request)
    with emu.store.tx() as c:
        f = emu.store.get(c, "file", request.path_params["file_id"])
        if f is None:
            return openai_error(404, f"File {request.path_params['file_id']} not found.", "fileNotFound")
        return JSON(file_view(f, emu.store.now(c)))


def delete_file(request: Request) -> Response:
    emu = _emu(request)
    fid = request.path_params["file_id"]
    with emu.store.tx() as c:
        if emu.store.get(c, "file", fid) is None:
            return openai_error(404, f"File {fid} not found.", "fileNotFound")
        emu.store.delete(c, "file", fid)
    (emu.store.blob_dir / fid).unlink(missing_ok=True)
    return JSON({"id": fid, "object": "file", "deleted": True})


def file_content(request: Request) -> Response:
    emu = _emu(request)
    fid = request.path_params["file_id"]
    with emu.store.tx() as c:
        f = emu.store.get(c, "file", fid)
        if f is None:
            return openai_error(404, f"File {fid} not found.", "fileNotFound")
        if f.get("job_id"):  # results.csv is generated from the job, deterministically
            job = emu.store.get(c, "job", f["job_id"])
            assert job is not None
            return Response(_sim.results_csv(job), media_type="text/csv")
    from starlette.responses import FileResponse
    return FileResponse(emu.store.blob_dir / fid, media_type="application/octet-stream")


# -- uploads --------------------------------------------------------------------------------
def _upload_view(u: dict[str, Any], file: dict[str, Any] | None) -> dict[str, Any]:
    view = {k: u[k] for k in ("id", "object", "bytes", "created_at", "filename", "purpose", "status",
                              "expires_at")}
    view["file"] = file
    return view


async def create_upload(request: Request) -> Response:
    emu = _emu(request)
    body = await json_body(request)
    if body is None or not {"filename", "purpose", "bytes", "mime_type"} <= body.keys():
        return openai_error(400, "filename, purpose, bytes and mime_type are required.")
    with emu.store.tx() as c:
        now = emu.store.now(c)
        if int(body["bytes"]) > emu.store.limits(c)["max_file_bytes"]:
            return openai_error(400, "The upload is larger than the file size limit.", "quotaExceeded", "bytes")
        uid = emu.new_id("upload_")
        u = {"id": uid, "object": "upload", "bytes": int(body["bytes"]), "created_at": int(now),
             "filename": body["filename"], "purpose": body["purpose"], "status": "pending",
             "expires_at": int(now + 3600), "parts": []}
        emu.store.put(c, "upload", uid, u)
    return JSON(_upload_view(u, None))


async def add_upload_part(request: Request) -> Response:
    emu = _emu(request)
    uid = request.path_params["upload_id"]
    form = await request.form(max_part_size=1024 * 1024)
    data = form.get("data")
    if not isinstance(data, UploadFile):
        return openai_error(400, "Missing required parameter: 'data'.", param="data")
    pid = emu.new_id("part_")
    dest = emu.store.blob_dir / pid

    def copy() -> None:
        with open(dest, "wb") as out:
            shutil.copyfileobj(data.file, out, 8 * 1024 * 1024)
    await run_in_threadpool(copy)
    await form.close()
    with emu.store.tx() as c:
        u = emu.store.get(c, "upload", uid)
        if u is None or u["status"] != "pending":
            dest.unlink(missing_ok=True)
            return openai_error(404 if u is None else 400, f"Upload {uid} is not pending.")
        u["parts"].append(pid)
        emu.store.put(c, "upload", uid, u)
        now = emu.store.now(c)
    return JSON({"id": pid, "object": "upload.part", "created_at": int(now), "upload_id": uid})


async def complete_upload(request: Request) -> Response:
    emu = _emu(request)
    uid = request.path_params["upload_id"]
    body = await json_body(request) or {}
    with emu.store.tx() as c:
        u = emu.store.get(c, "upload", uid)
    if u is None:
        return openai_error(404, f"Upload {uid} not found.")
    if u["status"] != "pending":
        return openai_error(400, f"Upload {uid} is {u['status']}.")
    part_ids = body.get("part_ids") or []
    if any(p not in u["parts"] for p in part_ids):
        return openai_error(400, "part_ids names a part that is not in this upload.", param="part_ids")
    tmp = emu.store.blob_dir / f"{uid}.assembling"

    def assemble() -> int:
        with open(tmp, "wb") as out:
            for pid in part_ids:
                with open(emu.store.blob_dir / pid, "rb") as src:
                    shutil.copyfileobj(src, out, 8 * 1024 * 1024)
        return tmp.stat().st_size
    size = await run_in_threadpool(assemble)
    if size != u["bytes"]:
        tmp.unlink(missing_ok=True)
        return openai_error(400, f"The uploaded parts total {size} bytes, but the upload declared {u['bytes']}.")
    result = await _store_file(emu, tmp, u["filename"], u["purpose"])
    if isinstance(result, Response):
        return result
    with emu.store.tx() as c:
        u["status"] = "completed"
        u["file_id"] = result["id"]
        emu.store.put(c, "upload", uid, u)
    for pid in u["parts"]:
        (emu.store.blob_dir / pid).unlink(missing_ok=True)
    return JSON(_upload_view(u, result))


def cancel_upload(request: Request) -> Response:
    emu = _emu(request)
    uid = request.path_params["upload_id"]
    with emu.store.tx() as c:
        u = emu.store.get(c, "upload", uid)
        if u is None:
            return openai_error(404, f"Upload {uid} not found.")
        if u["status"] != "pending":
            return openai_error(400, f"Upload {uid} is {u['status']}.")
        u["status"] = "cancelled"
        emu.store.put(c, "upload", uid, u)
    for pid in u["parts"]:
        (emu.store.blob_dir / pid).unlink(missing_ok=True)
    return JSON(_upload_view(u, None))


ROUTES = [
    Route("/openai/v1/files", create_file, methods=["POST"]),
    Route("/openai/v1/files/import", import_file, methods=["POST"]),
    Route("/openai/v1/files", list_files, methods=["GET"]),
    Route("/openai/v1/files/{file_id}", retrieve_file, methods=["GET"]),
    Route("/openai/v1/files/{file_id}", delete_file, methods=["DELETE"]),
    Route("/openai/v1/files/{file_id}/content", file_content, methods=["GET"]),
    Route("/openai/v1/uploads", create_upload, methods=["POST"]),
    Route("/openai/v1/uploads/{upload_id}/parts", add_upload_part, methods=["POST"]),
    Route("/openai/v1/uploads/{upload_id}/complete", complete_upload, methods=["POST"]),
    Route("/openai/v1/uploads/{upload_id}/cancel", cancel_upload, methods=["POST"]),
]
