"""Policies judged on the pure planner's plans, offline: each built-in, expressions, overrides, the tags."""

from __future__ import annotations

import pytest

from ftops._exceptions import PolicyBlocked, UsageError
from ftops.plan import (
    Override,
    Plan,
    apply_overrides,
    decide_destroy,
    name_matches,
    override_tags,
    require_policies,
)
from tests.conftest import BASE_SPEC, MakeProject
from tests.unit.plan.snapshots import World, world


def policy(name: str, rule: str, enforcement: str = "hard-mandatory") -> str:
    return f"""---
apiVersion: ftops/v1
kind: Policy
metadata: {{name: {name}}}
spec:
  enforcement: {enforcement}
  {rule}
"""


def judged(make_project: MakeProject, *policies: str, spec: str = BASE_SPEC) -> tuple[World, Plan]:
    w = world(make_project(spec=spec + "".join(policies)))
    return w, w.plan()


def results(plan: Plan) -> dict[str, tuple[bool, list[str]]]:
    return {r.policy: (r.passed, r.resources) for r in plan.policies}


def test_allowed_training_types_blocks_a_new_job_of_another_type(make_project: MakeProject) -> None:
    _, plan = judged(make_project, policy("eu", "allowedTrainingTypes: [Standard]"),
                     policy("any", "allowedTrainingTypes: [Standard, GlobalStandard]"))
    assert results(plan) == {"any": (True, []), "eu": (False, ["FineTuningJob/clippy"])}
    assert [r.policy for r in plan.policy_blocks] == ["eu"]
    assert "FineTuningJob/clippy trains as GlobalStandard" in plan.policies[1].message
    with pytest.raises(PolicyBlocked, match=r"policy eu \(hard-mandatory, allowedTrainingTypes\) blocks the plan"):
        require_policies(plan)


def test_allowed_deployment_skus_names_the_rollout_and_its_sku(make_project: MakeProject) -> None:
    _, plan = judged(make_project, policy("std", "allowedDeploymentSkus: [Standard]"))
    (r,) = plan.policies
    rollout = next(a for a in plan.actions if a.kind == "Deployment")
    assert (r.passed, r.resources, r.actions) == (False, ["Deployment/clippy-prod"], [rollout.id])
    assert "deploys as GlobalStandard" in r.message and r.rule == "allowedDeploymentSkus"


def test_allowed_regions_read_the_foundry_region(make_project: MakeProject) -> None:
    _, plan = judged(make_project, policy("eu", "allowedRegions: [westeurope]"),
                     policy("se", "allowedRegions: [swedencentral]"))
    assert results(plan)["se"] == (True, [])
    assert results(plan)["eu"][0] is False and "Deployment/clippy-prod" in results(plan)["eu"][1]
    assert "region swedencentral is not one of westeurope" in plan.policies[0].message


def test_cost_limits_compare_the_plans_totals(make_project: MakeProject) -> None:
    _, plan = judged(make_project, policy("hosting", "maxHostingIncreasePerMonth: 1"),
                     policy("generous", "maxHostingIncreasePerMonth: 100000000"),
                     policy("training", "maxTrainingCostPerPlan: 0"),
                     policy("training-ok", "maxTrainingCostPerPlan: 100000"))
    t = plan.totals()
    assert t["monthly_hosting_delta_usd"] > 1 and t["training_usd"] > 0
    r = results(plan)
    assert r["hosting"] == (False, ["Deployment/clippy-prod"]) and r["generous"][0]
    assert r["training"] == (False, ["FineTuningJob/clippy"]) and r["training-ok"][0]


def test_no_delete_serving_blocks_pruning_or_destroying_a_serving_deployment(make_project: MakeProject) -> None:
    w = world(make_project(spec=BASE_SPEC + policy("keep", "noDeleteServing: true")))
    w.uploads()
    job = w.job("clippy")
    w.deploy("clippy-prod", job)
    assert results(w.plan()) == {"keep": (True, [])}  # nothing is deleted
    destroy = decide_destroy(w.checked, w.state(), created_at=w.now)
    assert results(destroy) == {"keep": (False, ["Deployment/clippy-prod"])}
    assert "serves and would be deleted" in destroy.policies[0].message
    assert {a.resource for a in destroy.actions} >= {"Deployment/clippy-prod"}
    assert not any(a.kind == "FineTuningJob" for a in destroy.actions)  # jobs stay


def test_destroy_deletes_files_and_saves_the_hosting(make_project: MakeProject) -> None:
    w = world(make_project())
    w.uploads()
    w.deploy("clippy-prod", w.job("clippy"))
    plan = decide_destroy(w.checked, w.state(), created_at=w.now)
    assert sorted(a.op for a in plan.actions) == ["deployment.delete", "file.delete", "file.delete"]
    t = plan.totals()
    assert t["monthly_hosting_usd"] == 0 and t["monthly_hosting_delta_usd"] == -t["monthly_hosting_before_usd"] < 0


