"""The CLI's registry of action types: what each shows beyond the row every action has.

Every action renders the same row (its verb's symbol, resource, label, reason), its changed fields, its
progress and what it waits for, from the fields all actions share. What differs by type is here, one
`ActionView` per action type of the plan's `Action` union: the cost note after its row, the size of its
progress bar in apply, whether it deploys throwaway canaries. The renderers (`_render.py`, `_progress.py`)
look an action up with `view_of` and name no type; a type without an entry is an error (`UnknownKind`),
never drawn as another. Adding an action type: one `ActionView` line below.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from .. import UnknownKind
from ..plan import (
    ActionBase,
    CancelJob,
    CreateJob,
    DeleteDeployment,
    DeleteFile,
    DeleteRaiPolicy,
    EvaluateCandidates,
    ImportDataset,
    NoOp,
    PauseJob,
    Promote,
    PutRaiPolicy,
    ResumeJob,
    RollOut,
    UploadDataset,
    WaitFile,
    WaitJob,
)

A = TypeVar("A", bound=ActionBase)


def money(x: float) -> str:
    return f"${x:,.2f}"


@dataclass(frozen=True)
class ActionView(Generic[A]):
    """How the CLI shows one action type. Every field is set for every type: none falls back on another."""

    type: type[A]
    note: Callable[[A], str]  # after its row in `ftops plan`: what it costs ("" for nothing)
    size: Callable[[A], int | None]  # apply's progress bar: the bytes it sends; None: a spinner
    canaries: bool  # it deploys throwaway canaries, billed by the hour (the cost lines count these actions)


def no_note(_: ActionBase) -> str:
    return ""


def no_size(_: ActionBase) -> int | None:
    return None


def _upload_size(a: UploadDataset) -> int | None:
    return a.bytes


def _training_note(a: CreateJob) -> str:
    return f"  ~{money(a.cost.training_usd)} training" if a.cost.training_usd else ""


def _evaluation_note(a: EvaluateCandidates) -> str:
    if not a.tokens:
        return ""
    on = len(a.canaries) or "each candidate and the baseline on"
    return f"  ~{a.tokens:,} eval tokens ({on} {a.canary_sku} canaries)"


def _hosting_note(a: RollOut | Promote) -> str:
    # An update keeps the deployment's bill as it was: only a new (or recreated) deployment shows its cost.
    return f"  ~{money(a.cost.monthly_usd)}/month" if a.action in ("create", "replace") and a.cost.monthly_usd else ""


VIEWS: dict[type[ActionBase], ActionView[Any]] = {v.type: v for v in (
    ActionView(UploadDataset, no_note, _upload_size, canaries=False),
    ActionView(ImportDataset, no_note, no_size, canaries=False),  # Foundry fetches it: no bytes of ours
    ActionView(WaitFile, no_note, no_size, canaries=False),
    ActionView(CreateJob, _training_note, no_size, canaries=False),
    ActionView(WaitJob, no_note, no_size, canaries=False),
    ActionView(PauseJob, no_note, no_size, canaries=False),
    ActionView(ResumeJob, no_note, no_size, canaries=False),
    ActionView(CancelJob, no_note, no_size, canaries=False),
    ActionView(EvaluateCandidates, _evaluation_note, no_size, canaries=True),
    ActionView(RollOut, _hosting_note, no_size, canaries=False),
    ActionView(Promote, _hosting_note, no_size, canaries=False),
    ActionView(DeleteDeployment, no_note, no_size, canaries=False),
    ActionView(DeleteFile, no_note, no_size, canaries=False),
    ActionView(PutRaiPolicy, no_note, no_size, canaries=False),
    ActionView(DeleteRaiPolicy, no_note, no_size, canaries=False),
    ActionView(NoOp, no_note, no_size, canaries=False),
)}


def view_of(action: ActionBase) -> ActionView[Any]:
    """The entry of the action's type; a type this registry does not list is refused."""
    view = VIEWS.get(type(action))
    if view is None:
        raise UnknownKind(f"no renderer for action type {type(action).__name__} "
                          f"({action.kind} {action.action}; cli/_views.py VIEWS)")
    return view
