"""What a later Foundry's plan knows of the Foundry accounts planned before it (issue 17: stages, promotion,
cross-account deployments).

A spec directory with several Foundry documents is planned account by account in `account_waves` order
(`spec/_foundries.py`): an account whose Deployments follow (`model: {deployment: NAME}`) or serve
(`model: {job: NAME}`) another account's objects is planned after that account. Each account's plan is decided
as before, from its own live state, plus the `Upstream` facts of the accounts before it; deciding stays pure.

Contract between the layers (the CLI's multi-account run, `session`, and the planner):
- `upstream_of(foundry, plan, live, account_id, region)`: the facts that Foundry's plan and live state offer to
  the accounts after it (every Deployment and FineTuningJob it manages), keyed by (foundry, name).
- `make_plan(..., upstream=...)` / `decide(..., upstream=...)`: plan one account with what came before.
- Merging: `Upstream.merged(other)`; an account's upstream is the merge of every earlier account's.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..foundry import ROLLED_AT_TAG, LiveDeployment
from . import _matching as ident
from ._actions import Action, EvaluateCandidates, NoOp, Plan, RollOut, Verdict
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
    # Why it is not settled (its plan's reason: rolling out, job running, evaluation pending), for a follower's.
    waiting: str | None = None
    verdict: str | None = None  # the verdict that promoted `model` (its `ftops-verdict` tag), copied by a follower
    # The account `model` was trained in when it is served from another one (its own `source`): a follower
    # deploys it from there, not from `account_id`, which does not hold it.
    source: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.foundry}/{self.name}"


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

    @property
    def ref(self) -> str:
        return f"{self.foundry}/{self.name}"


@dataclass(frozen=True)
class Upstream:
    deployments: dict[tuple[str, str], UpstreamDeployment] = field(default_factory=dict)
    jobs: dict[tuple[str, str], UpstreamJob] = field(default_factory=dict)

    def merged(self, other: Upstream) -> Upstream:
        return Upstream({**self.deployments, **other.deployments}, {**self.jobs, **other.jobs})


NO_UPSTREAM = Upstream()


def upstream_of(foundry: str, plan: Plan, live: LiveState, account_id: str, region: str) -> Upstream:
    """The facts Foundry `foundry`'s plan and live state offer to the accounts planned after it: every
    Deployment and FineTuningJob its plan decided on. Read from a plan made after that account was applied
    (and `live`, the state it was made from): what it still has to change reads as not settled, and its
    followers wait for it."""
    deployed = {d.name: d for d in live.snapshot.deployments}
    deployments: dict[tuple[str, str], UpstreamDeployment] = {}
    for name in _spec_names(plan.actions, "Deployment"):
        deployments[(foundry, name)] = deployment_fact(foundry, name, plan.actions, deployed.get(name), account_id,
                                                       region)
    jobs = {(foundry, name): job_fact(foundry, name, plan.actions, account_id, region)
            for name in _spec_names(plan.actions, "FineTuningJob")}
    return Upstream(deployments, jobs)


def _spec_names(actions: Iterable[Action], kind: str) -> list[str]:
    """The names the plan's actions of `kind` concern (a deleted one offers nothing). An orphan's name is among
    them, harmless: a later account looks up only the names its specs follow."""
    return list(dict.fromkeys(a.name for a in actions if a.kind == kind and a.action != "delete"))


def deployment_fact(foundry: str, name: str, actions: Iterable[Action], live: LiveDeployment | None,
                    account_id: str, region: str) -> UpstreamDeployment:
    """Deployment `name` as its plan (`actions`) and its live object leave it: what it serves, whether the
    plan leaves it settled, and whether its evaluation passed what it serves (pure; shared with a follower in
    the same account, which reads the plan being decided)."""
    mine: list[Action] = [a for a in actions if (a.kind == "Deployment" and a.name == name)
                          or (isinstance(a, EvaluateCandidates) and a.deployment == name)]
    moving = [a for a in mine if a.changes_something or a.pending]
    model = live.model if live is not None and live.model else None
    tags = live.tags if live is not None else {}
    ours = model is not None and tags.get(ident.TAG_MODEL) == model  # ftops rolled out what it serves
    return UpstreamDeployment(
        foundry=foundry, name=name, account_id=account_id, region=region, model=model, settled=not moving,
        passed=_passed(mine, model), since=_number(tags.get(ROLLED_AT_TAG)) if ours else None,
        job_id=tags.get(ident.TAG_JOB) if ours else None, loss=_number(tags.get(ident.TAG_LOSS)) if ours else None,
        waiting=_bounded(moving[0].reason) if moving else None, verdict=_verdict_text(mine, model),
        source=live.source if live is not None else None)


def _passed(mine: list[Action], model: str | None) -> bool | None:
    """True when this plan's own evaluation gate (the verdicts Foundry holds, judged again by this plan) passed
    `model` as its winner; False when the deployment is gated and this plan gave `model` no passing verdict (a
    failed gate, a hand edit); None when nothing in the plan says it is gated. Never read from the deployment's
    tags: anyone who may write the deployment may write `ftops-verdict`, and a follower must not promote a model
    on a person's say-so (docs/reference.md, "What a follower trusts")."""
    if model is None:
        return None
    verdicts = [v for v in (_verdict_of(a) for a in mine) if v is not None]
    if any(v.passed and v.winner == model for v in verdicts):
        return True
    gated = verdicts or any(isinstance(a, EvaluateCandidates) or (isinstance(a, RollOut) and a.evaluation is not None)
                            for a in mine)
    return False if gated else None


