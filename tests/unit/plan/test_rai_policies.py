"""The planner for content filter policies and a Deployment's spec-set ARM fields, offline on snapshot fixtures."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ftops.foundry import FilterEntry, LiveRaiPolicy
from ftops.plan import DeleteRaiPolicy, NoOp, Plan, PutRaiPolicy, RollOut, decide, fingerprint
from ftops.plan._drift import drift_items
from ftops.plan._rai_policies import policy_tags
from tests.conftest import BASE_SPEC, MakeProject
from tests.unit.plan.snapshots import World, by_resource, world

POLICY = """---
apiVersion: ftops/v1
kind: RaiPolicy
metadata: {name: strict}
spec:
  mode: Blocking
  contentFilters:
    - {name: Hate, source: Prompt, severityThreshold: Low}
"""
SKU = "sku: {name: GlobalStandard, capacity: 50}"
FIELDS = SKU + "\n  raiPolicyName: strict\n  versionUpgradeOption: NoAutoUpgrade\n  tags: {team: search}"
SPEC = BASE_SPEC.replace(SKU, FIELDS) + POLICY


@pytest.fixture
def w(make_project: MakeProject) -> World:
    return world(make_project(spec=SPEC))


def _plan(w: World, *policies: LiveRaiPolicy, prune: bool = False) -> Plan:
    state = w.state()
    state.rai_policies = {p.name.lower(): p for p in policies}
    return decide(w.checked, state, prune=prune, endpoint="s/g/a", created_at=w.now)


def _live(w: World, *, threshold: str = "Low", mode: str = "Blocking", name: str = "strict",
          extra: tuple[FilterEntry, ...] = ()) -> LiveRaiPolicy:
    spec = w.checked.project.rai_policies["strict"].spec
    return LiveRaiPolicy(name=name, policy_type="UserManaged", base_policy_name="Microsoft.DefaultV2", mode=mode,
                         content_filters=(FilterEntry("Hate", "Prompt", threshold, True, True), *extra),
                         custom_blocklists=(), tags=policy_tags(w.project, "strict", spec))


def _deployed(w: World) -> None:
    w.uploads()
    job = w.job("clippy")
    w.checkpoints_for(job, [0.9, 0.5, 0.7])
    d = w.deploy("clippy-prod", job, team="search")
    w.deployments = [replace(d, settings={"raiPolicyName": "strict", "versionUpgradeOption": "NoAutoUpgrade"})]


def test_a_new_policy_is_created_before_the_deployment_that_names_it(w: World) -> None:
    a = by_resource(_plan(w))
    put = a["RaiPolicy/strict"]
    assert isinstance(put, PutRaiPolicy) and put.action == "create" and put.changes["mode"] == (None, "Blocking")
    dep = a["Deployment/clippy-prod"]
    assert isinstance(dep, RollOut) and "raipolicy.strict:create" in dep.depends_on
    assert dep.settings == {"raiPolicyName": "strict", "versionUpgradeOption": "NoAutoUpgrade"}
    assert dep.user_tags == {"team": "search"}


def test_everything_in_sync_is_a_no_op_even_with_entries_the_spec_does_not_name(w: World) -> None:
    _deployed(w)
    unnamed = (FilterEntry("Sexual", "Prompt", "High", True, True),)
    plan = _plan(w, _live(w, extra=unnamed))
    assert not plan.has_changes and not drift_items(plan), [a.reason for a in plan.actions if a.is_change]


def test_a_hand_edit_of_the_policy_is_modified(w: World) -> None:
    _deployed(w)
    a = by_resource(_plan(w, _live(w, threshold="High")))["RaiPolicy/strict"]
    assert isinstance(a, PutRaiPolicy) and a.action == "update" and a.drift == "modified"
    assert a.changes == {"contentFilters[Hate/Prompt].severityThreshold": ("High", "Low")} and "revert" in a.reason


def test_a_spec_change_of_the_policy_is_unapplied(w: World, make_project: MakeProject) -> None:
    w2 = world(make_project(spec=SPEC.replace("mode: Blocking", "mode: Asynchronous_filter")))
    _deployed(w2)
    a = by_resource(_plan(w2, _live(w)))["RaiPolicy/strict"]
    assert isinstance(a, PutRaiPolicy) and a.drift is None and a.changes == {"mode": ("Blocking", "Asynchronous_filter")}


def test_a_policy_of_that_name_not_managed_by_ftops_is_foreign(w: World) -> None:
    a = by_resource(_plan(w, replace(_live(w), tags={})))["RaiPolicy/strict"]
    assert isinstance(a, NoOp) and a.blocked and a.drift == "foreign"


def test_a_managed_policy_no_spec_names_is_a_prune_candidate_kept_while_in_use(w: World) -> None:
    _deployed(w)
    old = replace(_live(w), name="old")
    assert by_resource(_plan(w, _live(w), old))["RaiPolicy/old"].drift == "unapplied"
    assert isinstance(by_resource(_plan(w, _live(w), old, prune=True))["RaiPolicy/old"], DeleteRaiPolicy)
    w.deployments = [replace(w.deployments[0], settings={**w.deployments[0].settings, "raiPolicyName": "old"})]
    plan = _plan(w, _live(w), old, prune=True)
    # The rollout moves the deployment back to `strict` first: the delete waits for it.
    delete = by_resource(plan)["RaiPolicy/old"]
    assert isinstance(delete, DeleteRaiPolicy) and delete.depends_on == ["deployment.clippy-prod:update"]


def test_a_hand_edit_of_a_spec_set_deployment_field_is_modified_and_other_tags_are_not_compared(w: World) -> None:
    _deployed(w)
    d = w.deployments[0]
    w.deployments = [replace(d, settings={**d.settings, "raiPolicyName": "Microsoft.Default", "scaleSettings": 1},
                             tags={**d.tags, "TEAM": "search", "cost-center": "x"})]
    w.deployments[0].tags.pop("team")
    a = by_resource(_plan(w, _live(w)))["Deployment/clippy-prod"]
    assert isinstance(a, RollOut) and a.action == "update" and a.drift == "modified" and not a.interrupts
    assert a.changes == {"raiPolicyName": ("Microsoft.Default", "strict")}  # TEAM is team: tag names ignore case


def test_a_deployment_setting_no_fields_keeps_its_hash(make_project: MakeProject) -> None:
    from ftops.plan import _matching as matching
    from ftops.plan._deployments import deployment_hash

    plain = world(make_project(spec=BASE_SPEC)).checked.project.deployments["clippy-prod"].spec
    before = {"model": plain.model.model_dump(mode="json"), "sku": [plain.sku.name, plain.sku.capacity],
              "gates": plain.gates.model_dump(mode="json")}  # what the hash was made of before these fields
    assert deployment_hash(plain) == matching.canonical_hash(before)  # live deployments do not look changed
    fields = world(make_project(spec=SPEC)).checked.project.deployments["clippy-prod"].spec
    assert deployment_hash(fields) != deployment_hash(plain)


def test_the_fingerprint_follows_this_projects_policies_only(w: World) -> None:
    snap = w.state().snapshot
    base = fingerprint(snap, w.project)
    assert fingerprint(snap, w.project, rai_policies=[replace(_live(w), tags={})]) == base
    assert fingerprint(snap, w.project, rai_policies=[_live(w)]) != base
    assert fingerprint(snap, w.project, rai_policies=[_live(w, threshold="High")]) != \
        fingerprint(snap, w.project, rai_policies=[_live(w)])
