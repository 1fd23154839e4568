"""Policy writes and a deployment's spec-set fields: only what the spec sets changes, everything else is kept."""

from __future__ import annotations

from azure.mgmt.cognitiveservices.models import (
    CustomBlocklistConfig,
    RaiPolicy,
    RaiPolicyContentFilter,
    RaiPolicyProperties,
)

from ftops.foundry import BlocklistEntry, DeploymentWrite, FilterEntry, LiveRaiPolicy, RaiPolicyWrite
from ftops.foundry._deployments import merged
from ftops.foundry._rai_policies import merged_policy
from tests.unit.foundry.test_deployments import live as live_deployment

TAGS = {"ftops-project": "p", "ftops-hash": "h2"}


def live_policy() -> RaiPolicy:
    p = RaiPolicy(tags={"ftops-project": "p", "ftops-hash": "h1", "owner": "security"}, properties=RaiPolicyProperties(
        mode="Blocking", base_policy_name="Microsoft.Default",
        content_filters=[RaiPolicyContentFilter(name="Hate", source="Prompt", severity_threshold="Medium",
                                                blocking=True, enabled=True),
                         RaiPolicyContentFilter(name="Sexual", source="Prompt", severity_threshold="High",
                                                blocking=True, enabled=True)],
        custom_blocklists=[CustomBlocklistConfig(blocklist_name="words", source="Prompt", blocking=False)]))
    p.properties.additional_properties = {"customTopics": [{"topicName": "t", "source": "Prompt"}]}
    return p


def test_only_the_fields_and_entries_the_spec_sets_change() -> None:
    write = RaiPolicyWrite(None, "Asynchronous_filter", (FilterEntry("hate", "Prompt", "Low"),
                                                         FilterEntry("Violence", "Completion", "Low", True, True)),
                           None, TAGS)
    body = merged_policy(live_policy(), write)
    props = body["properties"]
    assert props["mode"] == "Asynchronous_filter" and props["basePolicyName"] == "Microsoft.Default"
    filters = {(f["name"], f["source"]): f for f in props["contentFilters"]}
    assert filters[("Hate", "Prompt")] == {"name": "Hate", "source": "Prompt", "severityThreshold": "Low",
                                           "blocking": True, "enabled": True}  # matched without case, fields kept
    assert filters[("Sexual", "Prompt")]["severityThreshold"] == "High"  # not named: kept
    assert filters[("Violence", "Completion")]["blocking"] is True  # new entry
    assert props["customBlocklists"] == [{"blocklistName": "words", "source": "Prompt", "blocking": False}]
    assert props["customTopics"] == [{"topicName": "t", "source": "Prompt"}]  # unknown to the SDK: written back
    assert "type" not in props  # read-only
    assert body["tags"] == {"owner": "security", **TAGS}


def test_a_new_policy_and_blocklists() -> None:
    write = RaiPolicyWrite("Microsoft.DefaultV2", None, None, (BlocklistEntry("words", "Completion", True),), TAGS)
    body = merged_policy(None, write)
    assert body == {"properties": {"basePolicyName": "Microsoft.DefaultV2", "customBlocklists": [
        {"blocklistName": "words", "source": "Completion", "blocking": True}]}, "tags": TAGS}


def test_a_live_policy_parses_to_plain_data() -> None:
    p = LiveRaiPolicy.parse(live_policy())
    assert p.content_filters[0] == FilterEntry("Hate", "Prompt", "Medium", True, True) and p.mode == "Blocking"
    assert p.custom_blocklists == (BlocklistEntry("words", "Prompt", False),)


def test_a_deployment_write_sets_the_spec_set_properties_and_user_tags_keeping_the_others() -> None:
    write = DeploymentWrite("m2", "GlobalStandard", 40, {"ftops-project": "p"},
                            settings={"raiPolicyName": "strict"}, user_tags={"Cost-Center": "cc-2", "team": "a"})
    body = merged(live_deployment(), write)
    p = body.properties
    assert (p.rai_policy_name, p.version_upgrade_option, p.spillover_deployment_name) == \
        ("strict", "OnceCurrentVersionExpired", "spill")
    # cost-center (any case) is now the spec's; ftops' own tags are replaced as a set.
    assert body.tags == {"Cost-Center": "cc-2", "team": "a", "ftops-project": "p"}
