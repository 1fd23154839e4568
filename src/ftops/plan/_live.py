"""What the planner knows of the live account: the listings, plus the events and checkpoints it asked for.

Deciding is pure: the planner reads only a `LiveState`. When it needs something the state lacks (a
running job's newest events, a finished job's checkpoints) it records the need and carries on with
what it has; `refresh` (the only code here that calls Foundry) fetches the needs and plans again.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property

from .._exceptions import FoundryError
from ..foundry import (
    EvalsClient,
    FoundryClient,
    LiveCheckpoint,
    LiveDeployment,
    LiveEval,
    LiveEvent,
    LiveFile,
    LiveJob,
    LiveModel,
    LiveRaiPolicy,
    LiveUsage,
    Snapshot,
    at_once,
    models_by_id,
    take_listings,
)
from . import _matching as ident

# The newest events read of a job: its progress, and the step metrics its training guards decide on (Azure
# lists events newest first, one call reads up to this many).
EVENTS_READ = 100


@dataclass(frozen=True)
class Needs:
    events: frozenset[str] = frozenset()  # job ids
    checkpoints: frozenset[str] = frozenset()  # job ids
    evals: bool = False  # the Evals listing (verdicts of evaluation-gated deployments)
    notified: bool = False  # the claims of notifications sent (files of purpose `evals`, `plan/_notifications.py`)

    def __bool__(self) -> bool:
        return bool(self.events or self.checkpoints or self.evals or self.notified)


@dataclass
class LiveState:
    snapshot: Snapshot
    events: dict[str, list[LiveEvent]] = field(default_factory=dict)
    checkpoints: dict[str, list[LiveCheckpoint]] = field(default_factory=dict)
    evals: list[LiveEval] | None = None  # None: not read (only plans with evaluation gates read it)
    eval_files: list[LiveFile] | None = None  # files of purpose `evals`, read with `evals` (leftover eval items)
    notified: list[LiveFile] | None = None  # files of purpose `evals` (notification claims); None: not read
    api_calls: int = 0
    now: float = field(default_factory=time.time)  # the planning clock (rollout grace, retirement dates)
    models: dict[str, LiveModel] | None = None  # base models the account offers; None: not known
    usages: dict[str, LiveUsage] | None = None  # the account's quotas; None: not known
    unknown: list[str] = field(default_factory=list)  # what could not be read (said in the plan)
    # The account's content filter policies (Azure's built-in ones too), by name in lowercase (ARM's names are not
    # case-sensitive).
    rai_policies: dict[str, LiveRaiPolicy] = field(default_factory=dict)
    _want_events: set[str] = field(default_factory=set)
    _want_checkpoints: set[str] = field(default_factory=set)
    _want_evals: bool = False
    _want_notified: bool = False

    def events_of(self, job_id: str) -> list[LiveEvent] | None:
        if job_id not in self.events:
            self._want_events.add(job_id)
            return None
        return self.events[job_id]

    def checkpoints_of(self, job_id: str) -> list[LiveCheckpoint] | None:
        if job_id not in self.checkpoints:
            self._want_checkpoints.add(job_id)
            return None
        return self.checkpoints[job_id]

    def evals_listed(self) -> list[LiveEval] | None:
        if self.evals is None:
            self._want_evals = True
        return self.evals

    def notified_listed(self) -> list[LiveFile] | None:
        if self.notified is None:
            self._want_notified = True
        return self.notified

    def take_needs(self) -> Needs:
        needs = Needs(frozenset(self._want_events), frozenset(self._want_checkpoints), self._want_evals,
                      self._want_notified)
        self._want_events.clear()
        self._want_checkpoints.clear()
        self._want_evals = self._want_notified = False
        return needs


class LiveIndex:
    """The snapshot indexed once per planning pass, so each spec finds its live objects in O(1).

    Without it every dataset, job and deployment spec scanned every live file, job or deployment:
    quadratic at a few thousand resources. Each lookup returns what the scan did, in snapshot order.
    """

    def __init__(self, snapshot: Snapshot, project: str) -> None:
        self.snapshot = snapshot
        self.project = project
        self.files_by_name: dict[str, list[LiveFile]] = defaultdict(list)
        for f in snapshot.files:
            self.files_by_name[f.filename].append(f)
        self.project_jobs: list[LiveJob] = []
        self.jobs_by_spec: dict[str, list[LiveJob]] = defaultdict(list)
        self.unlabelled_by_training_file: dict[str, list[LiveJob]] = defaultdict(list)
        self.jobs_by_content: dict[str, list[LiveJob]] = defaultdict(list)  # every project's managed jobs
        for j in snapshot.jobs:
            key = ident.content_key(j.metadata)
            if key is not None and ident.META_PROJECT in j.metadata:
                self.jobs_by_content[key].append(j)
            if j.metadata.get(ident.META_PROJECT) == project:
                self.project_jobs.append(j)
                spec = j.metadata.get(ident.META_SPEC)
                if spec is not None:
                    self.jobs_by_spec[spec].append(j)
            if ident.META_HASH not in j.metadata and j.training_file is not None:
                self.unlabelled_by_training_file[j.training_file].append(j)
        self.deployments_by_name: dict[str, LiveDeployment] = {}
        for d in snapshot.deployments:
            self.deployments_by_name.setdefault(d.name, d)  # the first one listed, as a scan would find

    @cached_property
    def _files_by_id(self) -> dict[str, LiveFile]:
        return {f.id: f for f in self.snapshot.files}

    @cached_property
    def _jobs_by_id(self) -> dict[str, LiveJob]:
        return {j.id: j for j in self.snapshot.jobs}

    def file(self, file_id: str) -> LiveFile | None:
        return self._files_by_id.get(file_id)

    def job(self, job_id: str) -> LiveJob | None:
        return self._jobs_by_id.get(job_id)

    def files_named(self, filename: str) -> list[LiveFile]:
        return self.files_by_name.get(filename, [])

    def jobs_of_spec(self, name: str) -> list[LiveJob]:
        """This project's live jobs whose metadata names spec `name`, in snapshot order."""
        return self.jobs_by_spec.get(name, [])

    def jobs_with_content(self, content: str, spec_hash: str) -> list[LiveJob]:
        """Every project's managed jobs of one identity: those that carry the content hash, then those from
        before content hashes that carry the spec hash of the same spec (callers order them as they need)."""
        return self.jobs_by_content.get(content, []) + self.jobs_by_content.get(ident.LEGACY + spec_hash, [])

    def unlabelled_jobs_on(self, file_id: str) -> list[LiveJob]:
        """Live jobs without an ftops spec hash that trained on `file_id`, in snapshot order."""
        return self.unlabelled_by_training_file.get(file_id, [])

    def deployment(self, name: str) -> LiveDeployment | None:
        return self.deployments_by_name.get(name)

    @cached_property
    def deleted_uploads(self) -> dict[str, str]:
        """sha256[:16] -> the id of a file this project's jobs trained on that is no longer listed.

        The first such (job, training then validation file) in snapshot order, as a scan would find.
        """
        live_ids = {f.id for f in self.snapshot.files}
        found: dict[str, str] = {}
        for job in self.project_jobs:
            fields = ident.stored_fields_of(job)
            for key, fid in (("training_data", job.training_file), ("validation_data", job.validation_file)):
                sha = fields.get(key)
                if fid and isinstance(sha, str) and fid not in live_ids:
                    found.setdefault(sha, fid)
        return found


