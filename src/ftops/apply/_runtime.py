"""What a running apply knows and shares between its steps: file ids, jobs, and racing duplicates.

Race settling lives here. Concurrent applies of one project follow one rule: for one identity (a
file name, a job's spec hash) the oldest live object by (created_at, id) survives, and each apply
removes only what it created itself. Each apply checks right after it creates something, once more
SETTLE_SECONDS later for jobs (a rival may not be visible at the first look), and at the end of the run.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Protocol

from .._exceptions import FtopsError
from ..checks import CheckedProject
from ..foundry import FoundryClient, LiveFile, LiveJob
from ..plan import Action, NoOp, PauseJob, Plan, ResumeJob, Verdict, WaitFile, WaitJob, identity

SETTLE_SECONDS = 2.5  # a rival apply that started with us has created its job by then
CLOCK_SKEW_SECONDS = 5


class Deferred(Exception):
    """The action needs a job that has not finished, and apply was not asked to --wait."""


class Reporter(Protocol):
    def start(self, action: Action) -> None: ...
    def progress(self, action: Action, advance: int, total: int | None) -> None: ...
    def status(self, action: Action, text: str) -> None: ...
    def warn(self, action: Action, text: str) -> None: ...  # worth a line of its own (an outage)
    def finish(self, action: Action, outcome: Outcome) -> None: ...


@dataclass
class Outcome:
    action_id: str
    state: str  # done | no-op | failed | skipped | deferred | blocked
    message: str = ""
    seconds: float = 0.0


class Silent:
    def start(self, action: Action) -> None: ...
    def progress(self, action: Action, advance: int, total: int | None) -> None: ...
    def status(self, action: Action, text: str) -> None: ...
    def warn(self, action: Action, text: str) -> None: ...
    def finish(self, action: Action, outcome: Outcome) -> None: ...


@dataclass
class Runtime:
    plan: Plan
    checked: CheckedProject
    client: FoundryClient
    wait_jobs: bool
    reporter: Reporter
    files: dict[str, str] = field(default_factory=dict)  # dataset name -> file id
    jobs: dict[str, LiveJob] = field(default_factory=dict)  # job spec name -> the job to follow
    created: dict[str, tuple[dict[str, str], float]] = field(default_factory=dict)  # job id -> (identity, when)
    notes: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)  # set on Ctrl-C: waiting gives up at once
    deploy_lock: threading.Lock = field(default_factory=threading.Lock)  # Foundry: 409 on concurrent writes
    job_locks: dict[str, threading.Lock] = field(default_factory=dict)
    verdicts: dict[str, Verdict] = field(default_factory=dict)  # deployment -> the evaluation verdict of this run

    def __post_init__(self) -> None:
        for a in self.plan.actions:
            if isinstance(a, WaitFile):
                self.files[a.name] = a.file_id
            elif isinstance(a, NoOp) and a.kind == "Dataset" and a.live_id and not a.blocked:
                self.files[a.name] = a.live_id

    def note(self, text: str) -> None:
        with self.lock:
            self.notes.append(text)

    def job_lock(self, name: str) -> threading.Lock:
        with self.lock:
            return self.job_locks.setdefault(name, threading.Lock())

    def known_job(self, name: str, spec_hash: str) -> LiveJob | None:
        with self.lock:
            if name in self.jobs:
                return self.jobs[name]
        for a in self.plan.actions:
            if a.name == name and not a.blocked and a.duplicate_of is None and a.live_id and (
                    isinstance(a, WaitJob | PauseJob | ResumeJob) or (isinstance(a, NoOp) and a.fine_tuned_model)):
                return self.client.get_job(a.live_id)
        found = [j for j in self.client.list_jobs(metadata=identity.job_metadata(self.plan.project, name, spec_hash))
                 if j.status != "cancelled"]
        return min(found, key=lambda j: (j.created_at, j.id)) if found else None

    def await_job(self, action: Action, name: str, spec_hash: str) -> LiveJob:
        """The succeeded job for spec `name`; polls with --wait, else Deferred while it runs."""
        with self.job_lock(name):
            job = self.known_job(name, spec_hash)
            if job is None:
                raise Deferred(f"job {name} has not been created yet")
            job = self._follow(action, name, job)
            job = self._successor(action, name, spec_hash, job)
            with self.lock:
                self.jobs[name] = job
        if job.status != "succeeded":
            raise FtopsError(f"job {name} ({job.id}) {job.status}: {job.error or 'no reason given'}")
        return job

    def _follow(self, action: Action, name: str, job: LiveJob) -> LiveJob:
        """Poll until the job (after settling races, which may swap it for a rival's) is no longer active.

        The Foundry layer's `wait_job` rides out outages (and says so); it also returns when the job is
        paused, or when a job this run created is due for its second look for rivals.
        """
        while True:
            job = settle_job(self, name, job, final=not job.active)
            if not job.active:
                return job
            if job.status == "paused":
                raise FtopsError(f"job {name} ({job.id}) was paused outside ftops; resume it (or set paused: "
                                 "true in the spec) and run apply again")
            if not self.wait_jobs:
                raise Deferred(f"waits for job {name} ({job.id} is {job.status}); run apply again or use --wait")
            self.reporter.status(action, f"waiting for {job.id}: {job.status}")
            job = self.client.wait_job(job.id, stop=self.stop, until=self._settle_due,
                                       on_status=lambda text: self.reporter.status(action, text),
                                       on_outage=lambda text: self.reporter.warn(action, text))
            if self.stop.is_set():
                raise Deferred("interrupted while waiting; run apply again to continue")

    def _successor(self, action: Action, name: str, spec_hash: str, job: LiveJob) -> LiveJob:
        """A job we followed but did not create may be cancelled by the concurrent apply that did (as its
        duplicate of an older one): follow the job of the same spec hash that survives, if there is one."""
        for _ in range(3):
            if job.status != "cancelled":
                return job
            ident = identity.job_metadata(self.plan.project, name, spec_hash)
            alive = [j for j in self.client.list_jobs(metadata=ident) if j.status != "cancelled"]
            if not alive:
                return job
            survivor = min(alive, key=lambda j: (j.created_at, j.id))
            self.note(f"{job.id} was cancelled (a concurrent apply's duplicate); following {survivor.id}")
            job = self._follow(action, name, survivor)
        return job

    def _settle_due(self, job: LiveJob) -> bool:
        with self.lock:
            entry = self.created.get(job.id)
        return entry is not None and time.monotonic() - entry[1] >= SETTLE_SECONDS


def settle_job(rt: Runtime, name: str, job: LiveJob, *, final: bool = False) -> LiveJob:
    """If a concurrent apply created a job for the same hash first, cancel ours and follow theirs."""
    with rt.lock:
        entry = rt.created.get(job.id)
    if entry is None:
        return job
    ident, created = entry
    if not final and time.monotonic() - created < SETTLE_SECONDS and job.active:
        return job  # the first look happened right after creation; look again once the window has passed
    with rt.lock:
        rt.created.pop(job.id, None)
    rivals = [j for j in rt.client.list_jobs(metadata=ident) if j.status not in ("cancelled", "failed")]
    oldest = min(rivals, key=lambda j: (j.created_at, j.id), default=job)
    if oldest.id == job.id or not any(j.id == job.id for j in rivals):
        return job
    _cancel_duplicate(rt, job.id, oldest.id)
    with rt.lock:
        rt.jobs[name] = oldest
    return oldest


def _cancel_duplicate(rt: Runtime, ours: str, theirs: str) -> None:
    """Cancel our duplicate and say truthfully what that achieved."""
    after = rt.client.cancel_job(ours)
    if after.status == "cancelled":
        rt.note(f"a concurrent apply created {theirs} first; cancelled our duplicate {ours}")
    else:
        rt.note(f"a concurrent apply created {theirs} first; our duplicate {ours} had already {after.status} "
                "(billed) and could not be cancelled; following the older job")


def first_look(rt: Runtime, job: LiveJob, ident: dict[str, str]) -> LiveJob:
    """Right after creating a job: remember it for settling, and settle at once if a rival is already visible."""
    with rt.lock:
        rt.created[job.id] = (ident, time.monotonic())
    rivals = [j for j in rt.client.list_jobs(metadata=ident) if j.status not in ("cancelled", "failed")]
    oldest = min(rivals, key=lambda j: (j.created_at, j.id), default=job)
    if oldest.id != job.id and any(j.id == job.id for j in rivals):
        with rt.lock:
            rt.created.pop(job.id, None)
        _cancel_duplicate(rt, job.id, oldest.id)
        return oldest
    return job


UPLOAD_SETTLE_SECONDS = 1.5  # created_at has one-second resolution: a rival of the same second is visible by then
def oldest_upload(rt: Runtime, filename: str, created_at: int) -> LiveFile | None:
    """The upload of `filename` that survives racing applies: the oldest by (created_at, id).

    Looked at once Foundry's clock is UPLOAD_SETTLE_SECONDS past `created_at` (the upload we know of):
    any rival that is older exists by then, and one created later sees ours and deletes its own.
    """
    same = [f for f in rt.client.list_files() if f.filename == filename and f.status not in ("error", "deleted")]
    now = rt.client.server_time
    if now is not None and now - created_at < UPLOAD_SETTLE_SECONDS + 1:
        rt.stop.wait(UPLOAD_SETTLE_SECONDS + 1 - (now - created_at))
        same = [f for f in rt.client.list_files() if f.filename == filename and f.status not in ("error", "deleted")]
    return min(same, key=lambda f: (f.created_at, f.id), default=None)


def settle_upload(rt: Runtime, ours: LiveFile) -> LiveFile:
    """After our upload: if another apply uploaded the same bytes first, delete ours and use theirs.

    It runs before any job uses the file, so a deleted duplicate was never trained on.
    """
    oldest = oldest_upload(rt, ours.filename, ours.created_at) or ours
    if oldest.id == ours.id:
        return ours
    rt.client.delete_file(ours.id)
    rt.note(f"a concurrent apply uploaded {oldest.id} first; deleted our duplicate upload {ours.id}")
    return oldest


def settle_all(rt: Runtime) -> None:
    """After all actions: one listing settles every job this run created and has not settled yet."""
    with rt.lock:
        created = dict(rt.created)
    if not created:
        return
    # A rival job was created after our plan's snapshot (else the plan would have adopted it), and
    # jobs come newest first: older pages need not be read (5 s allows for clock skew).
    live = rt.client.list_jobs(created_after=int(rt.plan.created_at) - CLOCK_SKEW_SECONDS)
    for job_id, (ident, _) in created.items():
        same = [j for j in live if all(j.metadata.get(k) == v for k, v in ident.items())
                and j.status not in ("cancelled", "failed")]
        oldest = min(same, key=lambda j: (j.created_at, j.id), default=None)
        if oldest is not None and oldest.id != job_id and any(j.id == job_id for j in same):
            _cancel_duplicate(rt, job_id, oldest.id)