def test_destroy_keeps_a_file_a_running_job_trains_on(make_project: MakeProject) -> None:
    w = world(make_project())
    w.uploads()
    w.job("clippy", status="running")
    plan = decide_destroy(w.checked, w.state(), created_at=w.now)
    assert [a.op for a in plan.actions] == ["noop", "noop"] and not plan.has_changes


def test_require_evaluation_matches_deployment_names(make_project: MakeProject) -> None:
    _, plan = judged(make_project, policy("gated", 'requireEvaluation: "clippy-*"'),
                     policy("other", 'requireEvaluation: "prod-*"'))
    assert results(plan) == {"gated": (False, ["Deployment/clippy-prod"]), "other": (True, [])}


@pytest.mark.parametrize(("pattern", "name", "matches"), [
    ("prod-*", "prod-eu", True), ("prod-*", "dev-prod", False), ("*-prod", "clippy-prod", True),
    ("c?ippy", "clippy", True), ("*", "", True), ("a*a*a*a*a*a*a*a*b", "a" * 64, False),
])
def test_name_patterns(pattern: str, name: str, matches: bool) -> None:
    assert name_matches(pattern, name) is matches


def test_an_expression_sees_the_plan_its_cost_and_the_specs(make_project: MakeProject) -> None:
    _, plan = judged(
        make_project,
        policy("sku", 'expression: \'plan.actions.all(a, !has(a.sku) || a.sku == "Standard")\'\n  message: Standard only'),
        policy("cost", "expression: 'cost.training_usd < 1000000.0'\n  message: too dear"),
        policy("spec", "expression: 'specs.jobs.clippy.trainingType == \"GlobalStandard\" && project == \"local\"'\n"
                       "  message: x"),
        policy("broken", "expression: 'plan.nothing.here'\n  message: y"))
    r = {x.policy: x for x in plan.policies}
    assert not r["sku"].passed and r["sku"].message == "Standard only"
    assert r["cost"].passed and r["spec"].passed, (r["cost"].message, r["spec"].message)
    # An expression that fails to evaluate fails its rule (closed), saying why.
    assert not r["broken"].passed and "the expression failed (no such member" in r["broken"].message


def test_overrides_let_a_soft_mandatory_policy_through_and_tag_what_they_let_through(
        make_project: MakeProject) -> None:
    _, plan = judged(make_project, policy("std", "allowedDeploymentSkus: [Standard]", "soft-mandatory"),
                     policy("hard", "allowedTrainingTypes: [GlobalStandard]"),
                     policy("note", "maxTrainingCostPerPlan: 0", "advisory"))
    assert [r.policy for r in plan.policy_blocks] == ["std"]
    with pytest.raises(PolicyBlocked, match="--override std --reason TEXT"):
        require_policies(plan)
    apply_overrides(plan, [Override(policy="std", reason="approved in #12", author="alice")])
    require_policies(plan)  # let through
    (rollout,) = [a for a in plan.actions if a.kind == "Deployment"]
    assert override_tags(plan, rollout.id) == {"ftops-override": "std by alice: approved in #12"}
    job = next(a for a in plan.actions if a.kind == "FineTuningJob")
    assert override_tags(plan, job.id) == {}
    long = Override(policy="std", reason="x" * 500, author="bob")
    apply_overrides(plan, [long])
    assert len(override_tags(plan, rollout.id)["ftops-override"]) == 256  # Azure's tag value limit


def test_an_override_that_could_do_nothing_is_an_error(make_project: MakeProject) -> None:
    _, plan = judged(make_project, policy("hard", "allowedDeploymentSkus: [Standard]"))
    with pytest.raises(UsageError, match="hard-mandatory and cannot be overridden"):
        apply_overrides(plan, [Override(policy="hard", reason="r", author="a")])
    with pytest.raises(UsageError, match="no Policy of that name"):
        apply_overrides(plan, [Override(policy="typo", reason="r", author="a")])


def test_the_plan_json_carries_results_and_blocks_and_reads_back(make_project: MakeProject) -> None:
    _, plan = judged(make_project, policy("std", "allowedDeploymentSkus: [Standard]"))
    d = plan.to_dict()
    assert d["policy_blocks"] == ["std"] and d["policies"][0]["rule"] == "allowedDeploymentSkus"
    assert Plan.from_dict(d).policies == plan.policies


def test_a_project_without_policies_plans_as_before(make_project: MakeProject) -> None:
    _, plan = judged(make_project)
    assert plan.policies == [] and plan.to_dict()["policy_blocks"] == []


def test_a_failed_rule_that_concerns_no_change_is_shown_and_blocks_nothing(make_project: MakeProject) -> None:
    w = world(make_project(spec=BASE_SPEC + policy("never", "expression: 'false'\n  message: never")))
    w.uploads()
    w.deploy("clippy-prod", w.job("clippy"))
    plan = w.plan()
    assert not plan.has_changes
    (r,) = plan.policies
    assert not r.passed and r.actions == [] and not r.blocks and plan.policy_blocks == []
