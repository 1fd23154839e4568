"""Drift: git vs live. Every difference `plan` would act on, classified so a person can act on it.

- unapplied: the specs changed and were not applied yet (including a finished job whose rollout is
  pending, and managed objects no spec names any more)
- modified: changed outside ftops (a deployment's sku or model edited, a job cancelled by hand)
- deleted: gone from Foundry (by a person, or by Foundry: 15 days unused, Developer tier after 24 h)
- failed: a job or an uploaded file failed
- foreign: a name the specs want is held by something ftops does not manage
- retiring: a model in use retires soon
- lags: a stage serves an earlier model than the stage it follows has passed (`model: {deployment: ...}`)
Work in progress (a running job, a rollout waiting for it) is not drift: it is listed apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._vocabulary import DriftClass
from ._actions import Action, NoOp, Plan
from ._rows import rows_of


@dataclass(frozen=True)
class DriftItem:
    kind: str  # one of DRIFT_KINDS
    resource: str
    reason: str
    action: str  # what apply would do about it
    outcome: str | None = None  # a failed job: how it ended (JOB_OUTCOMES), for machines

    def to_dict(self) -> dict[str, str | None]:
        return {"kind": self.kind, "resource": self.resource, "reason": self.reason, "action": self.action,
                "outcome": self.outcome}


def classify(a: Action) -> DriftClass | None:
    """Its kind's drift class (`KIND_ROWS`); None: not drift."""
    return rows_of(a.kind).drift(a)


def drift_items(plan: Plan) -> list[DriftItem]:
    items = [DriftItem(kind, a.resource, a.reason, a.action, a.outcome if isinstance(a, NoOp) else None)
             for a in plan.actions if (kind := classify(a))]
    items += [DriftItem("retiring", f.resource, f.message, "no-op") for f in plan.findings if f.kind == "retiring"]
    return items


def in_progress(plan: Plan) -> list[Action]:
    """What waits for Foundry: running jobs and the rollouts that follow them."""
    return [a for a in plan.actions if (a.action == "wait" or a.pending) and classify(a) is None]
