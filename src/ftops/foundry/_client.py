"""FoundryClient: the only code in ftops that talks to Azure (data plane via openai, deployments via ARM)."""

from __future__ import annotations

import contextlib
import dataclasses
import email.utils
import io
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol, TypeVar
from urllib.parse import urlsplit

import openai
import orjson
from azure.core.rest import HttpRequest
from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient
from azure.mgmt.cognitiveservices.models import Deployment
from openai.types import FileObject

from .._exceptions import (
    FoundryError,
    FoundryNotFound,
    FoundryUnreachable,
    PermanentFoundryError,
    TemporaryFoundryError,
)
from .._urls import redact_text
from ._concurrent import at_once
from ._deployments import DeploymentWrite, merged, same_owner, tag_problem, wire
from ._errors import RetryPolicy, call
from ._live_objects import LiveCheckpoint, LiveDeployment, LiveFile, LiveJob, LiveModel, LiveUsage, Snapshot
from ._permissions import PERMISSIONS_API, Permission, Permissions
from ._rai_policies import LiveRaiPolicy, RaiPolicyWrite, merged_policy
from ._timeouts import REMOTE, Timeouts
from ._wire import JobRequest, LiveEvent, parse_event

PAGE = 100
# Listing pages (docs/emulator.md cites the specs): files take up to 10,000 a page (Azure's Files_List and
# OpenAI's listFiles), newest first; Azure documents no maximum for jobs (default 20), 100 is what ftops asks.
FILES_PAGE = 10_000
JOBS_PAGE = 100
RECENT_PAGE = 100  # a run's own recent listings: small pages, stopped once older objects are reached
FIND_SKEW_SECONDS = 60  # how far before the last Date seen a look for an ambiguous upload's file begins
# A listing that has not ended after this many pages is a server whose paging loops (a nextLink or cursor that
# never ends): ftops stops rather than read forever. Azure's quotas keep real listings to a few pages.
MAX_PAGES = 1_000
MAX_PERMISSION_PAGES = 100  # one permission per role assignment: a few, even on a busy account
PART_BYTES = 32 * 1024 * 1024  # files above this size go through the Uploads API, in parts of this size (max 64 MB)
Progress = Callable[[int], None]
Status = Callable[[str], None]
if TYPE_CHECKING:
    from ._listings import EarlyRead

T = TypeVar("T")


