"""Execute a Plan: independent actions concurrently (bounded), deployment writes one at a time.

A failure stops only the actions that depend on it. Without --wait, actions that need a job's
result are deferred (a later apply continues where things stand). Every step is safe to repeat:
uploads are found again by name, jobs by their metadata, deployments are PUTs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from .._exceptions import FtopsError, PermanentFoundryError, StalePlanError
from ..checks import CheckedProject
from ..foundry import FoundryClient, LiveJob
from ..plan import Action, Plan, identity, job_request, resolve_model

DONE, NOOP, FAILED, SKIPPED, DEFERRED, BLOCKED = "done", "no-op", "failed", "skipped", "deferred", "blocked"


class Deferred(Exception):
    """The action needs a job that has not finished, and apply was not asked to --wait."""


class Reporter(Protocol):
    def start(self, action: Action) -> None: ...
    def progress(self, action: Action, advance: int, total: int | None) -> None: ...
    def status(self, action: Action, text: str) -> None: ...
    def finish(self, action: Action, outcome: Outcome) -> None: ...


class _Silent:
    def start(self, action: Action) -> None: ...
    def progress(self, action: Action, advance: int, total: int | None) -> None: ...
    def status(self, action: Action, text: str) -> None: ...
    def finish(self, action: Action, outcome: Outcome) -> None: ...


@dataclass
class Outcome:
    action_id: str
    state: str  # done | no-op | failed | skipped | deferred | blocked
    message: str = ""
    seconds: float = 0.0


@dataclass
class ApplyResult:
    outcomes: list[Outcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def count(self, state: str) -> int:
        return sum(1 for o in self.outcomes if o.state == state)

    @property
    def ok(self) -> bool:
        return not any(o.state in (FAILED, SKIPPED, BLOCKED) for o in self.outcomes)


class _Runtime:
    """What actions learn while running: uploaded file ids, created and finished jobs."""

    def __init__(self, plan: Plan, checked: CheckedProject, client: FoundryClient, wait_jobs: bool,
                 reporter: Reporter) -> None:
        self.plan = plan
        self.checked = checked
        self.client = client
        self.wait_jobs = wait_jobs
        self.reporter = reporter
        self.files: dict[str, str] = {}
        self.jobs: dict[str, LiveJob] = {}
        # job id -> (identity, when) for jobs this run created and has not yet checked for rivals
        self.created: dict[str, tuple[dict[str, str], float]] = {}
        self.notes: list[str] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()  # set on Ctrl-C: waiting steps give up at once
        self.deploy_lock = threading.Lock()  # Foundry answers 409 to concurrent deployment writes
        self.job_locks: dict[str, threading.Lock] = {}
        for a in plan.actions:
            if a.kind == "Dataset" and "file_id" in a.params:
                self.files[a.name] = a.params["file_id"]

    def job_lock(self, name: str) -> threading.Lock:
        with self.lock:
            return self.job_locks.setdefault(name, threading.Lock())

    def settle_due(self, job_id: str) -> bool:
        with self.lock:
            entry = self.created.get(job_id)
        return entry is not None and time.monotonic() - entry[1] >= SETTLE_SECONDS

    def known_job(self, name: str, spec_hash: str) -> LiveJob | None:
        with self.lock:
            if name in self.jobs:
                return self.jobs[name]
        for a in self.plan.actions:
            if a.kind == "FineTuningJob" and a.name == name and a.action in ("no-op", "wait", "pause", "resume") \
                    and "job_id" in a.params and not a.blocked and ":cancel:" not in a.id and ":keep:" not in a.id:
                return self.client.get_job(a.params["job_id"])
        found = [j for j in self.client.list_jobs(metadata=identity.job_metadata(self.plan.project, name, spec_hash))
                 if j.status != "cancelled"]
        return min(found, key=lambda j: (j.created_at, j.id)) if found else None

    def await_job(self, action: Action, name: str, spec_hash: str) -> LiveJob:
        """The succeeded job for spec `name`; polls with --wait, else Deferred while it runs."""
        with self.job_lock(name):
            job = self.known_job(name, spec_hash)
            if job is None:
                raise Deferred(f"job {name} has not been created yet")
            job = settle_race(self, name, job)
            while job.active:
                if not self.wait_jobs:
                    raise Deferred(f"waits for job {name} ({job.id} is {job.status}); run apply again or use --wait")
                self.reporter.status(action, f"waiting for {job.id}: {job.status}")
                if self.stop.wait(self.client.poll_interval):
                    raise Deferred("interrupted while waiting; run apply again to continue")
                job = self.client.get_job(job.id)
                if self.settle_due(job.id):
                    job = settle_race(self, name, job, final=True)
            job = settle_race(self, name, job, final=True)
            with self.lock:
                self.jobs[name] = job
        if job.status != "succeeded":
            raise FtopsError(f"job {name} ({job.id}) {job.status}: {job.error or 'no reason given'}")
        return job


def _upload(rt: _Runtime, a: Action) -> str:
    report = rt.checked.reports.get(a.name)
    if report is None or report.sha256 != a.params["sha256"]:
        raise StalePlanError(f"dataset {a.name} changed since the plan was made; plan again")
    total = int(a.params["bytes"])
    f = rt.client.upload(Path(a.params["path"]), a.params["filename"],
                         progress=lambda n: rt.reporter.progress(a, n, total))
    f = rt.client.wait_file(f.id) if f.status != "processed" else f
    if f.status != "processed":
        raise FtopsError(f"Foundry rejected {f.id}: {f.status_details or f.status}")
    with rt.lock:
        rt.files[a.name] = f.id
    return f"uploaded {f.id}"


def _wait_file(rt: _Runtime, a: Action) -> str:
    f = rt.client.wait_file(a.params["file_id"])
    if f.status != "processed":
        raise FtopsError(f"Foundry rejected {f.id}: {f.status_details or f.status}")
    return f"{f.id} processed"


def _create_job(rt: _Runtime, a: Action) -> str:
    p = a.params
    base_model = p.get("base_model")
    if base_model is None:
        base_model = rt.await_job(a, p["base_job"], p["base_hash"]).fine_tuned_model
    spec = rt.checked.project.jobs.get(a.name)
    if spec is None:
        raise StalePlanError(f"job {a.name} is no longer in the specs; plan again")
    files = {name: rt.files[name] for name in filter(None, (spec.spec.training_data, spec.spec.validation_data))}
    body, ident = job_request(rt.checked, a.name, str(base_model), files)
    if p.get("base_model") is not None and ident[identity.META_HASH] != p["spec_hash"]:
        raise StalePlanError(f"job {a.name}: the spec or its data changed since the plan was made; plan again")
    if p.get("base_model") is None:
        # The hash was not known at plan time (the base job had not finished): look before creating.
        existing = [j for j in rt.client.list_jobs(metadata=ident) if j.status != "cancelled"]
        if existing and not a.reason.startswith("retry"):
            job = min(existing, key=lambda j: (j.created_at, j.id))
            with rt.lock:
                rt.jobs[a.name] = job
            return f"adopted {job.id} (created earlier for the same spec hash)"
    # One call. The plan's snapshot (or a saved plan's fingerprint check) showed no job for this hash;
    # a concurrent apply that created one meanwhile is settled after creation (see settle_races).
    job = rt.client.create_job(body, ident)
    if job.metadata.get(identity.META_HASH) != ident[identity.META_HASH]:
        # Without its metadata the job cannot be found again, and every run would submit another.
        raise PermanentFoundryError(
            f"Foundry did not keep the metadata of {job.id}; ftops identifies jobs by it and would resubmit "
            "on every run, so it stops here (the next plan blocks this job's spec until this is resolved)")
    with rt.lock:
        rt.jobs[a.name] = job
        rt.created[job.id] = (ident, time.monotonic())
    return f"submitted {job.id}"


SETTLE_SECONDS = 2.5  # a rival apply that started with us has created its job by then
CLOCK_SKEW_SECONDS = 5


def settle_race(rt: _Runtime, name: str, job: LiveJob, *, final: bool = False) -> LiveJob:
    """If a concurrent apply created a job for the same hash first, cancel ours and use theirs.

    Checked right after creation and once more SETTLE_SECONDS later (a rival may not be visible at
    the first look); `final` ends the watch. The rule is the same in every process: the oldest by
    (created_at, id) survives, and each apply cancels only the jobs it created itself.
    """
    with rt.lock:
        entry = rt.created.get(job.id)
    if entry is None:
        return job
    ident, _ = entry
    if final:
        with rt.lock:
            rt.created.pop(job.id, None)
    rivals = [j for j in rt.client.list_jobs(metadata=ident) if j.status not in ("cancelled", "failed")]
    oldest = min(rivals, key=lambda j: (j.created_at, j.id), default=job)
    if oldest.id == job.id or not any(j.id == job.id for j in rivals):
        return job
    rt.client.cancel_job(job.id)
    with rt.lock:
        rt.created.pop(job.id, None)
        rt.jobs[name] = oldest
        rt.notes.append(f"a concurrent apply created {oldest.id} first; cancelled our duplicate {job.id}")
    return oldest


def settle_races(rt: _Runtime) -> None:
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
            rt.client.cancel_job(job_id)
            rt.notes.append(f"a concurrent apply created {oldest.id} first; cancelled our duplicate {job_id}")


def _job_transition(rt: _Runtime, a: Action) -> str:
    fn = {"cancel": rt.client.cancel_job, "pause": rt.client.pause_job, "resume": rt.client.resume_job}[a.action]
    job = fn(a.params["job_id"])
    return f"{job.id} is {job.status}"


def _wait_job(rt: _Runtime, a: Action) -> str:
    job = rt.await_job(a, a.name, a.params["spec_hash"])
    return f"{job.id} succeeded: {job.fine_tuned_model}"


def _deploy(rt: _Runtime, a: Action) -> str:
    p = a.params
    job = rt.await_job(a, p["job"], p["job_hash"])
    spec = rt.checked.project.deployments.get(a.name)
    if spec is None:
        raise StalePlanError(f"deployment {a.name} is no longer in the specs; plan again")
    model, loss = p.get("model"), p.get("loss")
    if model is None or p.get("job_id") != job.id:
        resolved = resolve_model(rt.client, job, spec.spec, p.get("served_loss"))
        if resolved.blocked:
            raise FtopsError(f"rollout blocked: {resolved.blocked}")
        model, loss = resolved.model, resolved.loss
    tags = identity.deployment_tags(rt.plan.project, a.name, p["spec_hash"], job.id, loss, str(model))
    with rt.deploy_lock:
        if a.action == "replace":
            rt.client.delete_deployment(a.name)
        rt.client.put_deployment(a.name, str(model), p["sku"], int(p["capacity"]), tags)
    return f"serves {model}"


def _delete(rt: _Runtime, a: Action) -> str:
    if a.kind == "Deployment":
        with rt.deploy_lock:
            rt.client.delete_deployment(a.params["deployment"])
        return "deleted"
    if a.kind == "File":
        rt.client.delete_file(a.params["file_id"])
        return "deleted"
    raise FtopsError(f"cannot delete a {a.kind}")


def _step(a: Action) -> Callable[[_Runtime, Action], str] | None:
    if a.kind == "Dataset":
        return {"create": _upload, "wait": _wait_file}.get(a.action)
    if a.kind == "FineTuningJob":
        return {"create": _create_job, "cancel": _job_transition, "pause": _job_transition,
                "resume": _job_transition, "wait": _wait_job}.get(a.action)
    if a.kind == "Deployment" and a.action in ("create", "update", "replace"):
        return _deploy
    if a.action == "delete":
        return _delete
    return None


def apply_plan(plan: Plan, checked: CheckedProject, client: FoundryClient, *, wait_jobs: bool = False,
               concurrency: int = 8, reporter: Reporter | None = None) -> ApplyResult:
    """Run the plan's actions in dependency order; returns every action's outcome (never prints)."""
    rep = reporter or _Silent()
    rt = _Runtime(plan, checked, client, wait_jobs, rep)
    actions = plan.by_id()
    outcomes: dict[str, Outcome] = {}
    for a in plan.actions:
        if a.blocked:
            outcomes[a.id] = Outcome(a.id, BLOCKED, a.blocked)
        elif _step(a) is None:
            outcomes[a.id] = Outcome(a.id, NOOP, a.reason)
    for o in outcomes.values():
        rep.finish(actions[o.action_id], o)

    def run(a: Action) -> Outcome:
        rep.start(a)
        t0 = time.monotonic()
        step = _step(a)
        assert step is not None
        try:
            return Outcome(a.id, DONE, step(rt, a), time.monotonic() - t0)
        except Deferred as d:
            return Outcome(a.id, DEFERRED, str(d), time.monotonic() - t0)
        except FtopsError as e:
            return Outcome(a.id, FAILED, str(e), time.monotonic() - t0)

    pending = {a.id for a in plan.actions if a.id not in outcomes}
    running: dict[Future[Outcome], str] = {}
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="ftops-apply")
    try:
        while pending or running:
            progressed = False
            for aid in sorted(pending):
                deps = [d for d in actions[aid].depends_on if d in actions]
                if any(d not in outcomes for d in deps):
                    continue
                pending.discard(aid)
                progressed = True
                bad = [d for d in deps if outcomes[d].state in (FAILED, SKIPPED, BLOCKED)]
                if bad:
                    o = Outcome(aid, SKIPPED, f"skipped: {bad[0]} did not succeed")
                elif actions[aid].action == "wait" and not wait_jobs and actions[aid].kind == "FineTuningJob":
                    o = Outcome(aid, DEFERRED, f"{actions[aid].reason} (use --wait to follow it)")
                else:
                    running[pool.submit(run, actions[aid])] = aid
                    continue
                outcomes[aid] = o
                rep.finish(actions[aid], o)
            if not running:
                if pending and not progressed:  # a dependency cycle or unknown ids: nothing more can run
                    for aid in sorted(pending):
                        outcomes[aid] = Outcome(aid, SKIPPED, "skipped: its dependencies can never finish")
                    pending.clear()
                continue
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in done:
                aid = running.pop(fut)
                o = fut.result()
                outcomes[aid] = o
                rep.finish(actions[aid], o)
    except KeyboardInterrupt:
        # Stop waiting, let in-flight requests finish (each step is safe to repeat), then re-raise.
        rt.stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    try:
        settle_races(rt)
    except FtopsError as e:
        rt.notes.append(f"could not check for concurrent duplicates ({e}); the next plan cancels any")
    return ApplyResult([outcomes[a.id] for a in plan.actions], rt.notes)
