"""The deployment write merges ftops' fields onto the live deployment and keeps everything else."""

from __future__ import annotations

import pytest
from azure.mgmt.cognitiveservices.models import (
    Deployment,
    DeploymentCapacitySettings,
    DeploymentModel,
    DeploymentProperties,
    Sku,
)

from ftops.foundry import DeploymentWrite, LiveDeployment, LiveModel, models_by_id
from ftops.foundry._deployments import merged

WRITE = DeploymentWrite("m2", "GlobalStandard", 40, {"ftops-project": "p", "ftops-job": "ftjob-2"})


def live() -> Deployment:
    return Deployment(
        sku=Sku(name="GlobalStandard", capacity=50, tier="Standard"),
        tags={"ftops-project": "p", "ftops-job": "ftjob-1", "ftops-verdict": "old", "cost-center": "cc-1"},
        properties=DeploymentProperties(
            model=DeploymentModel(format="OpenAI", name="m1", version="1", source="/subscriptions/s/x"),
            rai_policy_name="acme-strict", version_upgrade_option="OnceCurrentVersionExpired",
            spillover_deployment_name="spill", capacity_settings=DeploymentCapacitySettings(designated_capacity=5),
            current_capacity=50))


def test_only_owned_fields_change() -> None:
    body = merged(live(), WRITE)
    p = body.properties
    assert (p.model.name, p.model.format, p.model.version, p.model.source) == ("m2", "OpenAI", "1", "/subscriptions/s/x")
    assert (body.sku.name, body.sku.capacity, body.sku.tier) == ("GlobalStandard", 40, "Standard")
    assert (p.rai_policy_name, p.version_upgrade_option, p.spillover_deployment_name) == \
        ("acme-strict", "OnceCurrentVersionExpired", "spill")
    assert p.capacity_settings.designated_capacity == 5 and p.current_capacity == 40


def test_ftops_tags_are_replaced_as_a_set_and_the_others_kept() -> None:
    assert merged(live(), WRITE).tags == {"cost-center": "cc-1", "ftops-project": "p", "ftops-job": "ftjob-2"}


def test_no_tags_keeps_the_live_ones() -> None:
    assert merged(live(), DeploymentWrite("m1", "GlobalStandard", 40)).tags == live().tags


def test_a_new_sku_name_drops_the_old_skus_tier() -> None:
    body = merged(live(), DeploymentWrite("m2", "Developer", 1))
    assert (body.sku.name, body.sku.tier) == ("DeveloperTier", None)


def test_a_new_deployment() -> None:
    body = merged(None, WRITE)
    assert body.properties.rai_policy_name is None and body.tags == WRITE.tags
    assert body.properties.current_capacity is None


def test_the_live_object_is_not_changed() -> None:
    d = live()
    merged(d, WRITE)
    assert d.properties.model.name == "m1" and d.tags["ftops-job"] == "ftjob-1"


def test_ftops_writes_only_its_own_tag_namespace() -> None:
    with pytest.raises(ValueError, match="ftops-"):
        DeploymentWrite("m", "Standard", 1, {"cost-center": "x"})


def test_read_only_fields_are_never_sent() -> None:
    d = live()
    d.properties.provisioning_state = "Succeeded"  # type: ignore[misc]
    wire = merged(d, WRITE).serialize()
    assert "provisioningState" not in wire["properties"] and wire["properties"]["raiPolicyName"] == "acme-strict"


def test_the_live_view_shows_what_ftops_does_not_own() -> None:
    d = LiveDeployment.parse(live())
    assert d.settings["raiPolicyName"] == "acme-strict" and d.settings["capacitySettings"] == {"designatedCapacity": 5}
    assert "model" not in d.settings


def test_a_base_model_is_written_with_its_own_version() -> None:
    """A fine-tuned model deploys as version "1"; a base model by ARM's name and its version (as the account's
    models list spells them), which the write carries."""
    listed = LiveModel.parse({"model": {"format": "OpenAI", "name": "gpt-4.1-mini", "version": "2025-04-14"}})
    base = models_by_id([listed])["gpt-4.1-mini-2025-04-14"]
    assert (base.name, base.version, base.format) == ("gpt-4.1-mini", "2025-04-14", "OpenAI")
    body = merged(None, DeploymentWrite(base.name, "GlobalStandard", 1, version=base.version))
    assert (body.properties.model.name, body.properties.model.version) == ("gpt-4.1-mini", "2025-04-14")


DEV = "/subscriptions/s/resourceGroups/g/providers/Microsoft.CognitiveServices/accounts/dev"


def test_a_promotion_from_another_account_names_it_as_the_models_source() -> None:
    old = live()
    old.properties.model.source_account = "/subscriptions/s/old"
    body = merged(old, DeploymentWrite("m2", "GlobalStandard", 40, {"ftops-project": "p"}, source=DEV))
    assert (body.properties.model.source, body.properties.model.source_account) == (DEV, None)
    assert merged(None, DeploymentWrite("m2", "GlobalStandard", 1, source=DEV)).properties.model.source == DEV


def test_rolled_at_is_written_with_a_new_model_and_kept_while_the_model_stays() -> None:
    tags = {"ftops-project": "p"}
    body = merged(live(), DeploymentWrite("m2", "GlobalStandard", 40, tags, rolled_at=1_800_000_000.7))
    assert body.tags["ftops-rolled-at"] == "1800000000"
    again = live()
    again.properties.model.name, again.tags = "m2", dict(body.tags)
    kept = merged(again, DeploymentWrite("m2", "GlobalStandard", 50, tags, rolled_at=1_800_009_999.0))
    assert kept.tags["ftops-rolled-at"] == "1800000000"
    assert "ftops-rolled-at" not in merged(live(), DeploymentWrite("m2", "GlobalStandard", 40, tags)).tags


def test_the_live_deployments_source_is_read() -> None:
    d = live()
    d.name = "chat"
    d.properties.model.source = DEV
    assert LiveDeployment.parse(d).source == DEV
