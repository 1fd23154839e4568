"""What a later Foundry's plan knows of the Foundry accounts planned before it (issue 17: stages, promotion,
cross-account deployments).

A spec directory with several Foundry documents is planned account by account in `account_waves` order
(`spec/_foundries.py`): an account whose Deployments follow (`model: {deployment: NAME}`) or serve
(`model: {job: NAME}`) another account's objects is planned after that account. Each account's plan is decided
as before, from its own live state, plus the `Upstream` facts of the accounts before it; deciding stays pure.

Contract between the layers (the CLI's multi-account run, `session`, and the planner):
- `upstream_of(foundry, plan, live, account_id)`: the facts that Foundry's plan and live state offer to
  the accounts after it (every Deployment and FineTuningJob it manages), keyed by (foundry, name).
- `make_plan(..., upstream=...)` / `decide(..., upstream=...)`: plan one account with what came before.
- Merging: `Upstream.merged(other)`; an account's upstream is the merge of every earlier account's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ._actions import Plan
from ._live import LiveState


@dataclass(frozen=True)
class UpstreamDeployment:
    """A managed Deployment of an earlier account, as a follower sees it."""

    foundry: str  # the Foundry document (metadata.name) it lives in
    name: str  # the deployment's name
    account_id: str  # the ARM resource id of its account: the `source` of a cross-account deployment
    region: str
    model: str | None  # what it serves now (None: not deployed)
    settled: bool  # its own plan leaves it as it is: nothing planned or pending for it
    passed: bool | None  # its evaluation gate's verdict for `model` (None: it has no evaluation gate)
    since: float | None  # when it started serving `model` (epoch seconds), when known
    job_id: str | None = None  # the job `model` came from
    loss: float | None = None


@dataclass(frozen=True)
class UpstreamJob:
    """A managed FineTuningJob of an earlier account, as a cross-account deployment sees it."""

    foundry: str
    name: str
    account_id: str
    region: str
    job_id: str | None  # the live job of the spec's identity (None: not submitted)
    model: str | None  # its fine-tuned model once it succeeded
    waiting: str | None = None  # why there is no model yet (running, blocked, paused), for the plan's reason


@dataclass(frozen=True)
class Upstream:
    deployments: dict[tuple[str, str], UpstreamDeployment] = field(default_factory=dict)
    jobs: dict[tuple[str, str], UpstreamJob] = field(default_factory=dict)

    def merged(self, other: Upstream) -> Upstream:
        return Upstream({**self.deployments, **other.deployments}, {**self.jobs, **other.jobs})


NO_UPSTREAM = Upstream()


def upstream_of(foundry: str, plan: Plan, live: LiveState, account_id: str, region: str) -> Upstream:
    """The facts Foundry `foundry`'s plan and live state offer to the accounts planned after it."""
    del foundry, plan, live, account_id, region  # filled in by the promotion work (issue 17 items 2, 3)
    return NO_UPSTREAM
