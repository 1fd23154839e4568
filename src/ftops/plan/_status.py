"""`ftops status`: one row per managed object with its live status, progress and served model."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ._model import Action, EvaluateCandidates, NoOp, Plan, RollOut, Verdict

DATASET_STATUS = {"no-op": "uploaded", "wait": "processing", "create": "not uploaded"}
JOB_STATUS = {"no-op": "succeeded", "create": "not submitted"}
DEPLOYMENT_STATUS = {"no-op": "in sync", "create": "not deployed", "update": "rollout pending"}


@dataclass(frozen=True)
class StatusRow:
    kind: str
    name: str
    live_id: str
    status: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def _row(a: Action) -> StatusRow:
    detail = a.reason
    if a.kind == "Dataset":
        status = DATASET_STATUS.get(a.action, a.action)
        detail = "" if a.action == "no-op" and not a.drift else detail
    elif a.kind == "FineTuningJob":
        status = a.progress.status if a.progress else JOB_STATUS.get(a.action, a.action)
        if a.progress is not None:
            detail = " · ".join(a.progress.details())
        elif isinstance(a, NoOp) and a.fine_tuned_model:
            detail = f"model {a.fine_tuned_model}"
    elif isinstance(a, EvaluateCandidates):
        status = "evaluation pending" if a.pending else "not evaluated"
    else:
        status = DEPLOYMENT_STATUS.get(a.action, a.action)
        if isinstance(a, RollOut) and a.action == "update" and not a.pending:
            status = "update pending"
        verdict = a.verdict if isinstance(a, NoOp | RollOut) else None
        if verdict is not None and verdict.reason not in detail:
            detail = f"{detail} · {verdict.reason}"
    if a.blocked:
        status = "blocked"
    return StatusRow(a.kind, a.name, a.live_id or "", status, detail)


def status_rows(plan: Plan) -> list[StatusRow]:
    """Derived from a read-only plan: what exists, what it is doing, and what apply would change."""
    return [_row(a) for a in plan.actions]


def verdicts(plan: Plan) -> list[tuple[str, Verdict]]:
    """(deployment, verdict) of each evaluation-gated deployment whose verdict the plan knows."""
    return [(a.name, a.verdict) for a in plan.actions if isinstance(a, NoOp | RollOut) and a.verdict is not None]
