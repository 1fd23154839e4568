"""Drift: the plan in read-only mode, each difference classified. In-progress work is not drift."""

from __future__ import annotations

from dataclasses import dataclass

from ._model import Plan


@dataclass(frozen=True)
class DriftItem:
    kind: str  # missing | modified | failed | cancelled | unmanaged
    resource: str
    reason: str
    action: str  # what apply would do about it

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "resource": self.resource, "reason": self.reason, "action": self.action}


def drift_items(plan: Plan) -> list[DriftItem]:
    return [DriftItem(a.drift, a.resource, a.reason, a.action) for a in plan.actions if a.drift]