def fetch(state: LiveState, client: FoundryClient, needs: Needs) -> None:
    """Fetch what a planning pass asked for (one call per job)."""
    before = client.api_calls
    for job_id in sorted(needs.events - state.events.keys()):
        state.events[job_id] = client.latest_events(job_id, limit=EVENTS_READ)
    for job_id in sorted(needs.checkpoints - state.checkpoints.keys()):
        state.checkpoints[job_id] = client.checkpoints(job_id)
    if needs.evals and state.evals is None:
        evals = EvalsClient(client)
        state.evals, state.eval_files = at_once(evals.list_evals, evals.list_item_files)
    if needs.notified and state.notified is None:
        state.notified = state.eval_files if state.eval_files is not None else EvalsClient(client).list_item_files()
    state.api_calls += client.api_calls - before


def read_live(client: FoundryClient) -> LiveState:
    """The listings (read at once: a number of calls that grows with pages, not with resources), as a state to
    plan from; the read the client began on connecting when this is its first (`foundry.take_listings`)."""
    read = take_listings(client)
    snap = read.snapshot
    state = LiveState(snap, api_calls=read.api_calls, now=snap.server_time or time.time(),
                      rai_policies={p.name.lower(): p for p in read.rai_policies})
    # Preflight is advice: without these lists, apply finds out instead.
    if isinstance(read.models, FoundryError):
        state.unknown.append(f"the account's model list ({read.models.message})")
    else:
        state.models = models_by_id(read.models)
    if isinstance(read.usages, FoundryError):
        state.unknown.append(f"the account's quota usages ({read.usages.message})")
    else:
        state.usages = read.usages
    return state
