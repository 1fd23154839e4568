"""`ftops status`: one row per managed object with its live status, progress and served model."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ._model import Plan


@dataclass(frozen=True)
class StatusRow:
    kind: str
    name: str
    live_id: str
    status: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def status_rows(plan: Plan) -> list[StatusRow]:
    """Derived from a read-only plan: what exists, what it is doing, and what apply would change."""
    rows: list[StatusRow] = []
    for a in plan.actions:
        live_id = str(a.params.get("file_id") or a.params.get("job_id") or a.params.get("deployment") or "")
        detail = a.reason
        if a.kind == "Dataset":
            status = {"no-op": "uploaded", "wait": "processing", "create": "not uploaded"}.get(a.action, a.action)
            detail = "" if a.action == "no-op" and not a.drift else detail
        elif a.kind == "FineTuningJob":
            status = (a.progress or "").split(" · ")[0] or {"no-op": "succeeded", "create": "not submitted"}.get(
                a.action, a.action)
            if a.progress:
                detail = " · ".join(a.progress.split(" · ")[1:])
            elif a.action == "no-op" and " succeeded: " in a.reason:
                detail = "model " + a.reason.split(" succeeded: ", 1)[1]
        else:
            status = {"no-op": "in sync", "create": "not deployed", "update": "rollout pending"}.get(a.action, a.action)
            live_id = a.name if a.action != "create" else ""
        if a.blocked:
            status = "blocked"
        rows.append(StatusRow(a.kind, a.name, live_id, status, detail))
    return rows