class _HasCreated(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def created_at(self) -> int: ...


_Dated = TypeVar("_Dated", bound=_HasCreated)
FILE_BUSY = frozenset({"pending", "uploaded", "running"})  # a file Foundry is still processing
# ARM 2025-09-01's non-terminal DeploymentProvisioningState values, and "Updating", which the enum lacks but
# portals and older answers show: tolerated so that any in-flight spelling reads as busy.
DEPLOYMENT_BUSY = frozenset({"Accepted", "Creating", "Updating", "Deleting", "Moving"})
WRITE_ATTEMPTS = 3  # a deployment write merged again after an edit made between our read and our write (412)
# How long a deployment may stay Creating, Updating or Deleting after a write Azure accepted. Azure documents
# no bound; fine-tuned deployments take minutes. Past it ftops stops waiting (the write may still finish).
PROVISION_TIMEOUT = 3600.0


class _StillProvisioning(TemporaryFoundryError):
    """Azure accepted a deployment write and has not finished it in time: its outcome is unknown."""


class _Interrupted(TemporaryFoundryError):
    """Ctrl-C ended the wait for a deletion Azure accepted."""


def _answer_type() -> type[Any]:
    """The HTTP answer class of the openai version installed (httpx2's from openai 3, httpx's before), which its
    generic `get` returns as is when asked for it (`cast_to`)."""
    if int(openai.__version__.split(".")[0]) >= 3:
        import httpx2

        return httpx2.Response
    import httpx  # pragma: no cover (openai < 3)

    return httpx.Response


_HTTP_ANSWER = _answer_type()


def _date(value: str | None) -> float | None:
    """An HTTP Date header as a timestamp (None when absent or unreadable)."""
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None


class _HighWater:
    """Reports progress once per byte: a retried upload re-reads bytes already reported."""

    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress
        self._reported = 0

    def at(self, offset: int) -> None:
        if self._progress is not None and offset > self._reported:
            self._progress(offset - self._reported)
            self._reported = offset


class _ProgressReader:
    """A file wrapper that reports bytes read, so uploads stream (never whole in memory) with progress."""

    def __init__(self, f: IO[bytes], progress: _HighWater) -> None:
        self._f = f
        self._progress = progress

    def read(self, n: int = -1) -> bytes:
        data = self._f.read(n)
        self._progress.at(self._f.tell())
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._f.seek(offset, whence)

    def tell(self) -> int:
        return self._f.tell()


class FoundryClient:
    def __init__(self, oai: openai.OpenAI, arm: CognitiveServicesManagementClient, *, resource_group: str,
                 account: str, endpoint: str, policy: RetryPolicy | None = None, poll_interval: float = 5.0,
                 timeouts: Timeouts | None = None, outage_budget: float = REMOTE.outage,
                 on_close: Callable[[], None] | None = None) -> None:
        self.oai = oai
        self.arm = arm
        self.resource_group = resource_group
        self.account = account
        self.endpoint = endpoint
        self.policy = policy or RetryPolicy()
        self.poll_interval = poll_interval
        self.provision_timeout = PROVISION_TIMEOUT
        self.timeouts = timeouts or Timeouts()
        self.outage_budget = outage_budget
        self._on_close = on_close
        self._lock = threading.Lock()
        self.api_calls = 0
        self.part_bytes = PART_BYTES
        self.identity = "unknown"  # how this client authenticates, for people (never a secret)
        self.foundry_project = ""  # the Foundry project whose data plane `endpoint` is ("": the resource's)
        # The planes reached with Entra ID tokens ("data", "arm"): there Azure checks the identity's roles
        # (an API key bypasses them), so apply checks the permissions first.
        self.entra_planes: frozenset[str] = frozenset()
        self.server_time: float | None = None  # the service's clock (its Date header), as last seen
        self._stop: threading.Event | None = None  # see `stopping_on`
        self.early_read: EarlyRead | None = None  # listings being read since connecting (`_listings.start_reading`)

    @property
    def target(self) -> str:
        """The account this client manages, stable across runs (plans record it)."""
        return f"{self.arm._config.subscription_id}/{self.resource_group}/{self.account}"

    @property
    def account_id(self) -> str:
        """The ARM resource id of the account (a cross-account deployment names it as its model's `source`)."""
        return (f"/subscriptions/{self.arm._config.subscription_id}/resourceGroups/{self.resource_group}"
                f"/providers/Microsoft.CognitiveServices/accounts/{self.account}")

    def _count(self, n: int = 1) -> None:
        with self._lock:  # listings run on several threads at once (snapshot)
            self.api_calls += n

    @contextlib.contextmanager
    def stopping_on(self, stop: threading.Event) -> Iterator[None]:
        """Within: once `stop` is set (Ctrl-C), a call that failed tries no more (a back-off in progress ends at
        once) and raises its last error; requests in flight finish as they would."""
        previous, self._stop = self._stop, stop
        try:
            yield
        finally:
            self._stop = previous

    def _pause(self, seconds: float) -> bool:
        """Sleep `seconds`, or less: True at once when `stopping_on`'s event is set (the caller stops waiting)."""
        stop = self._stop
        if stop is None:
            time.sleep(seconds)
            return False
        return stop.wait(seconds)

    def _call(self, fn: Callable[[float], T], what: str, *, timeout: float, idempotent: bool = True,
              policy: RetryPolicy | None = None) -> T:
        """fn(seconds) with retries; `timeout` is the request's read timeout before the budget caps it."""
        return call(fn, what, policy or self.policy, timeout=timeout, idempotent=idempotent, on_call=self._count,
                    stop=self._stop)

    def _oai(self, seconds: float) -> openai.Timeout:
        """The openai per-request timeout: `seconds` for each read and write, a short connect."""
        return openai.Timeout(seconds, connect=min(self.timeouts.connect, seconds))

    def _page(self, fn: Callable[..., T], kwargs: dict[str, Any]) -> Callable[[float], T]:
        """fn(**kwargs) with the per-request timeout, for one page of a listing."""
        return lambda t: fn(**kwargs, timeout=self._oai(t))

    def _raw_page(self, path: str, query: dict[str, Any]) -> Callable[[float], Any]:
        """One page of a data-plane listing (`path` under the endpoint, e.g. `/files`) as the HTTP answer itself,
        through the openai client's generic GET: `_cursor_page` reads its JSON, and a listing then loads none of
        openai's resource modules (its fine-tuning resources cost a plan about 10 ms of start-up)."""
        return lambda t: self.oai.get(path, cast_to=_HTTP_ANSWER, options={"params": query, "timeout": self._oai(t)})

    def _arm(self, seconds: float) -> dict[str, Any]:
        """azure-core's per-request timeouts, passed as keyword arguments to an operation (and its polls)."""
        return {"connection_timeout": min(self.timeouts.connect, seconds), "read_timeout": seconds}

    def close(self) -> None:
        if self._on_close is not None:
            self._on_close()
            self._on_close = None

    # -- reading -----------------------------------------------------------------------------
    def list_files(self) -> list[LiveFile]:
        """Every fine-tune file, newest first, in pages of FILES_PAGE (one call up to 10,000 files)."""
        return self.recent_files(None, FILES_PAGE)[0]

    def recent_files(self, created_after: int | None, page: int = RECENT_PAGE) -> tuple[list[LiveFile], float | None]:
        """Fine-tune files created at or after `created_after` (Foundry's clock; None: all), newest first, and
        Foundry's clock when the listing began (the first page's Date header).

        Pages stop once a page reaches older files, so a run that only needs what was created since its plan
        reads a few small pages however many files the account holds.
        """
        def fetch(kwargs: dict[str, Any]) -> tuple[list[Any], bool, float | None]:
            raw = self._call(self._raw_page("/files", kwargs), "list files", timeout=self.timeouts.read)
            return (*_cursor_page(raw, "list files"), _date(raw.headers.get("date")))
        items, when = self._newest_first(fetch, {"limit": page, "purpose": "fine-tune", "order": "desc"},
                                         LiveFile.parse, created_after)
        return items, when

    def list_jobs(self, metadata: dict[str, str] | None = None, created_after: int | None = None) -> list[LiveJob]:
        """All jobs, newest first; with `created_after`, stop paging once older jobs are reached."""
        out = self.recent_jobs(created_after, metadata=metadata)[0]
        # Filter here too: a server that ignores the metadata filter must not make us adopt a stranger's job.
        return [j for j in out if all(j.metadata.get(k) == v for k, v in (metadata or {}).items())]

    def recent_jobs(self, created_after: int | None, page: int = JOBS_PAGE,
                    metadata: dict[str, str] | None = None) -> tuple[list[LiveJob], float | None]:
        """Jobs created at or after `created_after` (Foundry's clock; None: all), newest first, and Foundry's
        clock when the listing began (as `recent_files`)."""
        def fetch(kwargs: dict[str, Any]) -> tuple[list[Any], bool, float | None]:
            raw = self._call(self._raw_page("/fine_tuning/jobs", kwargs), "list fine-tuning jobs",
                             timeout=self.timeouts.read)
            return (*_cursor_page(raw, "list fine-tuning jobs"), _date(raw.headers.get("date")))
        kwargs: dict[str, Any] = {"limit": page}
        if metadata:
            kwargs["metadata"] = metadata
        return self._newest_first(fetch, kwargs, LiveJob.parse, created_after)

    def _newest_first(self, fetch: Callable[[dict[str, Any]], tuple[list[Any], bool, float | None]],
                      kwargs: dict[str, Any], parse: Callable[[Any], _Dated],
                      created_after: int | None) -> tuple[list[_Dated], float | None]:
        """Follow `after` cursors through a newest-first listing; stop at the end, or once a page reaches
        objects created before `created_after` (those are left out)."""
        out: list[_Dated] = []
        began: float | None = None
        after: str | None = None
        cursor = Cursor("a listing")
        while True:
            raw, more, when = fetch({**kwargs, "after": after} if after else kwargs)
            began = when if began is None else began
            self.server_time = when or self.server_time
            out.extend(parse(item) for item in raw)
            if not raw or not more or (created_after is not None and out[-1].created_at < created_after):
                break
            after = cursor.next(out[-1].id)
        if created_after is not None:
            out = [o for o in out if o.created_at >= created_after]
        return out, began

    def list_deployments(self) -> list[LiveDeployment]:
        def fetch(t: float) -> list[LiveDeployment]:
            pager = self.arm.deployments.list(self.resource_group, self.account, **self._arm(t))
            out: list[LiveDeployment] = []
            for page in _bounded(pager.by_page(), "list deployments"):
                self._count()  # every page after the first is one more call
                out.extend(LiveDeployment.parse(d) for d in page)
            return out
        result = self._call(fetch, "list deployments", timeout=self.timeouts.read)
        self._count(-1)  # the first page was counted by _call and by fetch
        return result

    def list_models(self) -> list[LiveModel]:
        """The base models the account offers, with lifecycle and deprecation dates (paged)."""
        def fetch(t: float) -> list[LiveModel]:
            pager = self.arm.accounts.list_models(self.resource_group, self.account, **self._arm(t))
            out: list[LiveModel] = []
            for page in _bounded(pager.by_page(), "list the account's models"):
                self._count()
                out.extend(LiveModel.parse(m) for m in page)
            return out
        result = self._call(fetch, "list the account's models", timeout=self.timeouts.read)
        self._count(-1)
        return result

    def usages(self) -> dict[str, LiveUsage]:
        """The account's quota usages by name."""
        result = self._call(lambda t: self.arm.accounts.list_usages(self.resource_group, self.account,
                                                                   **self._arm(t)),
                            "read the account's quota usages", timeout=self.timeouts.read)
        return {u.name: u for u in map(LiveUsage.parse, getattr(result, "value", None) or [])}

    def permissions(self) -> Permissions:
        """What this identity may do on the account: one ARM read (Microsoft.Authorization permissions)."""
        url = (f"/subscriptions/{self.arm._config.subscription_id}/resourceGroups/{self.resource_group}/providers/"
               f"Microsoft.CognitiveServices/accounts/{self.account}/providers/Microsoft.Authorization/"
               f"permissions?api-version={PERMISSIONS_API}")

        def fetch(link: str) -> Callable[[float], Any]:
            def get(t: float) -> Any:
                response = self.arm._send_request(HttpRequest("GET", link), **self._arm(t))
                response.raise_for_status()
                return response.json()
            return get

        entries: list[Permission] = []
        seen: set[str] = set()
        link: str | None = url
        while link is not None:
            if len(seen) >= MAX_PERMISSION_PAGES or link in seen:
                raise _endless("the identity's permissions", MAX_PERMISSION_PAGES)
            seen.add(link)
            body = self._call(fetch(link), "read the identity's permissions", timeout=self.timeouts.read)
            entries.extend(Permissions.parse(body).entries)
            link = self._same_arm_host(body.get("nextLink") if isinstance(body, dict) else None)
        return Permissions(tuple(entries))

    def _same_arm_host(self, link: Any) -> str | None:
        """A nextLink to follow: on ARM's own https host only (the request carries the ARM token)."""
        if not isinstance(link, str) or not link:
            return None
        base, there = urlsplit(self.arm._client._base_url), urlsplit(link)
        if (there.scheme, there.netloc.lower()) != (base.scheme, base.netloc.lower()):
            raise PermanentFoundryError(f"read the identity's permissions: ARM's nextLink names another host "
                                        f"({there.netloc}); not followed")
        return link

    def snapshot(self) -> Snapshot:
        """Files, jobs and deployments, listed at once: each listing waits on the service (two planes),
        not on this process. Call it while no other call runs on this client (it counts the calls)."""
        start = self.api_calls
        files, jobs, deployments = at_once(self.list_files, self.list_jobs, self.list_deployments)
        snap = Snapshot(files=files, jobs=jobs, deployments=deployments)
        snap.api_calls = self.api_calls - start
        snap.server_time = self.server_time
        return snap

    def _read_job(self, job_id: str, policy: RetryPolicy | None = None) -> LiveJob:
        job = self._call(lambda t: self.oai.fine_tuning.jobs.retrieve(job_id, timeout=self._oai(t)),
                         f"read job {job_id}", timeout=self.timeouts.read, policy=policy)
        return LiveJob.parse(job)

    def _read_file(self, file_id: str, policy: RetryPolicy | None = None) -> LiveFile:
        f = self._call(lambda t: self.oai.files.retrieve(file_id, timeout=self._oai(t)), f"read file {file_id}",
                       timeout=self.timeouts.read, policy=policy)
        return LiveFile.parse(f)

    def get_job(self, job_id: str) -> LiveJob:
        return self._read_job(job_id)

    def get_file(self, file_id: str) -> LiveFile:
        return self._read_file(file_id)

    def get_deployment(self, name: str) -> LiveDeployment:
        """The deployment `name`; FoundryNotFound when there is none."""
        d = self._call(lambda t: self.arm.deployments.get(self.resource_group, self.account, name, **self._arm(t)),
                       f"read deployment {name}", timeout=self.timeouts.read)
        return LiveDeployment.parse(d)

    def checkpoints(self, job_id: str) -> list[LiveCheckpoint]:
        page = self._call(lambda t: self.oai.fine_tuning.jobs.checkpoints.list(job_id, limit=PAGE,
                                                                              timeout=self._oai(t)),
                          f"list checkpoints of {job_id}", timeout=self.timeouts.read)
        return [LiveCheckpoint.parse(c) for c in page.data]

    def latest_events(self, job_id: str, limit: int = 10) -> list[LiveEvent]:
        """The newest events of a job, newest first."""
        page = self._call(lambda t: self.oai.fine_tuning.jobs.list_events(job_id, limit=limit, timeout=self._oai(t)),
                          f"read events of {job_id}", timeout=self.timeouts.read)
        return [parse_event(str(e.message), getattr(e, "data", None)) for e in page.data]

    # -- waiting -----------------------------------------------------------------------------
    def wait_job(self, job_id: str, *, stop: threading.Event | None = None, on_status: Status | None = None,
                 until: Callable[[LiveJob], bool] | None = None, outage_budget: float | None = None,
                 on_outage: Status | None = None) -> LiveJob:
        """Poll job `job_id` until it is terminal or paused, `until(job)` holds, or `stop` is set.

        Returns the last job read (the caller tells a paused or still-active job from a finished one).
        A Foundry that does not answer is an outage: reported through `on_status` and ridden out until
        `outage_budget` seconds (default `self.outage_budget`) of continuous failure, then the outage's
        TemporaryFoundryError is raised. A permanent error (the job is gone, access denied) is raised at
        once. If `stop` is set before Foundry has answered once, the outage's error is raised.
        """
        def done(job: LiveJob) -> bool:
            return not job.active or job.status == "paused" or (until is not None and until(job))
        return self._wait(lambda p: self._read_job(job_id, p), f"job {job_id}", done,
                          lambda j: j.status, stop, on_status, outage_budget, on_outage)

    def wait_file(self, file_id: str, *, stop: threading.Event | None = None, on_status: Status | None = None,
                  outage_budget: float | None = None, timeout: float = 3600,
                  on_outage: Status | None = None) -> LiveFile:
        """Poll file `file_id` until Foundry has processed it (or failed to), riding out outages as wait_job.

        A file still being processed after `timeout` seconds is a TemporaryFoundryError.
        """
        start = time.monotonic()

        def done(f: LiveFile) -> bool:
            if f.status in FILE_BUSY and _since(start) > timeout:
                raise TemporaryFoundryError(f"file {file_id} still {f.status} after {timeout:.0f} s")
            return f.status not in FILE_BUSY
        return self._wait(lambda p: self._read_file(file_id, p), f"file {file_id}", done, lambda f: f.status,
                          stop, on_status, outage_budget, on_outage)

    def _wait(self, read: Callable[[RetryPolicy], T], what: str, done: Callable[[T], bool],
              status: Callable[[T], str], stop: threading.Event | None, on_status: Status | None,
              outage_budget: float | None, on_outage: Status | None = None) -> T:
        budget = self.outage_budget if outage_budget is None else outage_budget
        say = on_status or (lambda _: None)
        warn = on_outage or say  # outages are worth a line of their own (CI logs have no progress display)
        sleep = stop.wait if stop is not None else _sleep
        last: T | None = None
        down_since: float | None = None
        failures = 0
        while True:
            # One attempt per poll: the polling loop is the retry, so an outage is reported as it happens.
            left = budget - _since(down_since) if down_since is not None else self.policy.budget
            once = dataclasses.replace(self.policy, attempts=1, budget=max(1.0, left))
            try:
                item = read(once)
            except TemporaryFoundryError as err:
                down_since = down_since or time.monotonic()
                down = _since(down_since)
                if down >= budget or (stop is not None and stop.is_set() and last is None):
                    raise TemporaryFoundryError(f"{what}: Foundry unreachable for {down:.0f} s ({_reason(err)}); "
                                                "gave up waiting", status=err.status, code=err.code) from err
                warn(f"Foundry unreachable for {down:.0f} s ({_reason(err)}); still waiting for {what}")
                delay = max(self.poll_interval, self.policy.delay(failures, err.retry_after))
                failures += 1
            else:
                if down_since is not None:
                    warn(f"Foundry answers again after {_since(down_since):.0f} s")
                down_since, failures, last = None, 0, item
                if done(item):
                    return item
                say(f"waiting for {what}: {status(item)}")
                delay = self.poll_interval
            if sleep(delay) and last is not None:
                return last

    # -- files -------------------------------------------------------------------------------
    def upload(self, path: Path, filename: str, progress: Progress | None = None) -> LiveFile:
        """Upload once. After an ambiguous failure, adopt a file the attempt may have created.

        Files larger than `part_bytes` go through the Uploads API in parts, so a network failure
        costs one part, not the whole file; smaller ones in one streamed multipart request.
        """
        size = path.stat().st_size
        if size > self.part_bytes:
            return self._upload_in_parts(path, filename, size, progress)

        sent = _HighWater(progress)

        def send(t: float) -> LiveFile:
            with open(path, "rb") as f:
                created = self.oai.files.create(file=(filename, _ProgressReader(f, sent), "application/jsonl"),  # type: ignore[arg-type]
                                                purpose="fine-tune", timeout=self._oai(t))
            return LiveFile.parse(created)
        since = self._since()  # a file the attempt made is newer: the look reads only newer pages
        return self._create_once(send, lambda: self._find_file(filename, size, since), f"upload {filename}",
                                 timeout=self.timeouts.for_upload(size))

    def import_file(self, content_url: str, filename: str) -> LiveFile:
        """Have Foundry fetch `content_url` itself (Azure's Files - Import): a file answered `pending`, or an
        earlier attempt's file of that name after an ambiguous failure. `content_url` carries its SAS: no
        error raised here carries the URL's query (Foundry may quote the URL in its message).

        Azure documents `POST {endpoint}/openai/files/import?api-version=2024-10-21`; ftops speaks the v1
        surface and sends it as `/files/import` under `/openai/v1` (the assumption docs/emulator.md notes).
        """
        body = {"purpose": "fine-tune", "filename": filename, "content_url": content_url}

        def send(t: float) -> LiveFile:
            created = self.oai.post("/files/import", body=body, cast_to=FileObject, options={"timeout": self._oai(t)})
            return LiveFile.parse(created)
        try:
            since = self._since()
            return self._create_once(send, lambda: self._find_named(filename, since), f"import {filename}",
                                     timeout=self.timeouts.write)
        except FoundryError as e:
            e.message = redact_text(e.message)
            e.args = (e.message,)
            raise

    def _find_named(self, filename: str, since: int | None) -> LiveFile | None:
        found = [f for f in self.recent_files(since)[0] if f.filename == filename]
        return min(found, key=lambda f: (f.created_at, f.id)) if found else None

    def _find_file(self, filename: str, size: int, since: int | None) -> LiveFile | None:
        found = [f for f in self.recent_files(since)[0] if f.filename == filename and f.bytes == size]
        return min(found, key=lambda f: (f.created_at, f.id)) if found else None

    def _since(self) -> int | None:
        """Where a look for what an attempt about to start may create begins (Foundry's clock): the last Date
        seen, less a margin for clock skew between Foundry's servers. None (every file) before any Date."""
        return None if self.server_time is None else int(self.server_time) - FIND_SKEW_SECONDS

    def _upload_in_parts(self, path: Path, filename: str, size: int, progress: Progress | None) -> LiveFile:
        # An Upload is only a session (it expires unused), so a retried create costs nothing.
        since = self._since()
        upload = self._call(lambda t: self.oai.uploads.create(filename=filename, purpose="fine-tune", bytes=size,
                                                              mime_type="application/jsonl", timeout=self._oai(t)),
                            f"start upload of {filename}", timeout=self.timeouts.write)
        part_ids: list[str] = []
        with open(path, "rb") as f:
            while chunk := f.read(self.part_bytes):
                # A retried part may leave an extra part behind; only the ids listed at completion count.
                part = self._call(lambda t: self.oai.uploads.parts.create(upload.id, data=chunk, timeout=self._oai(t)),
                                  f"upload part {len(part_ids) + 1} of {filename}",
                                  timeout=self.timeouts.for_upload(len(chunk)))
                part_ids.append(part.id)
                if progress is not None:
                    progress(len(chunk))

        def complete(t: float) -> LiveFile:
            done = self.oai.uploads.complete(upload.id, part_ids=part_ids, timeout=self._oai(t))
            if done.file is None:
                raise TemporaryFoundryError(f"upload of {filename} completed without a file")
            return LiveFile.parse(done.file)
        # A completion applied but whose answer was lost created the file: adopt it, never fail on it.
        return self._create_once(complete, lambda: self._find_file(filename, size, since),
                                 f"complete upload of {filename}",
                                 timeout=self.timeouts.for_upload(size))

    def delete_file(self, file_id: str) -> None:
        with contextlib.suppress(FoundryNotFound):  # gone already: what we wanted
            self._call(lambda t: self.oai.files.delete(file_id, timeout=self._oai(t)), f"delete file {file_id}",
                       timeout=self.timeouts.write)

    # -- creating without duplicates ---------------------------------------------------------
    def _create_once(self, create: Callable[[float], T], find: Callable[[], T | None], what: str, *,
                     timeout: float) -> T:
        """Create something at most once: after an ambiguous failure, look for what the attempt made.

        Once an attempt has failed ambiguously (a dropped connection, a 5xx), any later failure, even a
        permanent one such as "already completed", first looks for the object before it is raised.
        """
        start = time.monotonic()
        ambiguous = False
        for attempt in range(self.policy.attempts):
            try:
                return self._call(create, what, timeout=timeout, idempotent=False)
            except FoundryError as err:
                ambiguous = ambiguous or err.retryable
                found = find() if ambiguous else None
                if found is not None:
                    return found
                delay = self.policy.delay(attempt, err.retry_after)
                if not err.retryable or attempt + 1 >= self.policy.attempts \
                        or _since(start) + delay > self.policy.budget:
                    raise
                if self._pause(delay):
                    raise  # interrupted: the next apply looks for what this attempt may have created
        raise TemporaryFoundryError(f"{what}: gave up")  # pragma: no cover (attempts >= 1)

    # -- jobs --------------------------------------------------------------------------------
    def create_job(self, request: JobRequest, identity: dict[str, str]) -> LiveJob:
        """Create a job once. `identity` (metadata subset) finds what an ambiguous attempt created."""
        body, extra = request.body()

        def find() -> LiveJob | None:
            existing = [j for j in self.list_jobs(metadata=identity) if j.status != "cancelled"]
            return min(existing, key=lambda j: (j.created_at, j.id)) if existing else None
        return self._create_once(
            lambda t: LiveJob.parse(self.oai.fine_tuning.jobs.create(**body, extra_body=extra, timeout=self._oai(t))),
            find, f"create job {identity}", timeout=self.timeouts.write)

    def _job_transition(self, job_id: str, action: str, done: set[str]) -> LiveJob:
        fn = {"cancel": self.oai.fine_tuning.jobs.cancel, "pause": self.oai.fine_tuning.jobs.pause,
              "resume": self.oai.fine_tuning.jobs.resume}[action]

        def find() -> LiveJob | None:
            job = self.get_job(job_id)  # an earlier attempt, or someone else, may have done it already
            return job if job.status in done else None
        try:
            return self._create_once(lambda t: LiveJob.parse(fn(job_id, timeout=self._oai(t))), find,
                                     f"{action} job {job_id}", timeout=self.timeouts.write)
        except PermanentFoundryError:
            job = find()  # e.g. "cannot cancel a cancelled job": someone else did it
            if job is not None:
                return job
            raise

    def cancel_job(self, job_id: str) -> LiveJob:
        return self._job_transition(job_id, "cancel", {"cancelled", "succeeded", "failed"})

    def pause_job(self, job_id: str) -> LiveJob:
        return self._job_transition(job_id, "pause", {"paused"})

    def resume_job(self, job_id: str) -> LiveJob:
        return self._job_transition(job_id, "resume", {"running", "queued", "succeeded"})

    # -- deployments -------------------------------------------------------------------------
    def put_deployment(self, name: str, write: DeploymentWrite) -> LiveDeployment:
        """Create or update deployment `name` with `write` and wait until it is provisioned.

        Only ftops' fields change (`_deployments.py`): the live deployment is read first and every other
        property and tag is written back as it was. The PUT carries the etag it was merged from
        (If-Match), so an edit made in between (a person, Azure Policy) is not overwritten: the write
        is merged again from the newer deployment. The PUT and each status read are retried on their
        own (a PUT is idempotent), so a dropped connection costs one request, not the whole operation;
        the LRO poller is not used for that reason.
        """
        creating = False
        for attempt in range(WRITE_ATTEMPTS):
            live = self._raw_deployment(name)
            if creating and live is not None and not same_owner(live.tags, write.tags):
                raise PermanentFoundryError(
                    f"deploy {name}: a deployment named {name} was created by someone else while ftops created it; "
                    "ftops will not take it over (nothing was written)", status=412, code="PreconditionFailed")
            creating = live is None
            try:
                return self._write_deployment(name, self._body(name, live, write), _etag(live), create=creating)
            except PermanentFoundryError as e:
                if e.status != 412 or attempt == WRITE_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")  # the last attempt returns or raises

    @staticmethod
    def _body(name: str, live: Deployment | None, write: DeploymentWrite) -> Deployment:
        """`write` merged onto `live`; refused here, before any write, when Azure would refuse its tags."""
        body = merged(live, write)
        problem = tag_problem(body.tags or {}, write.tags)
        if problem is not None:
            raise PermanentFoundryError(f"deploy {name}: {problem} (nothing was written)")
        return body

    def replace_deployment(self, name: str, write: DeploymentWrite) -> LiveDeployment:
        """Delete deployment `name` and create it again with `write` (a change Azure makes only that way).

        Serving is interrupted between the two. The deployment's other properties and tags are read
        first and carried over to the new one; when the new one cannot be created, the old one is put
        back as it was (its model, sku, properties and tags), and the error says whether that worked.
        """
        old = self._raw_deployment(name)
        body = self._body(name, old, write)  # a body Azure would refuse is refused before the delete
        if old is not None:
            try:
                self.delete_deployment(name)
            except _Interrupted as e:
                raise _Interrupted(f"{e.message}: {name} serves nothing until the next apply creates it again",
                                   status=e.status, code=e.code) from e
        try:
            return self._write_deployment(name, body, None, create=True)
        except _StillProvisioning:
            raise  # Azure took the new deployment and is still making it: writing the old one over it would race
        except FoundryError as e:
            if old is None:
                raise
            restored = self._restore(name, old)
            kind = TemporaryFoundryError if e.retryable else PermanentFoundryError
            raise kind(f"{e.message}; {restored}", status=e.status, code=e.code) from e

    def _restore(self, name: str, old: Deployment) -> str:
        """Put `old` back, exactly as it was read, after a failed replacement; says what happened."""
        try:
            self._write_deployment(name, old, None, create=True)
        except FoundryError as e:
            return f"the old deployment could NOT be restored ({e.message}): {name} serves nothing now"
        return f"the old deployment {name} was restored and serves its model again"

    def _raw_deployment(self, name: str) -> Deployment | None:
        """The deployment as ARM returns it (every field), or None when there is none."""
        try:
            d: Deployment = self._call(
                lambda t: self.arm.deployments.get(self.resource_group, self.account, name, **self._arm(t)),
                f"read deployment {name}", timeout=self.timeouts.read)
        except FoundryNotFound:
            return None
        return d

    def _write_deployment(self, name: str, body: Deployment, etag: str | None, *, create: bool) -> LiveDeployment:
        # If-Match: write over exactly what was read. If-None-Match: * (a create): create only if nobody else
        # has meanwhile, else ARM answers 412 (its contract for conditional PUTs) and the caller reads again.
        headers = {"If-Match": etag} if etag else {"If-None-Match": "*"} if create else {}
        data = orjson.dumps(wire(body))  # with the properties the SDK does not model (`_deployments.wire`)
        self._call(lambda t: self.arm.deployments.begin_create_or_update(
            self.resource_group, self.account, name, io.BytesIO(data), polling=False, headers=headers,
            **self._arm(t)).result(), f"deploy {name}", timeout=self.timeouts.write)
        d = self._settled(name, f"deploy {name}")
        if d is None:
            raise FoundryNotFound(f"deploy {name}: the deployment is gone after Azure accepted the write")
        if d.provisioning_state not in (None, "Succeeded", *DEPLOYMENT_BUSY):  # busy: Ctrl-C ended the wait
            raise PermanentFoundryError(f"deploy {name}: provisioning {d.provisioning_state}")
        return d

    def _settled(self, name: str, what: str) -> LiveDeployment | None:
        """The deployment once Azure is no longer busy with it (None: gone), polled up to `provision_timeout`.

        Ctrl-C (`stopping_on`'s event) ends the wait: a write Azure accepted is returned as it stands (Azure
        finishes it; the next apply reads it), and a deletion raises, since nothing may be written after it.
        """
        start = time.monotonic()
        while True:
            try:
                d = self.get_deployment(name)
            except FoundryNotFound:
                return None
            if d.provisioning_state not in DEPLOYMENT_BUSY:
                return d
            if _since(start) > self.provision_timeout:
                raise _StillProvisioning(f"{what}: still {d.provisioning_state} after {_since(start):.0f} s; "
                                         "run apply again to check it")
            if self._pause(self.poll_interval):
                if d.provisioning_state == "Deleting":
                    raise _Interrupted(f"{what}: interrupted while Azure deletes it")
                return d

    def smoke(self, deployment: str, *, timeout: float = 600.0, stop: threading.Event | None = None) -> float:
        """Call a deployment (one token) until it answers; returns the seconds it took to become ready.

        Azure reports a written deployment `Succeeded` before it serves: for a while its chat completions
        answer 404 ("... created within the last 5 minutes, please wait"). A rollout is done when it answers.
        """
        start = time.monotonic()
        while True:
            try:
                self._call(lambda t: self.oai.chat.completions.create(
                    model=deployment, messages=[{"role": "user", "content": "ping"}], max_tokens=1, timeout=t),
                    f"smoke-call {deployment}", timeout=self.timeouts.read)
                return time.monotonic() - start
            except FoundryNotFound as e:
                if time.monotonic() - start > timeout:
                    raise TemporaryFoundryError(f"deployment {deployment} is provisioned but did not answer within "
                                                f"{timeout:.0f} s; run apply again to check it",
                                                status=e.status, code=e.code) from e
            if (stop.wait if stop is not None else time.sleep)(self.poll_interval):
                return time.monotonic() - start

    def delete_deployment(self, name: str) -> None:
        """Delete a deployment and wait until it is gone (deleting one that is gone already is a success)."""
        self._call(lambda t: self.arm.deployments.begin_delete(
            self.resource_group, self.account, name, polling=False, **self._arm(t)).result(),
            f"delete deployment {name}", timeout=self.timeouts.write)
        d = self._settled(name, f"delete deployment {name}")
        if d is not None:
            raise PermanentFoundryError(f"delete deployment {name}: still there, {d.provisioning_state}")

    # -- content filter policies (raiPolicies) ------------------------------------------------
    def list_rai_policies(self) -> list[LiveRaiPolicy]:
        """The account's content filter policies, Azure's built-in ones (SystemManaged) included."""
        def fetch(t: float) -> list[LiveRaiPolicy]:
            pager = self.arm.rai_policies.list(self.resource_group, self.account, **self._arm(t))
            return [LiveRaiPolicy.parse(p) for page in _bounded(pager.by_page(), "list raiPolicies") for p in page]
        result: list[LiveRaiPolicy] = self._call(fetch, "list raiPolicies", timeout=self.timeouts.read)
        return result

    def put_rai_policy(self, name: str, write: RaiPolicyWrite) -> LiveRaiPolicy:
        """Create or update policy `name`, changing only what `write` owns (`_rai_policies.py`); under If-Match,
        merged again from the newer policy when someone edited it in between (412), as deployments are."""
        for _ in range(WRITE_ATTEMPTS - 1):
            try:
                return self._write_rai_policy(name, write)
            except PermanentFoundryError as e:
                if e.status != 412:
                    raise
        return self._write_rai_policy(name, write)

    def _write_rai_policy(self, name: str, write: RaiPolicyWrite) -> LiveRaiPolicy:
        live = self._raw_rai_policy(name)
        body = orjson.dumps(merged_policy(live, write))
        etag = getattr(live, "etag", None)
        headers = {"If-Match": etag} if etag else {}
        p = self._call(lambda t: self.arm.rai_policies.create_or_update(
            self.resource_group, self.account, name, io.BytesIO(body), headers=headers, **self._arm(t)),
            f"write raiPolicy {name}", timeout=self.timeouts.write)
        return LiveRaiPolicy.parse(p)

    def _raw_rai_policy(self, name: str) -> Any | None:
        try:
            return self._call(lambda t: self.arm.rai_policies.get(self.resource_group, self.account, name,
                                                                  **self._arm(t)),
                              f"read raiPolicy {name}", timeout=self.timeouts.read)
        except FoundryNotFound:
            return None

    def delete_rai_policy(self, name: str) -> None:
        """Delete policy `name` (one that is gone already is a success)."""
        self._call(lambda t: self.arm.rai_policies.begin_delete(
            self.resource_group, self.account, name, polling=False, **self._arm(t)).result(),
            f"delete raiPolicy {name}", timeout=self.timeouts.write)


def _endless(what: str, limit: int) -> PermanentFoundryError:
    return PermanentFoundryError(f"{what}: Foundry's paging did not end (a cursor that repeats, or over "
                                 f"{limit:,} pages); stopped reading")


def _bounded(pages: Iterable[T], what: str) -> Iterator[T]:
    """ARM's pages (it follows nextLink), at most MAX_PAGES of them."""
    for n, page in enumerate(pages):
        if n >= MAX_PAGES:
            raise _endless(what, MAX_PAGES)
        yield page


def _cursor_page(raw: Any, what: str) -> tuple[list[dict[str, Any]], bool]:
    """A cursor page's items and whether more follow, read from the answer's JSON. Not through openai's models:
    building them costs about ten times the parse (a 5,000-resource plan: 0.2 s of CPU for 2,000 jobs), and
    LiveJob.parse and LiveFile.parse read the plain objects alike."""
    try:
        body = orjson.loads(raw.content)
    except orjson.JSONDecodeError:
        raise PermanentFoundryError(f"{what}: Foundry's answer is not JSON") from None
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        raise PermanentFoundryError(f"{what}: Foundry's answer has no list of items (`data`)")
    return [item for item in data if isinstance(item, dict)], body.get("has_more") is True


class Cursor:
    """The `after` cursors of one cursor-paginated listing: a cursor seen before, or more than `limit` pages,
    is a server whose paging never ends (PermanentFoundryError), never a loop."""

    def __init__(self, what: str, limit: int = MAX_PAGES) -> None:
        self.what, self.limit = what, limit
        self._seen: set[str] = set()

    def next(self, after: object) -> str:
        cursor = str(after)
        if cursor in self._seen or len(self._seen) >= self.limit:
            raise _endless(self.what, self.limit)
        self._seen.add(cursor)
        return cursor


def _sleep(seconds: float) -> bool:
    time.sleep(seconds)
    return False


def _since(t0: float) -> float:
    return time.monotonic() - t0


def _reason(err: FoundryError) -> str:
    return err.reason if isinstance(err, FoundryUnreachable) else f"HTTP {err.status}"


def _etag(d: Deployment | None) -> str | None:
    return d.etag if d is not None else None
