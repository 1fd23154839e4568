"""FoundryClient: the only code in ftops that talks to Azure (data plane via openai, deployments via ARM)."""

from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import IO, Any

import openai
from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient
from azure.mgmt.cognitiveservices.models import Deployment, DeploymentModel, DeploymentProperties, Sku

from .._exceptions import FoundryError, PermanentFoundryError, TemporaryFoundryError
from ._errors import RetryPolicy, call, classify
from ._models import LiveCheckpoint, LiveDeployment, LiveFile, LiveJob, Snapshot
from ._wire import JobRequest, LiveEvent, arm_sku, parse_event

PAGE = 100
PART_BYTES = 32 * 1024 * 1024  # files above this size go through the Uploads API, in parts of this size (max 64 MB)
Progress = Callable[[int], None]


def _date(value: str | None) -> float | None:
    """An HTTP Date header as a timestamp (None when absent or unreadable)."""
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None


class _ProgressReader:
    """A file wrapper that reports bytes read, so uploads stream (never whole in memory) with progress."""

    def __init__(self, f: IO[bytes], progress: Progress | None) -> None:
        self._f = f
        self._progress = progress

    def read(self, n: int = -1) -> bytes:
        data = self._f.read(n)
        if self._progress is not None and data:
            self._progress(len(data))
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._f.seek(offset, whence)

    def tell(self) -> int:
        return self._f.tell()


