"""The accounts of one local Foundry: names, resource ids, one clock, a registry every process sees."""

from __future__ import annotations

from pathlib import Path

import pytest

from ftops.emulator._state import Emulator
from ftops.emulator._store import Store
from ftops.emulator._world import AccountSpec, ResourceId, World

RID = "/subscriptions/s-1/resourceGroups/RG/providers/Microsoft.CognitiveServices/accounts/dev"


def _world(tmp_path: Path) -> World:
    first = Emulator(store=Store(tmp_path), api_key="k0", subscription="s-1", resource_group="rg", account="dev",
                     region="swedencentral", speed=1.0, tenant="t-1")
    return World(first, tmp_path, key_of=lambda home: f"key-of-{home.name}")


@pytest.mark.parametrize(("text", "expected"), [
    (RID, ResourceId("s-1", "RG", "dev")),
    (RID + "/projects/lab", ResourceId("s-1", "RG", "dev")),  # a project's id names its account
    (RID.lower(), ResourceId("s-1", "rg", "dev")),
    ("dev", None), ("/subscriptions/s-1/resourceGroups/RG", None), (None, None),
])
def test_a_resource_id_names_an_account(text: object, expected: ResourceId | None) -> None:
    assert ResourceId.parse(text) == expected


@pytest.mark.parametrize(("spec", "problem"), [
    (AccountSpec("prod", "eastus2"), None),
    (AccountSpec("p", "eastus2"), "account name 'p'"),
    (AccountSpec("no_such!", "eastus2"), "account name"),
    (AccountSpec("prod", "East US 2"), "region 'East US 2'"),
])
def test_account_specs_are_checked(spec: AccountSpec, problem: str | None) -> None:
    found = spec.problem()
    assert (found is None) if problem is None else (found is not None and problem in found)


def test_an_added_account_has_its_own_state_and_key_and_the_first_ones_clock(tmp_path: Path) -> None:
    world = _world(tmp_path)
    added, prod = world.add(AccountSpec("prod", "eastus2"))
    assert added and prod.api_key == "key-of-prod" and prod.arm_key == "k0" and prod.tenant == "t-1"
    assert prod.store.data_dir == tmp_path / "accounts" / "prod" and prod.path_prefix == "/accounts/prod"
    assert world.add(AccountSpec("PROD", "eastus2"))[0] is False  # the same account again
    with pytest.raises(ValueError, match="already exists"):
        world.add(AccountSpec("prod", "westus"))
    with pytest.raises(ValueError, match="already exists"):
        world.add(AccountSpec("dev", "westus"))  # the first account's name
    with world.first.store.tx() as c:
        world.first.store.set_meta(c, "clock_offset", 86400.0)
    with prod.store.tx() as c, world.first.store.tx() as fc:
        assert abs(prod.store.now(c) - world.first.store.now(fc)) < 5
    assert world.find(ResourceId("s-1", "RG", "Prod")) is prod and world.find(ResourceId("s-2", "rg", "prod")) is None


def test_another_process_sees_an_added_account(tmp_path: Path) -> None:
    _world(tmp_path).add(AccountSpec("prod", "eastus2", subscription="s-2", authorized=False))
    other = _world(tmp_path)  # the same data dir, as a second process opens it
    prod = other.get("prod")
    assert prod is not None and prod.subscription == "s-2" and not prod.authorized
    assert [a.account for a in other.accounts()] == ["dev", "prod"]


def test_connection_json_names_every_account_and_reads_back(tmp_path: Path) -> None:
    from ftops.emulator import AccountConnection, Connection

    prod = AccountConnection(account="prod", endpoint="https://localhost:1/accounts/prod/openai/v1", api_key="kp",
                             region="eastus2", subscription="s", resource_group="g", tenant="t")
    c = Connection(endpoint="https://localhost:1/openai/v1", arm_endpoint="https://localhost:1", subscription="s",
                   resource_group="g", account="dev", api_key="k0", ca_cert="ca.pem", region="swedencentral",
                   accounts=(prod,))
    back = Connection.from_json(c.to_json())
    assert back == c
    one = back.for_account("PROD")
    assert (one.endpoint, one.api_key, one.region, one.account) == (prod.endpoint, "kp", "eastus2", "prod")
    assert one.arm_endpoint == c.arm_endpoint
    with pytest.raises(KeyError):
        back.for_account("staging")
    old = '{"endpoint": "e", "arm_endpoint": "a", "subscription": "s", "resource_group": "g", "account": "x", ' \
          '"api_key": "k", "ca_cert": "c", "region": "r"}'
    assert Connection.from_json(old).accounts == ()  # a connection.json from before several accounts
