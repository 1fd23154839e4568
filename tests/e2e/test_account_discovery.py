"""A Foundry named by its endpoint or by its ARM id: ftops derives the other half from ARM (against the
local Foundry's ARM, through the real azure-mgmt-cognitiveservices client)."""

from __future__ import annotations

import pytest

from ftops import FtopsError
from ftops.foundry._connect import resolve_account
from ftops.spec import FoundrySpec
from tests.e2e.conftest import Foundry


def test_an_arm_id_gives_the_endpoint(foundry: Foundry) -> None:
    c = foundry.conn
    rid = (f"/subscriptions/{c.subscription}/resourceGroups/{c.resource_group}/providers/"
           f"Microsoft.CognitiveServices/accounts/{c.account}")
    spec = FoundrySpec(resource_id=rid)
    assert (spec.subscription, spec.resource_group, spec.account) == (c.subscription, c.resource_group, c.account)
    found = resolve_account(foundry.arm, spec)
    assert c.endpoint.startswith(found.endpoint.rstrip("/"))


def test_an_endpoint_and_a_subscription_give_the_resource_group_and_account(foundry: Foundry) -> None:
    c = foundry.conn
    found = resolve_account(foundry.arm, FoundrySpec(endpoint=c.endpoint, subscription=c.subscription))
    assert (found.resource_group, found.name) == (c.resource_group, c.account)


def test_an_endpoint_no_account_has_is_one_line(foundry: Foundry) -> None:
    spec = FoundrySpec(endpoint="https://elsewhere.openai.azure.com", subscription=foundry.conn.subscription)
    with pytest.raises(FtopsError, match=r"no Cognitive Services account .* has the endpoint elsewhere"):
        resolve_account(foundry.arm, spec)


@pytest.mark.parametrize("fields,message", [
    ({"resource_id": "/subscriptions/x/resourceGroups/g"}, "resourceId must look like"),
    ({"endpoint": "https://a.openai.azure.com"}, "also needs subscription"),
    ({"resource_id": "/subscriptions/s/resourceGroups/g/providers/Microsoft.CognitiveServices/accounts/a",
      "account": "b"}, "contradicts resourceId"),
    ({}, "needs its endpoint, or its resourceId"),
])
def test_incomplete_names_are_refused(fields: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FoundrySpec(**fields)
