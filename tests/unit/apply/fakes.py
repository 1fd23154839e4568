"""Fakes for testing apply offline: a virtual clock, a Foundry that keeps files and jobs in memory with its own
clock and listing delay, and plans built by hand. Every test on them runs in milliseconds."""

from __future__ import annotations

import contextlib
import itertools
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar, cast

from ftops.apply._runtime import Runtime, SettleClient, Silent
from ftops.checks import CheckedProject, validate_dir
from ftops.foundry import DeploymentWrite, FoundryClient, LiveCheckpoint, LiveDeployment, LiveFile, LiveJob
from ftops.plan import Action, Plan
from ftops.plan import _matching as matching
from tests.conftest import BASE_SPEC, chat_jsonl

NOW = 1_800_000_000.0  # Foundry's clock when a test begins (the plan was made then)
START = 100.0  # the virtual monotonic clock when a test begins
PROJECT = "local"  # the base project's name (its Foundry document)
SPEC = BASE_SPEC + """---
apiVersion: ftops/v1
kind: Deployment
metadata: {name: clippy-stage}
spec:
  model: {job: clippy, checkpoint: final}
  sku: {name: GlobalStandard, capacity: 10}
"""
_ids = itertools.count(1)
Dated = TypeVar("Dated", LiveJob, LiveFile)


def new_id(prefix: str) -> str:
    return f"{prefix}{next(_ids):032x}"


def checked_project(root: Path) -> CheckedProject:
    """The unit tests' base project (two datasets, job `clippy`, deployments `clippy-prod` and `clippy-stage`)."""
    for name, text in {"specs/main.yaml": SPEC, "specs/data/train.jsonl": chat_jsonl(60),
                       "specs/data/valid.jsonl": chat_jsonl(12)}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return validate_dir(root / "specs", root)


