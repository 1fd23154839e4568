"""RaiPolicy specs and a Deployment's ARM fields, checked offline against ARM 2025-09-01's enums."""

from __future__ import annotations

import pytest

from ftops import ValidationFailed
from ftops.spec import load_project
from tests.conftest import BASE_SPEC, MakeProject

POLICY = """---
apiVersion: ftops/v1
kind: RaiPolicy
metadata: {name: strict}
spec:
  basePolicyName: Microsoft.DefaultV2
  mode: Asynchronous_filter
  contentFilters:
    - {name: Hate, source: Prompt, severityThreshold: Low, blocking: true, enabled: true}
  customBlocklists:
    - {blocklistName: words, source: Completion, blocking: true}
"""
SKU = "sku: {name: GlobalStandard, capacity: 50}"


def _problems(make_project: MakeProject, spec: str) -> list[str]:
    root = make_project(spec=spec)
    with pytest.raises(ValidationFailed) as e:
        load_project(root / "specs", root)
    return [f"{p.path}:{p.line}: {p.message}" for p in e.value.problems]


def test_a_policy_and_the_deployment_fields_load(make_project: MakeProject) -> None:
    spec = BASE_SPEC.replace(SKU, SKU + "\n  raiPolicyName: strict\n  versionUpgradeOption: NoAutoUpgrade\n"
                                       "  spilloverDeploymentName: spill\n  tags: {team: search}") + POLICY
    root = make_project(spec=spec)
    project = load_project(root / "specs", root)
    policy = project.rai_policies["strict"].spec
    assert policy.owned()["contentFilters"] == [{"name": "Hate", "source": "Prompt", "severityThreshold": "Low",
                                                 "blocking": True, "enabled": True}]
    dep = project.deployments["clippy-prod"].spec
    assert dep.owned_settings() == {"raiPolicyName": "strict", "versionUpgradeOption": "NoAutoUpgrade",
                                    "spilloverDeploymentName": "spill"} and dep.tags == {"team": "search"}


@pytest.mark.parametrize("name", ["Microsoft.Default", "Microsoft.DefaultV2", "Microsoft.Nil"])
def test_a_built_in_policy_needs_no_spec(make_project: MakeProject, name: str) -> None:
    root = make_project(spec=BASE_SPEC.replace(SKU, SKU + f"\n  raiPolicyName: {name}"))
    assert load_project(root / "specs", root).deployments["clippy-prod"].spec.rai_policy_name == name


@pytest.mark.parametrize(("name", "why"), [("missing", "which no RaiPolicy spec defines"),
                                           ("Microsoft.Strict", "is not one of Azure's built-in policies")])
def test_an_unknown_policy_is_refused_at_its_line(make_project: MakeProject, name: str, why: str) -> None:
    spec = BASE_SPEC.replace(SKU, SKU + f"\n  raiPolicyName: {name}")
    line = spec.splitlines().index(f"  raiPolicyName: {name}") + 1
    problems = _problems(make_project, spec)
    assert len(problems) == 1 and problems[0].startswith(f"specs/main.yaml:{line}: ") and why in problems[0]


@pytest.mark.parametrize(("edit", "expected"), [
    ("mode: Asynchronous_filter", "mode: must be one of"),
    ("severityThreshold: Low", "severityThreshold: must be one of"),
    ("source: Prompt", "source: must be one of"),
    ("basePolicyName: Microsoft.DefaultV2", "basePolicyName must be one of Azure's built-in policies"),
])
def test_arm_enums_are_checked_offline(make_project: MakeProject, edit: str, expected: str) -> None:
    key = edit.split(":")[0]
    problems = _problems(make_project, BASE_SPEC + POLICY.replace(edit, f"{key}: Bogus", 1))
    assert any(expected in p for p in problems), problems


def test_a_filter_named_twice_for_one_source_is_refused(make_project: MakeProject) -> None:
    twice = POLICY.replace("  customBlocklists:", "    - {name: hate, source: Prompt, severityThreshold: High}\n"
                                                   "  customBlocklists:")
    assert any("names 'hate' for Prompt twice" in p for p in _problems(make_project, BASE_SPEC + twice))


@pytest.mark.parametrize(("fields", "expected"), [
    ("versionUpgradeOption: Sometimes", "versionUpgradeOption: must be one of"),
    ("dynamicThrottlingEnabled: true", "read-only in ARM 2025-09-01"),
    ("tags: {ftops-job: x}", "are ftops' own"),
    ("tags: {Team: a, team: b}", "case-insensitive"),
    ("tags: {'a/b': x}", "tags.a/b"),
    ("tags: {team: " + "x" * 257 + "}", "tags.team"),
])
def test_deployment_fields_are_checked_offline(make_project: MakeProject, fields: str, expected: str) -> None:
    problems = _problems(make_project, BASE_SPEC.replace(SKU, SKU + "\n  " + fields))
    assert any(expected in p for p in problems), problems
