"""The planner's registry and the status and drift rows: every kind has its entry, none falls back on another's."""

from __future__ import annotations

from typing import get_args

import pytest

from ftops import UnknownKind
from ftops.plan import NoOp, Plan, drift_items, in_progress, status_rows, verdicts
from ftops.plan._actions import Kind
from ftops.plan._kinds import STEPS
from ftops.plan._rows import KIND_ROWS, rows_of
from ftops.spec._documents import SPEC_MODELS


def test_every_action_kind_has_its_status_and_drift_rows() -> None:
    assert set(KIND_ROWS) == set(get_args(Kind))


def _plan_with_a_kind_no_registry_lists() -> Plan:
    # Pydantic refuses such an action in a plan file; model_construct stands for a kind added to the Action
    # union without its rows.
    copy = NoOp.model_construct(id="modelcopy.c:no-op", name="c", reason="copying", kind="ModelCopy", action="wait",
                                changes={}, depends_on=[], blocked=None, drift=None, pending=True)
    return Plan.model_construct(project="p", endpoint="e", actions=[copy], findings=[])


@pytest.mark.parametrize("read", [status_rows, drift_items, in_progress, verdicts])
def test_a_kind_without_rows_is_an_error_not_read_as_another(read: object) -> None:
    plan = _plan_with_a_kind_no_registry_lists()
    with pytest.raises(UnknownKind, match="'ModelCopy'"):
        read(plan)  # type: ignore[operator]
    with pytest.raises(UnknownKind):
        rows_of("Deployments")


def test_every_spec_kind_that_makes_actions_is_planned_once_in_dependency_order() -> None:
    planned = [s.plans for s in STEPS]
    # Foundry is where, not what: no actions. An Evaluation is planned with the Deployment it gates.
    assert set(SPEC_MODELS) - {"Foundry", "Evaluation"} <= set(planned)
    assert len(planned) == len(set(planned))
    assert planned.index("Dataset") < planned.index("FineTuningJob") < planned.index("Deployment")


def test_every_spec_kind_has_its_collection() -> None:
    from pathlib import Path

    from ftops.spec import Project
    from ftops.spec._documents import SPEC_KINDS

    project = Project(Path("."), Path("."))
    assert all(coll is None or getattr(project, coll) is project.resources[kind] for kind, (_, coll) in SPEC_KINDS.items())
    assert [k for k, (_, coll) in SPEC_KINDS.items() if coll is None] == ["Foundry"]
    assert set(project.resources) == set(SPEC_KINDS) - {"Foundry"}
