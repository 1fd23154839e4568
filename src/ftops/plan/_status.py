"""`ftops status`: one row per managed object with its live status, progress and served model."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..foundry import Snapshot
from ._actions import Action, NoOp, Plan, Verdict
from ._provenance import Provenance
from ._rows import rows_of


@dataclass(frozen=True)
class StatusRow:
    kind: str
    name: str
    live_id: str
    status: str
    detail: str
    # What ftops does not own of the live object, as it is live (a deployment: ARM's other writable
    # properties, tags not named ftops-*). ftops writes them back unchanged and never reports them as drift.
    settings: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    # Jobs: how the followed job ended when it failed (`data_refused`, `safety_failed` ...: JOB_OUTCOMES).
    outcome: str | None = None
    # Where its live object came from, as Foundry's metadata or tags record it (None: nothing recorded).
    provenance: Provenance | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _row(a: Action, live: Snapshot | None) -> StatusRow:
    rows = rows_of(a.kind)
    status, detail = rows.status(a)
    if a.blocked:
        status = "blocked"
    settings, tags = rows.unowned(a, live) if live is not None else ({}, {})
    outcome = a.outcome if isinstance(a, NoOp) else None
    provenance = rows.provenance(a, live) if live is not None else None
    return StatusRow(a.kind, a.name, a.live_id or "", status, detail, settings, tags, outcome, provenance)


def status_rows(plan: Plan, live: Snapshot | None = None) -> list[StatusRow]:
    """Derived from a read-only plan: what exists, what it is doing, and what apply would change; with the
    `live` snapshot the plan was made from, a row also shows what ftops does not own of its live object
    and where that object came from (each kind's entry in `KIND_ROWS` says what these are)."""
    return [_row(a, live) for a in plan.actions]


def verdicts(plan: Plan) -> list[tuple[str, Verdict]]:
    """(resource name, verdict) of each evaluation-gated resource whose verdict the plan knows."""
    return [(a.name, v) for a in plan.actions if (v := rows_of(a.kind).verdict(a)) is not None]
