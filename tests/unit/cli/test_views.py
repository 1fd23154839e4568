"""The CLI's registry of action types: every type of the plan's Action union has its view, none is a default."""

from __future__ import annotations

from typing import Literal, get_args

import pytest

from ftops import UnknownKind
from ftops.cli._progress import ProgressReporter
from ftops.cli._render import SYMBOL, plan_markdown, plan_text
from ftops.cli._views import VIEWS, view_of
from ftops.plan import ACTIONS, Action, ActionBase, Plan


def test_every_action_type_has_one_view_and_every_verb_a_symbol() -> None:
    union = get_args(get_args(Action)[0])
    assert set(VIEWS) == set(union) and len(union) == len(VIEWS)
    assert all(view.type is cls for cls, view in VIEWS.items())
    assert set(SYMBOL) == set(ACTIONS)


class CopyModel(ActionBase):
    """An action type added to the plan without its view."""

    op: Literal["model.copy"] = "model.copy"
    kind: Literal["Deployment"] = "Deployment"
    action: Literal["create"] = "create"


def _plan(action: ActionBase) -> Plan:
    return Plan.model_construct(project="p", endpoint="e", data_plane="", actions=[action], findings=[],
                                hosting_before_usd=0.0, unmanaged=Plan.model_fields["unmanaged"].get_default(
                                    call_default_factory=True))


def test_an_action_type_without_a_view_is_an_error_at_every_renderer() -> None:
    copy = CopyModel(id="model.c:create", name="c", reason="copy")
    with pytest.raises(UnknownKind, match="CopyModel"):
        view_of(copy)
    with pytest.raises(UnknownKind):
        plan_text(_plan(copy))
    with pytest.raises(UnknownKind):
        plan_markdown(_plan(copy))
    with ProgressReporter(enabled=False) as progress, pytest.raises(UnknownKind):
        progress.start(copy)  # type: ignore[arg-type]
