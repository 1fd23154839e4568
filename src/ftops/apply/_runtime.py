"""What a running apply knows and shares between its steps: file ids, jobs, and racing duplicates.

Race settling lives here. Concurrent applies of one project follow one rule: for one identity (a
file name, a job's spec hash) the oldest live object by (created_at, id) survives, and each apply
removes only what it created itself. Each apply looks for rivals right after it creates something (for
jobs in the background, while the workers go on), once more SETTLE_SECONDS later for jobs it waits for (a
rival may not be visible at the first look), and at the end of the run. The looks share listings
(`_recent.Recent`): one listing serves every step that needs one at that moment, and reads only what was
created since the plan, newest first, down to what earlier listings covered.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, TypeVar

from .._exceptions import FoundryNotFound, FtopsError
from ..checks import CheckedProject
from ..foundry import FoundryClient, LiveFile, LiveJob
from ..plan import (
    Action,
    NoOp,
    PauseJob,
    Plan,
    ResumeJob,
    Verdict,
    WaitFile,
    WaitJob,
    content_key,
    job_lookup,
    refusal,
    same_job,
)
from ._clock import SYSTEM, Clock
from ._guards import GuardWatch
from ._recent import Offset, Recent, View

LiveT = TypeVar("LiveT", LiveJob, LiveFile)

SETTLE_SECONDS = 2.5  # a rival apply that started with us has created its job by then
CLOCK_SKEW_SECONDS = 5
# created_at has one-second resolution, and an object shows in listings 0.5 s after its creation (ftops'
# assumption; Foundry documents none): a listing that began once Foundry's clock read an object's created_at
# second + UPLOAD_SETTLE_SECONDS shows every object created in that second or before. Its look is conclusive.
UPLOAD_SETTLE_SECONDS = 1.5
DEAD_FILE = frozenset({"error", "deleted"})
DEAD_JOB = frozenset({"cancelled", "failed"})


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


class SettleClient(Protocol):
    """What race settling asks of Foundry: the shared listings, reads of one object, and removing our own
    duplicate. FoundryClient has it; offline tests hand a fake of it to a Runtime."""

    def recent_files(self, created_after: int | None) -> tuple[list[LiveFile], float | None]: ...
    def recent_jobs(self, created_after: int | None) -> tuple[list[LiveJob], float | None]: ...
    def list_files(self) -> list[LiveFile]: ...
    def get_file(self, file_id: str) -> LiveFile: ...
    def get_job(self, job_id: str) -> LiveJob: ...
    def cancel_job(self, job_id: str) -> LiveJob: ...
    def delete_file(self, file_id: str) -> None: ...


if TYPE_CHECKING:
    _FOUNDRY_SETTLES: type[SettleClient] = FoundryClient  # mypy checks that the real client has all of it


class Silent:
    def start(self, action: Action) -> None: ...
    def progress(self, action: Action, advance: int, total: int | None) -> None: ...
    def status(self, action: Action, text: str) -> None: ...
    def warn(self, action: Action, text: str) -> None: ...
    def finish(self, action: Action, outcome: Outcome) -> None: ...


@dataclass(frozen=True)
class Created:
    """A job this run created, until its last look for rivals."""

    name: str
    ident: dict[str, str]
    at: float  # the run's clock (monotonic) when the create returned
    created_at: int  # Foundry's clock, whole seconds

    def settled_by(self, view: View) -> bool:
        """Whether a look in `view` is conclusive: it began after the creation, once Foundry's clock had left
        the creation's second far enough behind that no rival of that second or before can be missing."""
        return view.started >= self.at and view.clock >= self.created_at + UPLOAD_SETTLE_SECONDS


