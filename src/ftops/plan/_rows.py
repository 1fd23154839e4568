"""The plan layer's registry of how each resource kind reads: its `ftops status` row and its `ftops drift` class.

One entry per `Kind`. `status_rows`, `drift_items`, `in_progress` and `verdicts` look each action's kind up
here (`rows_of`) and name no kind themselves; a kind without an entry is an error (`UnknownKind`), never
shown as another kind. Adding a kind: its row functions beside the others, and one `KIND_ROWS` line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .._exceptions import UnknownKind
from .._vocabulary import DriftClass
from ..foundry import Snapshot, owned_tag
from . import _matching as ident
from ._actions import Action, Kind, NoOp, Promote, RollOut, Verdict
from ._evaluations import TAG_VERDICT
from ._provenance import Provenance, recorded

DATASET_STATUS = {"no-op": "uploaded", "wait": "processing", "create": "not uploaded"}
JOB_STATUS = {"no-op": "succeeded", "create": "not submitted"}
DEPLOYMENT_STATUS = {"no-op": "in sync", "create": "not deployed", "update": "rollout pending"}
FILE_STATUS = {"no-op": "in use", "delete": "to delete (no spec names it)"}
RAI_POLICY_STATUS = {"no-op": "in sync", "create": "not created", "update": "update pending", "delete": "to delete"}

# What the live object has that ftops does not own and writes back unchanged: (settings, tags).
Unowned = tuple[dict[str, Any], dict[str, str]]


@dataclass(frozen=True)
class KindRows:
    """How the actions of one kind read as rows. Every field is set for every kind: none falls back on another."""

    status: Callable[[Action], tuple[str, str]]  # (status, detail) of its `ftops status` row
    drift: Callable[[Action], DriftClass | None]  # why live differs from git; None: it does not
    verdict: Callable[[Action], Verdict | None]  # the evaluation verdict the plan knows for it
    unowned: Callable[[Action, Snapshot], Unowned]  # from the live state the plan was made from
    provenance: Callable[[Action, Snapshot], Provenance | None]  # where its live object came from, as recorded


# -- shared by the kinds whose entries use them ------------------------------------------------------------
def planned_drift(a: Action) -> DriftClass | None:
    """The class the planner gave the difference, else `unapplied` for any change apply can make now."""
    if a.drift is not None:
        return a.drift
    if a.is_change:
        return "unapplied"
    return None


def no_verdict(_: Action) -> Verdict | None:
    return None


def nothing_unowned(_: Action, __: Snapshot) -> Unowned:
    return {}, {}


def no_provenance(_: Action, __: Snapshot) -> Provenance | None:
    return None


# -- per kind ----------------------------------------------------------------------------------------------
def _dataset(a: Action) -> tuple[str, str]:
    return DATASET_STATUS.get(a.action, a.action), "" if a.action == "no-op" and not a.drift else a.reason


def _job(a: Action) -> tuple[str, str]:
    if a.guard is not None:  # a training guard tripped: say which, on what values, and what it does
        return (a.progress.status if a.progress else a.action), " · ".join(
            [*(a.progress.details() if a.progress else []), a.reason])
    if a.progress is not None:
        return a.progress.status, " · ".join(a.progress.details())
    detail = f"model {a.fine_tuned_model}" if isinstance(a, NoOp) and a.fine_tuned_model else a.reason
    return JOB_STATUS.get(a.action, a.action), detail


def _evaluation(a: Action) -> tuple[str, str]:
    return ("evaluation pending" if a.pending else "not evaluated"), a.reason


def _deployment(a: Action) -> tuple[str, str]:
    status, detail = DEPLOYMENT_STATUS.get(a.action, a.action), a.reason
    if isinstance(a, RollOut | Promote) and a.action == "update" and not a.pending:
        status = "update pending"
    verdict = _deployment_verdict(a)
    if verdict is not None and verdict.reason not in detail:
        detail = f"{detail} · {verdict.reason}"
    return status, detail


def _deployment_verdict(a: Action) -> Verdict | None:
    return a.verdict if isinstance(a, NoOp | RollOut) else None


def _deployment_unowned(a: Action, live: Snapshot) -> Unowned:
    """ARM's other writable properties and the tags not named ftops-*, as they are live."""
    found = next((d for d in live.deployments if d.name == a.name), None)
    if found is None:
        return {}, {}
    return dict(found.settings), {k: v for k, v in found.tags.items() if not owned_tag(k)}


def _job_provenance(a: Action, live: Snapshot) -> Provenance | None:
    """The git source the job's metadata records."""
    found = next((j for j in live.jobs if j.id == a.live_id), None) if a.live_id else None
    return recorded(found.metadata) if found is not None else None


def _deployment_provenance(a: Action, live: Snapshot) -> Provenance | None:
    """The job, model, verdict and git source the deployment's tags record. A deployment carries a verdict
    only once it passed: a failed evaluation rolls nothing out (`plan_gate`, apply's `roll_out`)."""
    found = next((d for d in live.deployments if d.name == a.name), None)
    if found is None:
        return None
    tags = {k.lower(): v for k, v in found.tags.items()}  # Azure's tag names are case-insensitive
    job_id = tags.get(ident.TAG_JOB)
    job = next((j for j in live.jobs if j.id == job_id), None) if job_id else None
    return recorded(tags, job=job_id, model=tags.get(ident.TAG_MODEL),
                    final_model=job.fine_tuned_model if job is not None else None, verdict=tags.get(TAG_VERDICT))


def _file(a: Action) -> tuple[str, str]:
    return FILE_STATUS.get(a.action, a.action), a.reason


def _rai_policy(a: Action) -> tuple[str, str]:
    return RAI_POLICY_STATUS.get(a.action, a.action), "" if a.action == "no-op" and not a.drift else a.reason


KIND_ROWS: dict[Kind, KindRows] = {
    "Dataset": KindRows(_dataset, planned_drift, no_verdict, nothing_unowned, no_provenance),
    "FineTuningJob": KindRows(_job, planned_drift, no_verdict, nothing_unowned, _job_provenance),
    "Evaluation": KindRows(_evaluation, planned_drift, no_verdict, nothing_unowned, no_provenance),
    "Deployment": KindRows(_deployment, planned_drift, _deployment_verdict, _deployment_unowned,
                           _deployment_provenance),
    "File": KindRows(_file, planned_drift, no_verdict, nothing_unowned, no_provenance),
    "RaiPolicy": KindRows(_rai_policy, planned_drift, no_verdict, nothing_unowned, no_provenance),
}
_BY_NAME: dict[str, KindRows] = {str(kind): rows for kind, rows in KIND_ROWS.items()}  # any text is looked up


def rows_of(kind: str) -> KindRows:
    """The entry of `kind`; a kind this registry does not list is refused, not read as another."""
    rows = _BY_NAME.get(kind)
    if rows is None:
        raise UnknownKind(f"no status or drift rows for resource kind {kind!r} (plan/_rows.py KIND_ROWS)")
    return rows
