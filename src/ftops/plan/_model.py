"""The Plan: actions with reasons, changed fields and dependencies; saved as versioned JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .._exceptions import FtopsError

FORMAT_VERSION = 1
ACTIONS = ("create", "update", "replace", "delete", "cancel", "pause", "resume", "wait", "no-op")
CHANGING = frozenset({"create", "update", "replace", "delete", "cancel", "pause", "resume"})
DRIFT_KINDS = ("missing", "modified", "failed", "cancelled", "unmanaged")


@dataclass
class Action:
    id: str  # unique in the plan, e.g. "job.clippy:create"
    kind: str  # Dataset | FineTuningJob | Deployment | File
    name: str
    action: str  # one of ACTIONS
    reason: str
    changes: dict[str, list[Any]] = field(default_factory=dict)  # field -> [live, desired]
    depends_on: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)  # what apply needs to execute it
    blocked: str | None = None  # why it cannot run (a failed job, a gate, an unmanaged name ...)
    drift: str | None = None  # missing | modified | failed | cancelled | unmanaged (for `ftops drift`)
    progress: str | None = None  # for running jobs: epoch, step, loss, estimated finish
    cost: dict[str, float] = field(default_factory=dict)  # training_usd, monthly_usd (estimates)

    @property
    def resource(self) -> str:
        return f"{self.kind}/{self.name}"

    @property
    def changes_something(self) -> bool:
        return self.action in CHANGING


@dataclass
class Plan:
    project: str
    endpoint: str
    fingerprint: str  # of the live state the plan was computed against
    spec_dir: str
    created_at: float
    actions: list[Action] = field(default_factory=list)
    prune: bool = False
    api_calls: int = 0
    format_version: int = FORMAT_VERSION

    @property
    def has_changes(self) -> bool:
        return any(a.changes_something for a in self.actions)

    def by_id(self) -> dict[str, Action]:
        return {a.id: a for a in self.actions}

    def totals(self) -> dict[str, float]:
        training = sum(a.cost.get("training_usd", 0.0) for a in self.actions if a.action in ("create", "replace"))
        monthly = sum(a.cost.get("monthly_usd", 0.0) for a in self.actions
                      if a.kind == "Deployment" and a.action != "delete")
        return {"training_usd": round(training, 2), "monthly_hosting_usd": round(monthly, 2)}

    def summary(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for a in self.actions:
            counts[a.action] = counts.get(a.action, 0) + 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["actions"] = [{"resource": a.resource, **asdict(a)} for a in self.actions]
        d["summary"] = self.summary()
        d["cost"] = {**self.totals(), "estimate": True, "currency": "USD"}
        d["has_changes"] = self.has_changes
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Plan:
        if d.get("format_version") != FORMAT_VERSION:
            raise FtopsError(f"plan file has format_version {d.get('format_version')!r}; this ftops reads "
                             f"{FORMAT_VERSION}")
        try:
            actions = [Action(**{k: v for k, v in a.items() if k != "resource"}) for a in d["actions"]]
            fields = {k: d[k] for k in ("project", "endpoint", "fingerprint", "spec_dir", "created_at", "prune",
                                        "api_calls")}
        except (KeyError, TypeError) as e:
            raise FtopsError(f"plan file is malformed: {e}") from None
        return cls(actions=actions, **fields)