@dataclass
class Runtime:
    plan: Plan
    checked: CheckedProject
    client: FoundryClient
    wait_jobs: bool
    reporter: Reporter
    clock: Clock = SYSTEM  # what settling measures and waits by (tests: a fake one)
    files: dict[str, str] = field(default_factory=dict)  # dataset name -> file id
    jobs: dict[str, LiveJob] = field(default_factory=dict)  # job spec name -> the job to follow
    created: dict[str, Created] = field(default_factory=dict)  # job id -> the job's identity, until settled
    notes: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)  # set on Ctrl-C: waiting gives up at once
    deploy_lock: threading.Lock = field(default_factory=threading.Lock)  # Foundry: 409 on concurrent writes
    job_locks: dict[str, threading.Lock] = field(default_factory=dict)
    verdicts: dict[str, Verdict] = field(default_factory=dict)  # deployment -> the evaluation verdict of this run
    recent_files: Recent[LiveFile] = field(init=False)
    recent_jobs: Recent[LiveJob] = field(init=False)
    settler: Settler = field(init=False)
    guards: GuardWatch = field(init=False)  # training guards of the jobs --wait follows

    def __post_init__(self) -> None:
        # A rival was created after our plan's snapshot (else the plan would have adopted it): the shared
        # listings read only what is newer (5 s allow for clock skew), newest first.
        # An object is in listings UPLOAD_SETTLE_SECONDS after its created_at second began (the rule uploads
        # settle by: 1 s of resolution, 0.5 s to show), so a listing need not read again what an earlier
        # one, begun that long after, read.
        floor = int(self.plan.created_at) - CLOCK_SKEW_SECONDS
        offset = Offset()  # one Foundry clock: the uploads' looks learn it for the jobs' (and back)
        self.recent_files = Recent(lambda since: self.client.recent_files(since), lambda f: f.filename, floor,
                                   rescan=UPLOAD_SETTLE_SECONDS, clock=self.clock, offset=offset)
        self.recent_jobs = Recent(lambda since: self.client.recent_jobs(since),
                                  lambda j: content_key(j.metadata) or "", floor,
                                  rescan=UPLOAD_SETTLE_SECONDS, clock=self.clock, offset=offset)
        self.settler = Settler(self)
        self.guards = GuardWatch(self.checked, self.client)
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
        found = [j for j in self.client.list_jobs(metadata=job_lookup(self.plan.project, spec_hash))
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
            why = refusal(job)  # Azure's checks refused it: say so, and that no retry will pay for it again
            raise FtopsError(f"job {name} ({job.id}) {why}: {job.error}" if why else
                             f"job {name} ({job.id}) {job.status}: {job.error or 'no reason given'}")
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
            job = self.client.wait_job(job.id, stop=self.stop,
                                       until=lambda j: self._settle_due(j) or self.guards.check(name, j),
                                       on_status=lambda text: self.reporter.status(action, text),
                                       on_outage=lambda text: self.reporter.warn(action, text))
            self.guards.enforce(name, job)  # a training guard tripped: pause or cancel it, and stop here
            if self.stop.is_set():
                raise Deferred("interrupted while waiting; run apply again to continue")

    def _successor(self, action: Action, name: str, spec_hash: str, job: LiveJob) -> LiveJob:
        """A job we followed may be cancelled as a duplicate: by this run's settling (which then names the
        survivor in `jobs`), or by the concurrent apply that created it. Follow the job of the same spec hash
        that survives, if there is one."""
        for _ in range(3):
            if job.status != "cancelled":
                return job
            with self.lock:
                survivor: LiveJob | None = self.jobs.get(name)
            if survivor is None or survivor.id == job.id:
                ident = job_lookup(self.plan.project, spec_hash)
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
        return entry is not None and self.clock.monotonic() - entry.at >= SETTLE_SECONDS


class Settler:
    """Looks for rivals in the background, while the workers go on: one listing that began after the newest
    pending creation is the first look of every job created meanwhile, and the conclusive look of every
    earlier job whose creation second it is far enough past. Only this run's jobs are touched."""

    def __init__(self, rt: Runtime) -> None:
        self._rt = rt
        self._pending: dict[str, Created] = {}
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closing = False

    def add(self, job_id: str, created: Created) -> None:
        with self._cond:
            self._pending[job_id] = created
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="ftops-settle", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def close(self) -> None:
        """Finish the first looks still pending, then stop."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closing:
                    self._cond.wait()
                if not self._pending:
                    return
                batch, self._pending = self._pending, {}
            try:
                view = self._rt.recent_jobs.after(max(c.at for c in batch.values()))
                with self._rt.lock:
                    unsettled = dict(self._rt.created)
                for job_id, created in unsettled.items():
                    if job_id in batch or created.settled_by(view):
                        look(self._rt, job_id, created, view)
            except FtopsError:
                pass  # the jobs stay in `created`: the end of the run looks again (and says so if it cannot)


def first_look(rt: Runtime, job: LiveJob, name: str, ident: dict[str, str]) -> None:
    """Right after creating a job: follow it, and have it settled against a listing that begins after now."""
    created = Created(name, ident, rt.clock.monotonic(), job.created_at)
    with rt.lock:
        rt.jobs[name] = job
        rt.created[job.id] = created
    rt.settler.add(job.id, created)


def settle_job(rt: Runtime, name: str, job: LiveJob, *, final: bool = False) -> LiveJob:
    """If a concurrent apply created a job for the same hash first, cancel ours and follow theirs."""
    with rt.lock:
        created = rt.created.get(job.id)
    if created is None:
        return job
    if not final and rt.clock.monotonic() - created.at < SETTLE_SECONDS and job.active:
        return job  # the first look happened right after creation; look again once the window has passed
    # A job that has ended can no longer be cancelled: its last look need not wait to be conclusive.
    view = _conclusive(rt, [created]) if job.active else rt.recent_jobs.after(rt.clock.monotonic())
    return look(rt, job.id, created, view, last=True) or job


def look(rt: Runtime, job_id: str, created: Created, view: View, *, last: bool = False) -> LiveJob | None:
    """Settle our job `job_id` against a listing: if an older live job of its identity exists, cancel ours
    (once, whoever looks) and follow that one, which is returned; else None. A conclusive look (or the `last`
    one) settles the job for good: no later look is needed."""
    rival = _older_rival(rt, job_id, created.ident, view)
    with rt.lock:
        if rival is None:
            if last or created.settled_by(view):
                rt.created.pop(job_id, None)
            return None
        if rt.created.pop(job_id, None) is None:
            return None  # another look settled it already
        rt.jobs[created.name] = rival
    _cancel_duplicate(rt, job_id, rival.id)
    return rival


def _older_rival(rt: Runtime, job_id: str, ident: dict[str, str], view: View) -> LiveJob | None:
    """The oldest live job of `ident` if it is older than our live job `job_id`, as of `view`."""
    same = [j for j in rt.recent_jobs.group(content_key(ident) or "") if same_job(j.metadata, ident)]
    if not any(j.id == job_id and j.status not in DEAD_JOB for j in same):
        return None  # not listed (yet), or already ended: nothing to cancel
    for j in same:  # oldest first
        if j.id == job_id:
            return None
        now = _as_of(view, j, rt.client.get_job)
        if now is not None and now.status not in DEAD_JOB:
            return now
    return None


def _as_of(view: View, item: LiveT, read: Callable[[str], LiveT]) -> LiveT | None:
    """`item` as of `view`: read again when what the listings know of it is older; None once it is gone."""
    if view.is_current(item.created_at):
        return item
    try:
        return read(item.id)
    except FoundryNotFound:
        return None


def _cancel_duplicate(rt: Runtime, ours: str, theirs: str) -> None:
    """Cancel our duplicate and say truthfully what that achieved."""
    after = rt.client.cancel_job(ours)
    if after.status == "cancelled":
        rt.note(f"a concurrent apply created {theirs} first; cancelled our duplicate {ours}")
    else:
        rt.note(f"a concurrent apply created {theirs} first; our duplicate {ours} had already {after.status} "
                "(billed) and could not be cancelled; following the older job")


def oldest_upload(rt: Runtime, filename: str, created_at: int, known: LiveFile | None = None) -> LiveFile | None:
    """The upload of `filename` that survives racing applies: the oldest live one by (created_at, id).

    Looked at in a listing that began once Foundry's clock read UPLOAD_SETTLE_SECONDS past `created_at` (the
    jobs' rule): any rival that is older is listed by then, and one created later sees ours and deletes its
    own. `known` is an upload known to be live (ours, or the one the plan waits for).
    """
    view = rt.recent_files.at_server_time(created_at + UPLOAD_SETTLE_SECONDS, rt.stop)
    listed = [f for f in rt.recent_files.group(filename) if known is None or f.id != known.id]
    for f in sorted([*listed, *([known] if known else [])], key=lambda f: (f.created_at, f.id)):
        if known is not None and f.id == known.id:
            return known
        now = _as_of(view, f, rt.client.get_file)
        if now is not None and now.status not in DEAD_FILE:
            return now
    if known is None:  # the plan's upload is gone, and no newer one is known: the whole listing decides
        same = [f for f in rt.client.list_files() if f.filename == filename and f.status not in DEAD_FILE]
        return min(same, key=lambda f: (f.created_at, f.id), default=None)
    return None


def settle_upload(rt: Runtime, ours: LiveFile) -> LiveFile:
    """After our upload: if another apply uploaded the same bytes first, delete ours and use theirs.

    It runs before any job uses the file, so a deleted duplicate was never trained on.
    """
    oldest = oldest_upload(rt, ours.filename, ours.created_at, ours) or ours
    if oldest.id == ours.id:
        return ours
    rt.client.delete_file(ours.id)
    rt.note(f"a concurrent apply uploaded {oldest.id} first; deleted our duplicate upload {ours.id}")
    return oldest


def settle_all(rt: Runtime) -> None:
    """After all actions: the conclusive look of every job this run created that has not had one. Its listing
    begins once Foundry's clock is UPLOAD_SETTLE_SECONDS past the newest such job's creation second (waiting
    if it must: up to 1.5 s after the last creation) and after that creation returned; the background looks
    of the last jobs need the same listing and share it."""
    with rt.lock:
        unsettled = list(rt.created.values())
    if not unsettled:
        rt.settler.close()
        return
    view = _conclusive(rt, unsettled)
    rt.settler.close()
    with rt.lock:
        created = dict(rt.created)
    for job_id, c in created.items():
        look(rt, job_id, c, view, last=True)


def _conclusive(rt: Runtime, jobs: list[Created]) -> View:
    """A listing that settles all of `jobs` for good (see `Created.settled_by`)."""
    view = rt.recent_jobs.at_server_time(max(c.created_at for c in jobs) + UPLOAD_SETTLE_SECONDS, rt.stop)
    moment = max(c.at for c in jobs)
    return view if view.started >= moment else rt.recent_jobs.after(moment)
