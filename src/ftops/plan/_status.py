"""`ftops status`: one row per managed object with its live status, progress and served model."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from ..foundry import LiveDeployment, owned_tag
from ._actions import Action, Kind, NoOp, Plan, RollOut, Verdict

DATASET_STATUS = {"no-op": "uploaded", "wait": "processing", "create": "not uploaded"}
JOB_STATUS = {"no-op": "succeeded", "create": "not submitted"}
DEPLOYMENT_STATUS = {"no-op": "in sync", "create": "not deployed", "update": "rollout pending"}
FILE_STATUS = {"no-op": "in use", "delete": "to delete (no spec names it)"}
RAI_POLICY_STATUS = {"no-op": "in sync", "create": "not created", "update": "update pending", "delete": "to delete"}


@dataclass(frozen=True)
class StatusRow:
    kind: str
    name: str
    live_id: str
    status: str
    detail: str
    # Deployments: what ftops does not own, as it is live (ARM's other writable properties, tags not
    # named ftops-*). ftops writes them back unchanged and never reports them as drift.
    settings: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# What a row says per kind of resource: (status, detail) of its action. Every Kind has one (a test checks);
# none is a default for another.
_Words = Callable[[Action], tuple[str, str]]


def _dataset(a: Action) -> tuple[str, str]:
    return DATASET_STATUS.get(a.action, a.action), "" if a.action == "no-op" and not a.drift else a.reason


def _job(a: Action) -> tuple[str, str]:
    if a.progress is not None:
        return a.progress.status, " · ".join(a.progress.details())
    detail = f"model {a.fine_tuned_model}" if isinstance(a, NoOp) and a.fine_tuned_model else a.reason
    return JOB_STATUS.get(a.action, a.action), detail


def _evaluation(a: Action) -> tuple[str, str]:
    return ("evaluation pending" if a.pending else "not evaluated"), a.reason


def _deployment(a: Action) -> tuple[str, str]:
    status, detail = DEPLOYMENT_STATUS.get(a.action, a.action), a.reason
    if isinstance(a, RollOut) and a.action == "update" and not a.pending:
        status = "update pending"
    verdict = a.verdict if isinstance(a, NoOp | RollOut) else None
    if verdict is not None and verdict.reason not in detail:
        detail = f"{detail} · {verdict.reason}"
    return status, detail


def _file(a: Action) -> tuple[str, str]:
    return FILE_STATUS.get(a.action, a.action), a.reason


def _rai_policy(a: Action) -> tuple[str, str]:
    return RAI_POLICY_STATUS.get(a.action, a.action), "" if a.action == "no-op" and not a.drift else a.reason


STATUS_WORDS: dict[Kind, _Words] = {"Dataset": _dataset, "FineTuningJob": _job, "Evaluation": _evaluation,
                                    "Deployment": _deployment, "File": _file, "RaiPolicy": _rai_policy}


def _row(a: Action) -> StatusRow:
    status, detail = STATUS_WORDS[a.kind](a)
    if a.blocked:
        status = "blocked"
    return StatusRow(a.kind, a.name, a.live_id or "", status, detail)


def status_rows(plan: Plan, deployments: Iterable[LiveDeployment] = ()) -> list[StatusRow]:
    """Derived from a read-only plan: what exists, what it is doing, and what apply would change; with the
    live `deployments` the plan was made from, each deployment row also shows what ftops does not own."""
    live = {d.name: d for d in deployments}
    return [_with_unowned(_row(a), live.get(a.name) if a.kind == "Deployment" else None) for a in plan.actions]


def _with_unowned(row: StatusRow, live: LiveDeployment | None) -> StatusRow:
    if live is None:
        return row
    tags = {k: v for k, v in live.tags.items() if not owned_tag(k)}
    return StatusRow(row.kind, row.name, row.live_id, row.status, row.detail, dict(live.settings), tags)


def verdicts(plan: Plan) -> list[tuple[str, Verdict]]:
    """(deployment, verdict) of each evaluation-gated deployment whose verdict the plan knows."""
    return [(a.name, a.verdict) for a in plan.actions if isinstance(a, NoOp | RollOut) and a.verdict is not None]