class FoundryClient:
    def __init__(self, oai: openai.OpenAI, arm: CognitiveServicesManagementClient, *, resource_group: str,
                 account: str, endpoint: str, policy: RetryPolicy | None = None, poll_interval: float = 5.0,
                 on_close: Callable[[], None] | None = None) -> None:
        self.oai = oai
        self.arm = arm
        self.resource_group = resource_group
        self.account = account
        self.endpoint = endpoint
        self.policy = policy or RetryPolicy()
        self.poll_interval = poll_interval
        self._on_close = on_close
        self._lock = threading.Lock()
        self.api_calls = 0
        self.part_bytes = PART_BYTES
        self.server_time: float | None = None  # the service's clock (its Date header), as last seen

    @property
    def target(self) -> str:
        """The account this client manages, stable across runs (plans record it)."""
        return f"{self.arm._config.subscription_id}/{self.resource_group}/{self.account}"

    def _count(self) -> None:
        with self._lock:
            self.api_calls += 1

    def _call(self, fn: Callable[[], Any], what: str, *, idempotent: bool = True) -> Any:
        return call(fn, what, self.policy, idempotent=idempotent, on_call=self._count)

    def close(self) -> None:
        if self._on_close is not None:
            self._on_close()
            self._on_close = None

    # -- reading -----------------------------------------------------------------------------
    def list_files(self) -> list[LiveFile]:
        out: list[LiveFile] = []
        after: str | None = None
        while True:
            kwargs: dict[str, Any] = {"limit": PAGE, "purpose": "fine-tune"}
            if after:
                kwargs["after"] = after
            raw = self._call(partial(self.oai.files.with_raw_response.list, **kwargs), "list files")
            self.server_time = _date(raw.headers.get("date")) or self.server_time
            page = raw.parse()
            out.extend(LiveFile.parse(f) for f in page.data)
            if not page.data or not getattr(page, "has_more", False):
                return out
            after = page.data[-1].id

    def list_jobs(self, metadata: dict[str, str] | None = None, created_after: int | None = None) -> list[LiveJob]:
        """All jobs, newest first; with `created_after`, stop paging once older jobs are reached."""
        out: list[LiveJob] = []
        after: str | None = None
        while True:
            kwargs: dict[str, Any] = {"limit": PAGE}
            if after:
                kwargs["after"] = after
            if metadata:
                kwargs["metadata"] = metadata
            page = self._call(partial(self.oai.fine_tuning.jobs.list, **kwargs), "list fine-tuning jobs")
            out.extend(LiveJob.parse(j) for j in page.data)
            if not page.data or not page.has_more:
                break
            if created_after is not None and out[-1].created_at < created_after:
                break
            after = page.data[-1].id
        # Filter here too: a server that ignores the metadata filter must not make us adopt a stranger's job.
        return [j for j in out if (created_after is None or j.created_at >= created_after)
                and all(j.metadata.get(k) == v for k, v in (metadata or {}).items())]

    def list_deployments(self) -> list[LiveDeployment]:
        def fetch() -> list[LiveDeployment]:
            pager = self.arm.deployments.list(self.resource_group, self.account)
            out: list[LiveDeployment] = []
            for page in pager.by_page():
                self._count()  # every page after the first is one more call
                out.extend(LiveDeployment.parse(d) for d in page)
            return out
        result: list[LiveDeployment] = self._call(fetch, "list deployments")
        self.api_calls -= 1  # the first page was counted by _call and by fetch
        return result

    def snapshot(self) -> Snapshot:
        start = self.api_calls
        snap = Snapshot(files=self.list_files(), jobs=self.list_jobs(), deployments=self.list_deployments())
        snap.api_calls = self.api_calls - start
        snap.server_time = self.server_time
        return snap

    def get_job(self, job_id: str) -> LiveJob:
        return LiveJob.parse(self._call(lambda: self.oai.fine_tuning.jobs.retrieve(job_id), f"read job {job_id}"))

    def get_file(self, file_id: str) -> LiveFile:
        return LiveFile.parse(self._call(lambda: self.oai.files.retrieve(file_id), f"read file {file_id}"))

    def checkpoints(self, job_id: str) -> list[LiveCheckpoint]:
        page = self._call(lambda: self.oai.fine_tuning.jobs.checkpoints.list(job_id, limit=PAGE),
                          f"list checkpoints of {job_id}")
        return [LiveCheckpoint.parse(c) for c in page.data]

    def latest_events(self, job_id: str, limit: int = 10) -> list[LiveEvent]:
        """The newest events of a job, newest first."""
        page = self._call(lambda: self.oai.fine_tuning.jobs.list_events(job_id, limit=limit),
                          f"read events of {job_id}")
        return [parse_event(str(e.message), dict(getattr(e, "data", None) or {})) for e in page.data]

    # -- files -------------------------------------------------------------------------------
    def upload(self, path: Path, filename: str, progress: Progress | None = None) -> LiveFile:
        """Upload once. After an ambiguous failure, adopt a file the attempt may have created.

        Files larger than `part_bytes` go through the Uploads API in parts, so a network failure
        costs one part, not the whole file; smaller ones in one streamed multipart request.
        """
        size = path.stat().st_size
        for attempt in range(self.policy.attempts):
            try:
                if size > self.part_bytes:
                    return self._upload_in_parts(path, filename, size, progress)
                with open(path, "rb") as f:
                    reader = _ProgressReader(f, progress)
                    self._count()
                    created = self.oai.files.create(file=(filename, reader, "application/jsonl"),  # type: ignore[arg-type]
                                                    purpose="fine-tune")
                return LiveFile.parse(created)
            except Exception as e:
                err = classify(e, f"upload {filename}")
                if not err.retryable or attempt + 1 >= self.policy.attempts:
                    raise err from None
                adopted = [f for f in self.list_files() if f.filename == filename and f.bytes == size]
                if adopted:
                    return adopted[0]
                time.sleep(self.policy.delay(attempt, err.retry_after))
        raise TemporaryFoundryError(f"upload {filename}: gave up")

    def _upload_in_parts(self, path: Path, filename: str, size: int, progress: Progress | None) -> LiveFile:
        upload = self._call(lambda: self.oai.uploads.create(filename=filename, purpose="fine-tune", bytes=size,
                                                            mime_type="application/jsonl"),
                            f"start upload of {filename}", idempotent=False)
        part_ids: list[str] = []
        with open(path, "rb") as f:
            while chunk := f.read(self.part_bytes):
                # A retried part may leave an extra part behind; only the ids listed at completion count.
                part = self._call(partial(self.oai.uploads.parts.create, upload.id, data=chunk),
                                  f"upload part {len(part_ids) + 1} of {filename}")
                part_ids.append(part.id)
                if progress is not None:
                    progress(len(chunk))
        done = self._call(lambda: self.oai.uploads.complete(upload.id, part_ids=part_ids),
                          f"complete upload of {filename}", idempotent=False)
        if done.file is None:
            raise TemporaryFoundryError(f"upload of {filename} completed without a file")
        return LiveFile.parse(done.file)

    def wait_file(self, file_id: str, timeout: float = 3600) -> LiveFile:
        deadline = time.monotonic() + timeout
        while True:
            f = self.get_file(file_id)
            if f.status not in ("pending", "uploaded", "running"):
                return f
            if time.monotonic() > deadline:
                raise TemporaryFoundryError(f"file {file_id} still {f.status} after {timeout:.0f}s")
            time.sleep(self.poll_interval)

    def delete_file(self, file_id: str) -> None:
        try:
            self._call(lambda: self.oai.files.delete(file_id), f"delete file {file_id}")
        except PermanentFoundryError as e:
            if "404" not in str(e):
                raise

    # -- jobs --------------------------------------------------------------------------------
    def create_job(self, request: JobRequest, identity: dict[str, str]) -> LiveJob:
        """Create a job once. `identity` (metadata subset) finds what an ambiguous attempt created."""
        body, extra = request.body()
        for attempt in range(self.policy.attempts):
            try:
                job = self._call(lambda: self.oai.fine_tuning.jobs.create(**body, extra_body=extra),
                                 f"create job {identity}", idempotent=False)
                return LiveJob.parse(job)
            except FoundryError as err:
                if not err.retryable or attempt + 1 >= self.policy.attempts:
                    raise
                existing = [j for j in self.list_jobs(metadata=identity) if j.status != "cancelled"]
                if existing:
                    return min(existing, key=lambda j: (j.created_at, j.id))
                time.sleep(self.policy.delay(attempt, err.retry_after))
        raise TemporaryFoundryError("create job: gave up")

    def _job_transition(self, job_id: str, action: str, done: set[str]) -> LiveJob:
        fn = {"cancel": self.oai.fine_tuning.jobs.cancel, "pause": self.oai.fine_tuning.jobs.pause,
              "resume": self.oai.fine_tuning.jobs.resume}[action]
        try:
            return LiveJob.parse(self._call(lambda: fn(job_id), f"{action} job {job_id}", idempotent=False))
        except FoundryError:
            job = self.get_job(job_id)  # an earlier attempt, or someone else, may have done it already
            if job.status in done:
                return job
            raise

    def cancel_job(self, job_id: str) -> LiveJob:
        return self._job_transition(job_id, "cancel", {"cancelled", "succeeded", "failed"})

    def pause_job(self, job_id: str) -> LiveJob:
        return self._job_transition(job_id, "pause", {"paused"})

    def resume_job(self, job_id: str) -> LiveJob:
        return self._job_transition(job_id, "resume", {"running", "queued", "succeeded"})

    # -- deployments -------------------------------------------------------------------------
    def put_deployment(self, name: str, model: str, sku: str, capacity: int,
                       tags: dict[str, str]) -> LiveDeployment:
        """Create or update deployment `name`; `sku` is the spec's name (Developer, not DeveloperTier)."""
        body = Deployment(sku=Sku(name=arm_sku(sku), capacity=capacity), tags=tags,
                          properties=DeploymentProperties(model=DeploymentModel(format="OpenAI", name=model,
                                                                                version="1")))

        def put() -> LiveDeployment:  # a PUT is idempotent: safe to retry whole
            poller = self.arm.deployments.begin_create_or_update(self.resource_group, self.account, name, body,
                                                                 polling_interval=self.poll_interval)
            return LiveDeployment.parse(poller.result())
        result: LiveDeployment = self._call(put, f"deploy {name}")
        return result

    def delete_deployment(self, name: str) -> None:
        def delete() -> None:
            self.arm.deployments.begin_delete(self.resource_group, self.account, name,
                                              polling_interval=self.poll_interval).result()
        self._call(delete, f"delete deployment {name}")
