"""The local Foundry against a hostile client's deployment writes: a body of the wrong shape is Azure's 400,
never a 500, and nothing is stored that would break every later reader (tags as a list made every listing
of deployments fail to deserialize in the Azure SDK)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.conftest import Foundry
from tests.e2e.test_azure_fidelity import arm_http, trained

MODEL = {"name": "MODEL", "format": "OpenAI", "version": "1"}
SKU = {"name": "Standard", "capacity": 1}
REFUSED: dict[str, dict[str, Any]] = {
    "model-a-string": {"sku": SKU, "properties": {"model": "gpt"}},
    "sku-a-string": {"sku": "Standard", "properties": {"model": MODEL}},
    "tags-a-list": {"sku": SKU, "tags": [1], "properties": {"model": MODEL}},
    "tag-value-a-number": {"sku": SKU, "tags": {"t": 5}, "properties": {"model": MODEL}},
    "51-tags": {"sku": SKU, "tags": {f"t{i}": "v" for i in range(51)}, "properties": {"model": MODEL}},
    "tag-value-257": {"sku": SKU, "tags": {"t": "v" * 257}, "properties": {"model": MODEL}},
    "tag-name-513": {"sku": SKU, "tags": {"t" * 513: "v"}, "properties": {"model": MODEL}},
    "one-tag-name-twice": {"sku": SKU, "tags": {"Team": "a", "team": "b"}, "properties": {"model": MODEL}},
    "capacity-true": {"sku": {"name": "Standard", "capacity": True}, "properties": {"model": MODEL}},
    "spillover-a-map": {"sku": SKU, "properties": {"model": MODEL, "spilloverDeploymentName": {}}},
    "parent-a-list": {"sku": SKU, "properties": {"model": MODEL, "parentDeploymentName": ["x"]}},
    "rai-policy-a-number": {"sku": SKU, "properties": {"model": MODEL, "raiPolicyName": 5}},
}


@pytest.fixture
def model(emulator_factory: Any) -> tuple[Foundry, str]:
    f: Foundry = emulator_factory()
    return f, trained(f).fine_tuned_model


def test_a_malformed_deployment_write_is_a_400_and_stores_nothing(model: tuple[Foundry, str]) -> None:
    f, fine_tuned = model
    http = arm_http(f)
    for name, shape in REFUSED.items():  # one local Foundry for all: each case trains nothing
        body = json.loads(json.dumps(shape).replace("MODEL", fine_tuned))
        r = http.put(f"/deployments/d-{name}", json=body)
        assert r.status_code == 400 and r.json()["error"]["code"], (name, r.text)
        assert http.get(f"/deployments/d-{name}").status_code == 404, name
    assert list(f.arm.deployments.list(f.conn.resource_group, f.conn.account)) == []  # and still readable


def test_fifty_tags_at_their_limits_are_stored(model: tuple[Foundry, str]) -> None:
    f, fine_tuned = model
    tags = {f"{i:03d}" + "n" * 509: "v" * 256 for i in range(50)}
    r = arm_http(f).put("/deployments/d-full", json={"sku": SKU, "tags": tags,
                                                     "properties": {"model": {**MODEL, "name": fine_tuned}}})
    assert r.status_code == 201, r.text
    assert f.arm.deployments.get(f.conn.resource_group, f.conn.account, "d-full").tags == tags


def test_a_patch_of_the_wrong_shape_is_a_400(model: tuple[Foundry, str]) -> None:
    f, fine_tuned = model
    http = arm_http(f)
    assert http.put("/deployments/d-patch", json={"sku": SKU, "properties": {"model": {**MODEL, "name": fine_tuned}}}
                    ).status_code == 201
    f.admin.advance(seconds=3600)
    for body in ({"sku": "Standard"}, {"tags": ["x"]}, {"tags": {f"t{i}": "v" for i in range(51)}}):
        r = http.patch("/deployments/d-patch", json=body)
        assert r.status_code == 400, (body, r.text)


def test_a_malformed_project_put_is_a_400_and_stores_nothing(foundry: Foundry) -> None:
    # properties "x" was a 500; tags as a list were stored, and every Projects_Get after failed to deserialize.
    http = arm_http(foundry)
    for i, body in enumerate(({"properties": "x"}, {"tags": [1]}, {"tags": {"t": 5}},
                              {"properties": {"displayName": {"a": 1}}})):
        r = http.put(f"/projects/bad-{i}", json=body)
        assert r.status_code == 400 and r.json()["error"]["code"] == "InvalidRequestContent", (body, r.text)
        assert http.get(f"/projects/bad-{i}").status_code == 404
    assert http.put("/projects/good", json={"tags": {"t": "v"}, "properties": {"displayName": "Good"}}
                    ).status_code == 201



@pytest.mark.parametrize("properties", [{"basePolicyName": ["x"]}, {"basePolicyName": {"a": 1}}])
def test_a_rai_policy_whose_base_is_not_a_string_is_a_400_and_stores_nothing(
        foundry: Foundry, properties: dict[str, Any]) -> None:
    http = arm_http(foundry)
    r = http.put("/raiPolicies/p-bad", json={"properties": properties})
    assert r.status_code == 400 and r.json()["error"]["code"] == "InvalidRequestContent", r.text
    assert http.get("/raiPolicies/p-bad").status_code == 404
