"""The promotion chains of a run over several accounts (issue 17: "the plan shows the chain dev → staging → prod
with what each serves and what each would serve").

A chain is a path of Deployments, each following the one before (`model: {deployment: NAME}`), from a Deployment
that follows none (where a model is judged) to one that nobody follows; a stage followed by two Deployments
starts two chains. Each stage reads as its account's plan and live state leave it: what it serves now, whether
its evaluation passed that, and what the plan does with it (nothing, a promotion, a soak, a wait, a block),
from typed fields only (`Promote.soaking`, `Promote.upstream`, `blocked`), never from a reason's text.
Pure: it reads the Project, the plans and the live states it is given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ..spec import DeploymentSpec, Project, Resource, followed, source_job
from ._actions import Action, Plan, Promote, RollOut
from ._live import LiveState
from ._upstream import deployment_fact

# in_sync: the plan leaves it as it is; moves: the plan rolls it to `next_model`; soaks: it will serve
# `next_model` once the soak is over; waits: for the stage before (`waits_for`) or Foundry (`why`);
# blocked: `why`; not_planned: its account is not in this run.
StageState = Literal["in_sync", "moves", "soaks", "waits", "blocked", "not_planned"]


@dataclass(frozen=True)
class ChainStage:
    foundry: str
    deployment: str
    state: StageState
    serves: str | None = None  # the model it serves now (None: not deployed, or not planned)
    passed: bool | None = None  # its evaluation passed `serves` (None: nothing says it is gated)
    next_model: str | None = None  # moves / soaks: the model it would serve
    soak_left: float | None = None  # soaks: seconds left, by Foundry's clock
    waits_for: str | None = None  # waits: the stage before, `<foundry>/<deployment>`
    why: str | None = None  # blocked, or waits on Foundry: the plan's words, shown as they are

    @property
    def ref(self) -> str:
        return f"{self.foundry}/{self.deployment}"

    def to_dict(self) -> dict[str, Any]:
        return {"foundry": self.foundry, "deployment": self.deployment, "state": self.state,
                "serves": self.serves, "passed": self.passed, "next_model": self.next_model,
                "soak_left_seconds": None if self.soak_left is None else round(self.soak_left),
                "waits_for": self.waits_for, "why": self.why}


@dataclass(frozen=True)
class PromotionChain:
    job: str | None  # the FineTuningJob whose models travel the chain (None: the first stage serves no job)
    stages: tuple[ChainStage, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"job": self.job, "stages": [s.to_dict() for s in self.stages]}


def promotion_chains(project: Project, accounts: Mapping[str, tuple[Plan, LiveState]]) -> list[PromotionChain]:
    """Every chain of follows in `project` that touches an account of `accounts` (Foundry name → its plan and the
    live state it was decided from), in spec order of the first stage."""
    deps = project.every_deployment
    followers: dict[str, list[Resource[DeploymentSpec]]] = {}
    for dep in deps.values():
        target = followed(project, dep)
        if target is not None:
            followers.setdefault(target.name, []).append(dep)
    chains: list[PromotionChain] = []
    for head in deps.values():
        if followed(project, head) is None and head.name in followers:
            job = source_job(project, head)
            for path in _paths(head, followers):
                if any(str(d.foundry) in accounts for d in path):
                    chains.append(PromotionChain(job.name if job is not None else None,
                                                 tuple(_stage(d, accounts) for d in path)))
    return chains


def _paths(head: Resource[DeploymentSpec], followers: Mapping[str, list[Resource[DeploymentSpec]]]
           ) -> list[list[Resource[DeploymentSpec]]]:
    """Every path from `head` down to a Deployment nobody follows (validate refuses cycles; a path never
    visits a Deployment twice)."""
    out: list[list[Resource[DeploymentSpec]]] = []
    todo = [[head]]
    while todo:
        path = todo.pop()
        nexts = [d for d in followers.get(path[-1].name, []) if d.name not in {p.name for p in path}]
        if not nexts:
            out.append(path)
        todo += [[*path, d] for d in reversed(nexts)]
    return out


def _stage(dep: Resource[DeploymentSpec], accounts: Mapping[str, tuple[Plan, LiveState]]) -> ChainStage:
    foundry = str(dep.foundry)
    if foundry not in accounts:
        return ChainStage(foundry, dep.name, "not_planned")
    plan, live = accounts[foundry]
    found = next((d for d in live.snapshot.deployments if d.name == dep.name), None)
    fact = deployment_fact(foundry, dep.name, plan.actions, found, "", "")
    state = _state(dep.name, plan.actions, fact.settled, live.now)
    # A follower in step with its stage has no gate of its own (passed None) but carries the verdict that stage's
    # plan passed its model with (`verdict`: from the plans, never a tag): shown as passed.
    passed = fact.passed if fact.passed is not None else (True if fact.verdict else None)
    return ChainStage(foundry, dep.name, serves=fact.model, passed=passed, **state)


def _state(name: str, actions: list[Action], settled: bool, now: float) -> dict[str, Any]:
    """What the plan does with Deployment `name`: the typed fields of its action (one per deployment). A change
    that keeps the model (capacity, tags) is no move along the chain."""
    mine = next((a for a in actions if a.kind == "Deployment" and a.name == name), None)
    if mine is not None and mine.blocked:
        return {"state": "blocked", "why": mine.blocked}
    if isinstance(mine, Promote) and mine.soaking is not None:
        return {"state": "soaks", "next_model": mine.soaking.model,
                "soak_left": max(0.0, mine.soaking.until - now)}
    if isinstance(mine, Promote) and mine.pending:
        return {"state": "waits", "waits_for": mine.upstream}
    if mine is not None and mine.changes_something and not mine.pending:
        if "model" not in mine.changes:  # capacity, settings or tags only: it keeps serving its model
            return {"state": "in_sync"}
        return {"state": "moves", "next_model": mine.model if isinstance(mine, Promote | RollOut) else None}
    if not settled:  # its job trains, its evaluation runs, its rollout waits for them
        why = mine.reason if mine is not None and mine.pending else None
        return {"state": "waits", "why": why or "waits for Foundry"}
    return {"state": "in_sync"}
