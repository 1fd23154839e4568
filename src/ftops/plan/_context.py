"""What the planner knows while it builds a plan: the inputs and what earlier steps decided."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ..checks import CheckedProject
from ..foundry import LiveDeployment, LiveFile, LiveJob
from ._actions import Action, Notice
from ._cost import LivePrices
from ._live import LiveIndex, LiveState
from ._provenance import GitSource
from ._upstream import NO_UPSTREAM, Upstream


@dataclass
class JobState:
    hash: str  # the training-content hash: the job's identity (`ftops-content`)
    spec_hash: str = ""  # the spec hash older ftops versions stored (`ftops-hash`): matches jobs made by them
    matches: list[LiveJob] = field(default_factory=list)  # this project's jobs of this identity, any spec name
    owner: str | None = None  # the project of `live` when it is another project's job (followed, never touched)
    live: LiveJob | None = None  # the job of this identity to follow, if any
    action_id: str | None = None  # the action others must wait for (create or wait)
    blocked: str | None = None
    paused: bool = False  # on hold by the spec (paused: true): dependents wait, nothing failed
    creating: bool = False  # this plan creates the job (dependents are changes of this plan, not pending)
    # Another project's job of this identity that Azure refused (FINAL_OUTCOMES): this content fails again.
    refused_elsewhere: LiveJob | None = None
    adopted: bool = False  # `live` is the job the spec adopts (made outside ftops; `plan/_adoption.py`)
    # The adopted job's fields that no longer equal the spec's (live, spec): why a new job replaces it.
    adopt_changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        # A finished job is usable once Foundry names its model (a null there is not yet done).
        return self.live is not None and self.live.status == "succeeded" and bool(self.live.fine_tuned_model)


@dataclass
class Ctx:
    checked: CheckedProject
    live: LiveState
    project: str
    prune: bool
    actions: list[Action] = field(default_factory=list)
    dataset_files: dict[str, LiveFile] = field(default_factory=dict)
    dataset_action: dict[str, str] = field(default_factory=dict)
    dataset_blocked: dict[str, str] = field(default_factory=dict)
    jobs: dict[str, JobState] = field(default_factory=dict)
    claimed: dict[str, str] = field(default_factory=dict)  # live job id -> the spec whose identity it carries
    borrowed: set[str] = field(default_factory=set)  # other projects' job ids this plan's decisions read
    notices: list[Notice] = field(default_factory=list)  # notifications to send (the last planning step)
    upstream: Upstream = NO_UPSTREAM  # what the accounts planned before this one offer it (`_upstream.py`)
    source: GitSource | None = None  # the git source the specs came from: recorded on what apply writes
    index: LiveIndex = field(init=False)  # the snapshot by name, spec and file: lookups in O(1)

    def __post_init__(self) -> None:
        self.index = LiveIndex(self.live.snapshot, self.project)

    @cached_property
    def prices(self) -> LivePrices:
        """Monthly hosting of live deployments no spec describes (orphans, canaries, other projects')."""
        return LivePrices(self.checked.catalog, self.live.snapshot)

    @cached_property
    def followed(self) -> frozenset[str]:
        """The Deployments some Deployment of the directory (in any account) follows, by name: asked once per
        deployment, so a set, not a scan of every Deployment each time (1,000 Deployments: 1,000,000 checks)."""
        return frozenset(d.spec.follows.deployment for d in self.checked.project.every_deployment.values()
                         if d.spec.follows is not None)

    def add(self, action: Action) -> Action:
        self.actions.append(action)
        return action


def serving(live: LiveDeployment) -> str:
    """What a live deployment serves, for a reason: Azure may report a deployment without a model (one
    being created or broken), which must not read `serves None`."""
    return live.model or "no model (Azure reports none)"
