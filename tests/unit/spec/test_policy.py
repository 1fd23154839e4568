"""The Policy kind as `ftops validate` reads it: one rule, its enforcement, an expression parsed at its line."""

from __future__ import annotations

import pytest

from ftops._exceptions import ValidationFailed
from ftops.spec import load_project
from tests.conftest import BASE_SPEC, MakeProject


def _problems(make_project: MakeProject, spec: str) -> list[str]:
    root = make_project(spec=BASE_SPEC + "---\napiVersion: ftops/v1\nkind: Policy\nmetadata: {name: rule}\n" + spec)
    with pytest.raises(ValidationFailed) as e:
        load_project(root / "specs")
    return [str(p) for p in e.value.problems]


def test_a_malformed_expression_is_named_at_its_file_and_line(make_project: MakeProject) -> None:
    lines = BASE_SPEC.count("\n") + 4
    (problem,) = _problems(make_project, "spec:\n  enforcement: advisory\n  expression: 'plan.actions.exists(a, '\n"
                                         "  message: m\n")
    assert problem.startswith(f"specs/main.yaml:{lines + 3}: spec.expression:") and "not a CEL expression" in problem


@pytest.mark.parametrize(("spec", "message"), [
    ("{enforcement: advisory}", "exactly one rule"),
    ("{enforcement: advisory, noDeleteServing: true, allowedRegions: [swedencentral]}",
     "found: allowedRegions, noDeleteServing"),
    ("{enforcement: advisory, expression: 'true'}", "an expression needs its message"),
    ("{enforcement: advisory, noDeleteServing: true, message: m}", "message goes with expression"),
    ("{enforcement: soft, noDeleteServing: true}", "must be one of 'advisory', 'soft-mandatory' or 'hard-mandatory'"),
    ("{enforcement: advisory, allowedDeploymentSkus: [Premium]}", "allowedDeploymentSkus.0"),
    ("{enforcement: advisory, requireEvaluation: 'prod-(.*)+'}", "requireEvaluation"),
    ("{enforcement: advisory, maxTrainingCostPerPlan: -1}", "maxTrainingCostPerPlan"),
])
def test_policy_shapes_that_are_refused(make_project: MakeProject, spec: str, message: str) -> None:
    problems = _problems(make_project, f"spec: {spec}\n")
    assert any(message in p for p in problems), problems


def test_a_policy_loads_into_the_projects_collection(make_project: MakeProject) -> None:
    root = make_project(spec=BASE_SPEC + "---\napiVersion: ftops/v1\nkind: Policy\nmetadata: {name: eu}\n"
                                         "spec: {enforcement: hard-mandatory, allowedRegions: [swedencentral]}\n")
    project = load_project(root / "specs")
    assert project.policies["eu"].spec.rule == "allowedRegions"