def _verdict_of(a: Action) -> Verdict | None:
    return a.verdict if isinstance(a, NoOp | RollOut) else None


def _verdict_text(mine: list[Action], model: str | None) -> str | None:
    """The verdict a follower copies into its `ftops-verdict` (shown, and what `requireEvaluation` looks for):
    this plan's passing verdict for `model`, or, for a stage that itself follows one and is in step with it, the
    verdict its own stage's plan handed it (`NoOp.carried_verdict`). Never the deployment's tag: a person's
    `ftops-verdict` on a middle stage would otherwise satisfy `requireEvaluation` further down the chain."""
    for a in mine:
        v = _verdict_of(a)
        if v is not None and v.passed and v.winner == model:
            return v.reason  # a follower's tag keeps 256 characters of it, as `verdict_tag` does
        if isinstance(a, NoOp) and a.carried_verdict and a.served_model == model:
            return a.carried_verdict
    return None


def job_fact(foundry: str, name: str, actions: Iterable[Action], account_id: str, region: str) -> UpstreamJob:
    """FineTuningJob `name` as its plan leaves it: its live job, and its model once it succeeded."""
    mine = [a for a in actions if a.kind == "FineTuningJob" and a.name == name]
    done = next((a for a in mine if isinstance(a, NoOp) and a.fine_tuned_model and not a.blocked), None)
    moving = [a for a in mine if a is not done]
    if done is not None and not any(a.changes_something or a.pending for a in moving):
        return UpstreamJob(foundry, name, account_id, region, done.live_id, done.fine_tuned_model)
    live_id = next((a.live_id for a in mine if a.live_id), None)
    waiting = next((a.blocked or a.reason for a in mine), "not planned")
    return UpstreamJob(foundry, name, account_id, region, live_id, None, waiting)


# A follower's reason quotes why its stage is not settled, and that stage's reason may quote its own stage's:
# down a chain of follows each reason would hold every one before it (a chain of about 100 stages passed an
# action's 4,000-character reason and ended the plan in an internal error). The cause is at the head.
MAX_WAITING = 240


def _bounded(reason: str) -> str:
    return reason if len(reason) <= MAX_WAITING else reason[:MAX_WAITING - 1].rstrip() + "…"


def _number(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None