class FakeClock:
    """Virtual time: a wait returns at once, having moved time forward by what it would have waited (unless its
    event is set). Several threads may share it."""

    def __init__(self, now: float = START) -> None:
        self._now = now
        self._lock = threading.Lock()
        self.waited: list[float] = []  # every wait, in seconds asked

    def monotonic(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds

    def wait(self, event: threading.Event, seconds: float) -> bool:
        self.waited.append(seconds)
        if event.is_set():
            return True
        self.advance(seconds)
        return event.is_set()


@dataclass
class _Listed:
    item: LiveJob | LiveFile
    visible_at: float  # Foundry's clock from which listings show it


@dataclass
class FakeFoundry:
    """Files and jobs in memory. Foundry's clock follows the virtual clock (NOW at START); a listing's Date is
    its whole second, and an object shows in listings `delay` seconds (Foundry's clock) after it was created,
    unless a test says otherwise. Only what race settling and the steps under test call is here."""

    clock: FakeClock
    offset: float = NOW - START  # Foundry's clock less the virtual monotonic clock
    delay: float = 0.0
    objects: dict[str, _Listed] = field(default_factory=dict)
    listings: list[tuple[str, float]] = field(default_factory=list)  # (files | jobs, Date) of every listing
    clocks: list[float] = field(default_factory=list)  # Foundry's clock (not rounded) when each listing was served
    cancelled: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    deployments: dict[str, LiveDeployment] = field(default_factory=dict)
    writes: list[str] = field(default_factory=list)  # deployment writes, in order ("put NAME", "delete NAME")
    lock: threading.Lock = field(default_factory=threading.Lock)

    def now(self) -> float:
        """Foundry's clock."""
        return self.clock.monotonic() + self.offset

    @property
    def server_time(self) -> float:
        """Foundry's clock as the client last saw it (`FoundryClient.server_time`): a rollout's `ftops-rolled-at`."""
        return self.now()

    # -- arranging ---------------------------------------------------------------------------------------
    def add_job(self, spec_hash: str, *, created_at: int | None = None, job_id: str | None = None,
                status: str = "running", visible_at: float | None = None, name: str = "clippy") -> LiveJob:
        created = int(self.now()) if created_at is None else created_at
        job = LiveJob(id=job_id or new_id("ftjob-"), status=status, model="gpt-4.1-mini-2025-04-14", created_at=created,
                      fine_tuned_model=None, metadata=matching.job_metadata(PROJECT, name, spec_hash, spec_hash),
                      training_file=None, validation_file=None, n_epochs=3)
        self._add(job, created, visible_at)
        return job

    def add_file(self, filename: str, *, created_at: int | None = None, file_id: str | None = None,
                 status: str = "processed", visible_at: float | None = None) -> LiveFile:
        created = int(self.now()) if created_at is None else created_at
        f = LiveFile(id=file_id or new_id("file-"), filename=filename, bytes=10, status=status, purpose="fine-tune",
                     created_at=created)
        self._add(f, created, visible_at)
        return f

    def _add(self, item: LiveJob | LiveFile, created: int, visible_at: float | None) -> None:
        with self.lock:
            self.objects[item.id] = _Listed(item, created + self.delay if visible_at is None else visible_at)

    def set_status(self, object_id: str, status: str) -> None:
        with self.lock:
            entry = self.objects[object_id]
            entry.item = replace(entry.item, status=status)

    def status(self, object_id: str) -> str:
        return self.objects[object_id].item.status

    # -- what race settling calls (SettleClient) -----------------------------------------------------------
    def recent_jobs(self, created_after: int | None) -> tuple[list[LiveJob], float | None]:
        return self._recent(LiveJob, "jobs", created_after)

    def recent_files(self, created_after: int | None) -> tuple[list[LiveFile], float | None]:
        return self._recent(LiveFile, "files", created_after)

    def _recent(self, kind: type[Dated], what: str, created_after: int | None) -> tuple[list[Dated], float | None]:
        now = self.now()
        with self.lock:
            self.listings.append((what, math.floor(now)))
            self.clocks.append(now)
            items = [e.item for e in self.objects.values() if isinstance(e.item, kind) and e.visible_at <= now
                     and (created_after is None or e.item.created_at >= created_after)]
        return sorted(items, key=lambda o: (o.created_at, o.id), reverse=True), math.floor(now)

    def list_files(self) -> list[LiveFile]:
        return self.recent_files(None)[0]

    def list_jobs(self, metadata: dict[str, str] | None = None) -> list[LiveJob]:
        return [j for j in self.recent_jobs(None)[0] if all(j.metadata.get(k) == v for k, v in (metadata or {}).items())]

    def get_job(self, job_id: str) -> LiveJob:
        return cast(LiveJob, self.objects[job_id].item)

    def get_file(self, file_id: str) -> LiveFile:
        return cast(LiveFile, self.objects[file_id].item)

    def cancel_job(self, job_id: str) -> LiveJob:
        self.cancelled.append(job_id)
        if self.get_job(job_id).active:
            self.set_status(job_id, "cancelled")
        return self.get_job(job_id)

    def delete_file(self, file_id: str) -> None:
        self.deleted.append(file_id)
        self.set_status(file_id, "deleted")

    # -- what the steps under test call --------------------------------------------------------------------
    @contextlib.contextmanager
    def stopping_on(self, stop: threading.Event) -> Iterator[None]:
        yield

    def wait_job(self, job_id: str, *, stop: threading.Event | None = None, **_: object) -> LiveJob:
        return self.get_job(job_id)

    def checkpoints(self, job_id: str) -> list[LiveCheckpoint]:
        return []

    def put_deployment(self, name: str, write: DeploymentWrite) -> LiveDeployment:
        self.writes.append(f"put {name}")
        d = LiveDeployment(name=name, model=write.model, sku_name=write.sku, capacity=write.capacity,
                           tags=dict(write.tags or {}), provisioning_state="Succeeded")
        self.deployments[name] = d
        return d

    def delete_deployment(self, name: str) -> None:
        self.writes.append(f"delete {name}")
        self.deployments.pop(name, None)

    def smoke(self, deployment: str, *, stop: threading.Event | None = None, **_: object) -> float:
        return 0.0


def as_client(fake: SettleClient) -> FoundryClient:
    """A fake where apply takes a FoundryClient (the fake has what the code under test calls of it)."""
    return cast(FoundryClient, fake)


def plan_of(*actions: Action, created_at: float = NOW) -> Plan:
    return Plan(project=PROJECT, endpoint="s/g/a", fingerprint="0" * 16, spec_fingerprint="0" * 16, spec_dir="specs",
                created_at=created_at, actions=list(actions))


def runtime(checked: CheckedProject, foundry: FakeFoundry, *actions: Action, wait_jobs: bool = True) -> Runtime:
    return Runtime(plan_of(*actions), checked, as_client(foundry), wait_jobs, Silent(), foundry.clock)
