"""ftops owns only the fields its specs set: a rollout keeps every other property and tag of a deployment
as a person (or Azure Policy, or Terraform) left it, and those are never drift."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from azure.mgmt.cognitiveservices.models import Deployment, RaiPolicy, RaiPolicyProperties

from ftops import FoundryError
from ftops.emulator import Connection, launch
from ftops.foundry import DeploymentWrite, FoundryClient, connect
from ftops.spec import FoundrySpec
from tests.e2e.conftest import Foundry, Project, clients

CONTENT_FILTER = "acme-strict-filter"


def _read(live: Foundry) -> Deployment:
    return live.arm.deployments.get(live.conn.resource_group, live.conn.account, "clippy-prod")


def _make_filter(live: Foundry) -> None:
    """The content filter policy a security team made (Azure refuses a deployment naming one that is not there)."""
    live.arm.rai_policies.create_or_update(live.conn.resource_group, live.conn.account, CONTENT_FILTER, RaiPolicy(
        properties=RaiPolicyProperties(base_policy_name="Microsoft.DefaultV2", mode="Blocking")))


def _edit_by_hand(live: Foundry) -> None:
    """What a security team does in the portal: a content filter, an upgrade option, a tag of its own."""
    _make_filter(live)
    d = _read(live)
    d.properties.rai_policy_name = CONTENT_FILTER
    d.properties.version_upgrade_option = "OnceCurrentVersionExpired"
    d.properties.spillover_deployment_name = "clippy-spill"
    d.tags = {**(d.tags or {}), "cost-center": "cc-4711"}
    live.arm.deployments.begin_create_or_update(live.conn.resource_group, live.conn.account, "clippy-prod",
                                                d).result()


def _settings(d: Deployment) -> dict[str, Any]:
    return {"rai": d.properties.rai_policy_name, "upgrade": d.properties.version_upgrade_option,
            "spill": d.properties.spillover_deployment_name, "tag": (d.tags or {}).get("cost-center")}


KEPT = {"rai": CONTENT_FILTER, "upgrade": "OnceCurrentVersionExpired", "spill": "clippy-spill", "tag": "cc-4711"}


def test_a_capacity_rollout_keeps_the_content_filter_and_user_tags(project: Project) -> None:
    assert project.ftops("apply", "--auto-approve", "--wait").code == 0
    with project.live() as live:
        _edit_by_hand(live)
    # Not ftops' fields: neither a change to plan nor drift.
    assert project.ftops("plan", "--detailed-exitcode").code == 0
    assert project.ftops("drift").code == 0
    project.edit("capacity: 50", "capacity: 40")
    r = project.ftops("apply", "--auto-approve", "--wait")
    assert r.code == 0, r.out + r.err
    with project.live() as live:
        d = _read(live)
    assert d.sku.capacity == 40 and _settings(d) == KEPT
    assert d.tags["ftops-project"]  # ftops' own tags are there too


def test_a_model_rollout_keeps_them_too(project: Project) -> None:
    assert project.ftops("apply", "--auto-approve", "--wait").code == 0
    with project.live() as live:
        _edit_by_hand(live)
        before = _read(live).properties.model.name
    project.edit("n_epochs: 3", "n_epochs: 2")
    project.edit("capacity: 50", "capacity: 40")  # a model and a capacity change: two writes
    r = project.ftops("apply", "--auto-approve", "--wait")
    assert r.code == 0, r.out + r.err
    with project.live() as live:
        d = _read(live)
    assert d.properties.model.name != before and d.sku.capacity == 40 and _settings(d) == KEPT


def test_a_hand_edit_of_an_owned_field_is_still_drift(project: Project) -> None:
    assert project.ftops("apply", "--auto-approve", "--wait").code == 0
    with project.live() as live:
        d = _read(live)
        d.sku.capacity = 7
        d.tags = {**(d.tags or {}), "cost-center": "cc-4711"}
        live.arm.deployments.begin_create_or_update(live.conn.resource_group, live.conn.account, "clippy-prod",
                                                    d).result()
    r = project.ftops("drift")
    assert r.code == 2 and "modified" in r.out and "clippy-prod" in r.out
    assert project.ftops("apply", "--auto-approve").code == 0
    with project.live() as live:
        d = _read(live)
    assert d.sku.capacity == 50 and d.tags["cost-center"] == "cc-4711"


def test_status_json_shows_the_fields_ftops_does_not_own(project: Project) -> None:
    assert project.ftops("apply", "--auto-approve", "--wait").code == 0
    with project.live() as live:
        _edit_by_hand(live)
    r = project.ftops("status", "--format", "json")
    assert r.code == 0, r.err
    assert CONTENT_FILTER in r.out and "cc-4711" in r.out


def test_a_sku_name_change_interrupts_serving_only_when_allowed(project: Project) -> None:
    assert project.ftops("apply", "--auto-approve", "--wait").code == 0
    with project.live() as live:
        _edit_by_hand(live)
        before = _read(live)
    project.edit("name: GlobalStandard", "name: Developer")
    plan = project.ftops("plan")
    assert "INTERRUPTS SERVING" in plan.out and "--allow-downtime" in plan.out
    r = project.ftops("apply", "--auto-approve")
    assert r.code == 1 and "--allow-downtime" in r.err and "nothing was applied" in r.err
    assert len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err
    with project.live() as live:
        assert _read(live).etag == before.etag  # untouched
    r = project.ftops("apply", "--auto-approve", "--allow-downtime")
    assert r.code == 0, r.out + r.err
    with project.live() as live:
        d = _read(live)
    assert d.sku.name == "DeveloperTier" and d.properties.model.name == before.properties.model.name
    assert _settings(d) == KEPT
    assert project.ftops("plan", "--detailed-exitcode").code == 0


def test_a_failed_replacement_puts_the_old_deployment_back(tmp_path: Path) -> None:
    client = connect(FoundrySpec(local=True, speed=20000), tmp_path, launcher=launch)
    try:
        with _direct(client) as live:
            fid = live.upload()
            model = live.wait_job(live.job(fid).id).fine_tuned_model
            live.deploy("prod", model, tags={"cost-center": "cc-1"}).result()
            _set_filter(live, "prod")
        with pytest.raises(FoundryError, match="was restored") as e:
            client.replace_deployment("prod", DeploymentWrite("not-a-model", "Standard", 1))
        assert e.value.status == 400
        d = client.get_deployment("prod")
        assert (d.model, d.sku, d.tags.get("cost-center"), d.settings["raiPolicyName"]) == \
            (model, "GlobalStandard", "cc-1", CONTENT_FILTER)
    finally:
        client.close()


@contextmanager
def _direct(client: FoundryClient) -> Iterator[Foundry]:
    """Plain SDK clients on the local Foundry that `client` started (as a person would use them)."""
    server = client._on_close.__self__  # type: ignore[union-attr]
    conn: Connection = server.connection
    yield clients(conn, server)


def _set_filter(live: Foundry, name: str) -> None:
    _make_filter(live)
    d = live.arm.deployments.get(live.conn.resource_group, live.conn.account, name)
    d.properties.rai_policy_name = CONTENT_FILTER
    live.arm.deployments.begin_create_or_update(live.conn.resource_group, live.conn.account, name, d).result()


class _PersonCreatesAfterTheRead(FoundryClient):
    """The interleaving of the race: ftops reads "no deployment", then a person creates one of that name."""

    person: Foundry
    model: str
    tags: dict[str, str]
    raced = False

    def _raw_deployment(self, name: str) -> Deployment | None:
        d = super()._raw_deployment(name)
        if not self.raced:
            self.raced = True
            self.person.deploy(name, self.model, tags=self.tags).result()
        return d


@contextmanager
def _racing(tmp_path: Path, their_tags: dict[str, str]) -> Iterator[tuple[FoundryClient, Foundry, str]]:
    """A client whose next deployment write is raced by someone creating it (with `their_tags`) right after
    the client's read; a fine-tuned model to deploy."""
    client = connect(FoundrySpec(local=True, speed=20000), tmp_path, launcher=launch)
    try:
        with _direct(client) as live:
            model = live.wait_job(live.job(live.upload()).id).fine_tuned_model
            client.__class__ = _PersonCreatesAfterTheRead
            racing: Any = client
            racing.person, racing.model, racing.tags = live, model, their_tags
            yield client, live, model
    finally:
        client.close()


def test_a_create_racing_a_persons_create_takes_nothing_over(tmp_path: Path) -> None:
    with _racing(tmp_path, {"owner": "a person"}) as (client, live, model):
        with pytest.raises(FoundryError, match="created by someone else") as e:
            client.put_deployment("prod", DeploymentWrite(model, "Standard", 3, tags={"ftops-project": "p"}))
        assert e.value.status == 412 and not e.value.retryable
        d = _read_named(live, "prod")
    assert (d.sku.capacity, d.tags) == (1, {"owner": "a person"})  # the person's, untouched


def test_a_create_racing_our_own_create_merges(tmp_path: Path) -> None:
    """Two applies of one project creating one deployment: the second merges onto the first's, as an update."""
    with _racing(tmp_path, {"ftops-project": "p", "cost-center": "cc-2"}) as (client, live, model):
        d = client.put_deployment("prod", DeploymentWrite(model, "GlobalStandard", 3, tags={"ftops-project": "p"}))
        raw = _read_named(live, "prod")
    assert raw.tags == {"ftops-project": "p", "cost-center": "cc-2"}
    assert d.capacity == 3


def _read_named(live: Foundry, name: str) -> Deployment:
    return live.arm.deployments.get(live.conn.resource_group, live.conn.account, name)
