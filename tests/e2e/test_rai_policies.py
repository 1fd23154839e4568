"""Content filter policies in git: a `RaiPolicy` spec and the Deployment fields ARM defines (raiPolicyName,
versionUpgradeOption, user tags), applied, round-tripped and drift-checked against the local Foundry with the
real azure-mgmt-cognitiveservices client."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.cognitiveservices.models import Deployment, RaiPolicy, RaiPolicyContentFilter

from tests.e2e.conftest import Foundry, Project

POLICY = """
---
apiVersion: ftops/v1
kind: RaiPolicy
metadata: {name: acme-strict}
spec:
  basePolicyName: Microsoft.DefaultV2
  mode: Asynchronous_filter
  contentFilters:
    - {name: Hate, source: Prompt, severityThreshold: Low, blocking: true, enabled: true}
    - {name: Violence, source: Completion, severityThreshold: Low, blocking: true, enabled: true}
"""
SKU = "sku: {name: GlobalStandard, capacity: 50}"
FIELDS = SKU + """
  raiPolicyName: acme-strict
  versionUpgradeOption: NoAutoUpgrade
  tags: {team: search}"""


def _policy(live: Foundry, name: str = "acme-strict") -> RaiPolicy:
    return live.arm.rai_policies.get(live.conn.resource_group, live.conn.account, name)


def _deployment(live: Foundry) -> Deployment:
    return live.arm.deployments.get(live.conn.resource_group, live.conn.account, "clippy-prod")


def _filter(p: RaiPolicy, name: str, source: str) -> Any:
    return next(f for f in p.properties.content_filters if f.name == name and f.source == source)


@pytest.fixture
def applied(project: Project) -> Project:
    project.append(POLICY)
    project.edit(SKU, FIELDS)
    plan = project.plan_json()
    by_id = {a["id"]: a for a in plan["actions"]}
    assert by_id["raipolicy.acme-strict:create"]["action"] == "create"
    # The deployment waits for the policy it names: Azure refuses a deployment naming a missing one.
    assert "raipolicy.acme-strict:create" in by_id["deployment.clippy-prod:create"]["depends_on"]
    r = project.ftops("apply", "--auto-approve", "--wait")
    assert r.code == 0, r.out + r.err
    return project


def test_a_policy_and_a_deployment_naming_it_apply_and_round_trip(applied: Project) -> None:
    with applied.live() as live:
        p, d = _policy(live), _deployment(live)
    assert (p.properties.base_policy_name, p.properties.mode, p.properties.type) == \
        ("Microsoft.DefaultV2", "Asynchronous_filter", "UserManaged")
    assert _filter(p, "Hate", "Prompt").severity_threshold == "Low" and p.tags["ftops-project"]
    assert (d.properties.rai_policy_name, d.properties.version_upgrade_option, d.tags["team"]) == \
        ("acme-strict", "NoAutoUpgrade", "search")
    r = applied.ftops("plan", "--detailed-exitcode")
    assert r.code == 0, r.out  # the second plan is empty
    assert applied.ftops("drift").code == 0


def test_a_hand_edit_of_the_policy_is_modified_drift_and_reverted_keeping_what_the_spec_does_not_name(
        applied: Project) -> None:
    with applied.live() as live:
        p = _policy(live)
        _filter(p, "Hate", "Prompt").severity_threshold = "High"  # a spec-set field
        p.properties.content_filters.append(RaiPolicyContentFilter(  # an entry the spec does not name
            name="Sexual", source="Prompt", severity_threshold="High", blocking=True, enabled=True))
        live.arm.rai_policies.create_or_update(live.conn.resource_group, live.conn.account, "acme-strict", p)
    r = applied.ftops("drift")
    assert r.code == 2 and "modified" in r.out and "RaiPolicy/acme-strict" in r.out, r.out
    assert "contentFilters[Hate/Prompt].severityThreshold" in r.out and "Sexual" not in r.out
    r = applied.ftops("apply", "--auto-approve")
    assert r.code == 0, r.out + r.err
    with applied.live() as live:
        p = _policy(live)
    assert _filter(p, "Hate", "Prompt").severity_threshold == "Low"
    assert _filter(p, "Sexual", "Prompt").severity_threshold == "High"  # not the spec's: kept
    assert applied.ftops("plan", "--detailed-exitcode").code == 0


def test_spec_set_deployment_fields_change_in_place_without_interrupting_serving(applied: Project) -> None:
    with applied.live() as live:
        before = _deployment(live)
        tags = {**(before.tags or {}), "cost-center": "cc-4711"}  # a tag of someone else's
        before.tags = tags
        live.arm.deployments.begin_create_or_update(live.conn.resource_group, live.conn.account, "clippy-prod",
                                                    before).result()
    applied.edit("raiPolicyName: acme-strict", "raiPolicyName: Microsoft.DefaultV2")
    applied.edit("versionUpgradeOption: NoAutoUpgrade", "versionUpgradeOption: OnceCurrentVersionExpired")
    applied.edit("tags: {team: search}", "tags: {team: ads}")
    plan = applied.plan_json()
    rollout = next(a for a in plan["actions"] if a["id"].startswith("deployment.clippy-prod:"))
    assert rollout["action"] == "update" and not rollout["interrupts"], rollout
    assert {"raiPolicyName", "versionUpgradeOption", "tags.team"} <= set(rollout["changes"])
    assert "model" not in rollout["changes"]
    r = applied.ftops("apply", "--auto-approve")
    assert r.code == 0, r.out + r.err
    with applied.live() as live:
        d = _deployment(live)
    assert d.properties.model.name == before.properties.model.name and d.etag != before.etag
    assert (d.properties.rai_policy_name, d.properties.version_upgrade_option) == \
        ("Microsoft.DefaultV2", "OnceCurrentVersionExpired")
    assert d.tags["team"] == "ads" and d.tags["cost-center"] == "cc-4711"
    assert applied.ftops("plan", "--detailed-exitcode").code == 0


def test_a_hand_edit_of_a_spec_set_deployment_field_is_drift(applied: Project) -> None:
    with applied.live() as live:
        d = _deployment(live)
        d.properties.rai_policy_name = "Microsoft.Default"
        live.arm.deployments.begin_create_or_update(live.conn.resource_group, live.conn.account, "clippy-prod",
                                                    d).result()
    r = applied.ftops("drift")
    assert r.code == 2 and "modified" in r.out and "raiPolicyName" in r.out, r.out
    assert applied.ftops("apply", "--auto-approve").code == 0
    with applied.live() as live:
        assert _deployment(live).properties.rai_policy_name == "acme-strict"


def test_a_policy_no_spec_names_is_pruned_only_once_no_deployment_uses_it(applied: Project) -> None:
    text = applied.spec.read_text()
    applied.spec.write_text(text.replace(POLICY, "").replace("raiPolicyName: acme-strict",
                                                             "raiPolicyName: Microsoft.DefaultV2"))
    assert applied.actions()["RaiPolicy/acme-strict"] == "no-op"  # a prune candidate
    plan = {a["id"]: a for a in applied.plan_json("--prune")["actions"]}
    # Deleted only after the rollout that moves the deployment to another policy.
    assert plan["raipolicy.acme-strict:delete"]["depends_on"] == ["deployment.clippy-prod:update"]
    assert applied.ftops("apply", "--auto-approve", "--prune").code == 0
    with applied.live() as live, pytest.raises(ResourceNotFoundError):
        _policy(live)
    assert applied.ftops("plan", "--detailed-exitcode").code == 0


def test_a_policy_no_spec_names_is_kept_while_a_deployment_uses_it(applied: Project) -> None:
    # The deployment stops owning its raiPolicyName: it keeps the policy live, so the policy stays.
    applied.spec.write_text(applied.spec.read_text().replace(POLICY, "").replace("\n  raiPolicyName: acme-strict", ""))
    a = next(a for a in applied.plan_json("--prune")["actions"] if a["resource"] == "RaiPolicy/acme-strict")
    assert a["action"] == "no-op" and "clippy-prod uses it" in a["reason"]


def test_the_local_foundry_lists_built_in_policies_and_refuses_a_deployment_naming_an_unknown_one(
        project: Project) -> None:
    assert project.ftops("apply", "--auto-approve", "--wait").code == 0
    with project.live() as live:
        names = {p.name: p.properties.type for p in live.arm.rai_policies.list(live.conn.resource_group,
                                                                                 live.conn.account)}
        assert names["Microsoft.Default"] == names["Microsoft.DefaultV2"] == "SystemManaged"
        with pytest.raises(ResourceNotFoundError):
            _policy(live, "nope")
        d = _deployment(live)
        d.properties.rai_policy_name = "nope"
        with pytest.raises(HttpResponseError) as e:
            live.arm.deployments.begin_create_or_update(live.conn.resource_group, live.conn.account, "clippy-prod",
                                                        d).result()
        assert e.value.status_code == 400 and "nope" in str(e.value)


def test_a_saved_plan_with_a_policy_is_an_approval_and_a_forged_policy_action_is_refused(project: Project) -> None:
    import json

    project.append(POLICY)
    project.edit(SKU, FIELDS)
    assert project.ftops("plan", "--out", "plan.json").code in (0, 2)
    data = json.loads((project.root / "plan.json").read_text())
    forged = dict(next(a for a in data["actions"] if a["op"] == "raipolicy.put"), id="raipolicy.other:create",
                  name="other")
    (project.root / "forged.json").write_text(json.dumps({**data, "actions": [*data["actions"], forged]}))
    r = project.ftops("apply", "forged.json", "--auto-approve")
    assert r.code == 1 and "other" in r.err and "Traceback" not in r.err, r.err
    r = project.ftops("apply", "plan.json", "--auto-approve", "--wait")
    assert r.code == 0, r.out + r.err
    assert project.ftops("plan", "--detailed-exitcode").code == 0
