"""The planner's registry and the status words: every kind has its entry, none falls back on another's."""

from __future__ import annotations

from typing import get_args

from ftops.plan._actions import Kind
from ftops.plan._kinds import STEPS
from ftops.plan._status import STATUS_WORDS
from ftops.spec._documents import SPEC_MODELS


def test_every_action_kind_has_its_status_words() -> None:
    assert set(STATUS_WORDS) == set(get_args(Kind))


def test_every_spec_kind_that_makes_actions_is_planned_once_in_dependency_order() -> None:
    planned = [s.plans for s in STEPS]
    # Foundry is where, not what: no actions. An Evaluation is planned with the Deployment it gates. A Policy
    # judges the whole plan once it is decided (plan/_policies.py), it makes no actions.
    assert set(SPEC_MODELS) - {"Foundry", "Evaluation", "Policy"} <= set(planned)
    assert len(planned) == len(set(planned))
    assert planned.index("Dataset") < planned.index("FineTuningJob") < planned.index("Deployment")


def test_every_spec_kind_has_its_collection() -> None:
    from pathlib import Path

    from ftops.spec import Project
    from ftops.spec._documents import SPEC_KINDS

    project = Project(Path("."), Path("."))
    assert all(coll is None or isinstance(getattr(project, coll), dict) for _, coll in SPEC_KINDS.values())
    assert [k for k, (_, coll) in SPEC_KINDS.items() if coll is None] == ["Foundry"]
