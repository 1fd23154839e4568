"""A hostile Foundry against FoundryClient's deployment writes: properties the SDK does not model, a
deployment that never leaves Creating or Deleting, Ctrl-C while Azure provisions, a replace whose create
and restore both fail. Offline: a fake ARM that records what ftops sends."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from types import SimpleNamespace
from typing import IO, Any, cast

import pytest
from azure.mgmt.cognitiveservices.models import Deployment

from ftops import FoundryError, PermanentFoundryError, TemporaryFoundryError
from ftops.foundry import DeploymentWrite, FoundryClient
from ftops.foundry._errors import RetryPolicy

# What ARM may answer for a deployment: properties newer than the SDK's models (a newer API version's,
# or undocumented ones), on the resource, its properties, its model and its sku.
LIVE: dict[str, Any] = {
    "name": "prod", "etag": '"e1"', "futureTop": {"x": 1},
    "sku": {"name": "GlobalStandard", "capacity": 50, "futureSku": "s"},
    "tags": {"cost-center": "cc-1", "ftops-project": "p"},
    "properties": {"model": {"format": "OpenAI", "name": "m1", "version": "1", "futureModel": [1, 2]},
                   "raiPolicyName": "acme-strict", "provisioningState": "Succeeded",
                   "deploymentState": "Running", "routingConfiguration": {"mode": "x" * 10_000},
                   "serviceTier": "Priority"},
}


class FakeArm:
    """ARM's deployments operations: stores what is PUT, answers GETs in `states` order, then as stored."""

    def __init__(self, live: dict[str, Any] | None, states: list[str] | None = None,
                 put: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.stored = live
        self.states = list(states or [])
        self.sent: list[dict[str, Any]] = []
        self.deleted = 0
        self._put = put
        self.deployments = SimpleNamespace(get=self.get, begin_create_or_update=self.put, begin_delete=self.delete)

    def get(self, group: str, account: str, name: str, **kw: Any) -> Deployment:
        from azure.core.exceptions import ResourceNotFoundError
        if self.stored is None:
            e = ResourceNotFoundError("DeploymentNotFound")
            e.status_code = 404
            raise e
        body = json.loads(json.dumps(self.stored))
        if self.states:
            body["properties"]["provisioningState"] = self.states.pop(0)
        return Deployment.deserialize(body)

    def put(self, group: str, account: str, name: str, body: IO[bytes], **kw: Any) -> Any:
        sent = json.loads(body.read())
        self.sent.append(sent)
        if self._put is not None:
            self._put(sent)
        self.stored = {**json.loads(json.dumps(sent)), "name": name, "etag": '"e2"'}
        self.stored["properties"]["provisioningState"] = "Succeeded"
        return SimpleNamespace(result=lambda: None)

    def delete(self, group: str, account: str, name: str, **kw: Any) -> Any:
        self.deleted += 1
        self.stored = None
        return SimpleNamespace(result=lambda: None)


def client(arm: FakeArm) -> FoundryClient:
    c = FoundryClient(cast(Any, None), cast(Any, arm), resource_group="g", account="a", endpoint="e",
                      policy=RetryPolicy(attempts=2, base_delay=0.0, max_delay=0.0, budget=5.0), poll_interval=0.001)
    return c


WRITE = DeploymentWrite("m2", "GlobalStandard", 40, {"ftops-project": "p"})


def test_properties_the_sdk_does_not_model_are_written_back() -> None:
    arm = FakeArm(json.loads(json.dumps(LIVE)))
    client(arm).put_deployment("prod", WRITE)
    sent = arm.sent[-1]
    props = sent["properties"]
    assert (props["deploymentState"], props["serviceTier"]) == ("Running", "Priority")
    assert props["routingConfiguration"] == LIVE["properties"]["routingConfiguration"]
    assert props["model"] == {"format": "OpenAI", "name": "m2", "version": "1", "futureModel": [1, 2]}
    assert sent["sku"] == {"name": "GlobalStandard", "capacity": 40, "futureSku": "s"}
    assert sent["futureTop"] == {"x": 1} and props["raiPolicyName"] == "acme-strict"
    assert "provisioningState" not in props and "etag" not in sent  # read-only fields stay out


def test_a_new_sku_name_drops_the_old_skus_unknown_fields_too() -> None:
    arm = FakeArm(json.loads(json.dumps(LIVE)))
    client(arm).replace_deployment("prod", DeploymentWrite("m1", "Developer", 1))
    assert arm.sent[-1]["sku"] == {"name": "DeveloperTier", "capacity": 1}
    assert arm.sent[-1]["properties"]["serviceTier"] == "Priority"


def test_a_restore_writes_back_the_unknown_properties_as_read() -> None:
    def refuse_new(body: dict[str, Any]) -> None:
        if body["sku"]["name"] == "DeveloperTier":
            raise PermanentFoundryError("deploy prod: refused", status=400)
    arm = FakeArm(json.loads(json.dumps(LIVE)), put=refuse_new)
    with pytest.raises(FoundryError, match="was restored"):
        client(arm).replace_deployment("prod", DeploymentWrite("m1", "Developer", 1))
    restored = arm.sent[-1]
    assert restored["properties"]["deploymentState"] == "Running" and restored["sku"]["futureSku"] == "s"


def test_a_deployment_that_never_finishes_provisioning_is_bounded() -> None:
    arm = FakeArm(json.loads(json.dumps(LIVE)), states=["Succeeded"] + ["Creating"] * 100_000)
    c = client(arm)
    c.provision_timeout = 0.05
    with pytest.raises(TemporaryFoundryError, match=r"still Creating after .* run apply again"):
        c.put_deployment("prod", WRITE)


def test_a_delete_that_never_ends_is_bounded_and_a_replace_creates_nothing_after_it() -> None:
    arm = FakeArm(json.loads(json.dumps(LIVE)))
    arm.delete = lambda *a, **kw: SimpleNamespace(result=lambda: None)  # type: ignore[method-assign]
    arm.deployments.begin_delete = arm.delete
    arm.states = ["Succeeded"] + ["Deleting"] * 100_000
    c = client(arm)
    c.provision_timeout = 0.05
    with pytest.raises(TemporaryFoundryError, match="still Deleting"):
        c.replace_deployment("prod", DeploymentWrite("m1", "Developer", 1))
    assert arm.sent == []


def test_ctrl_c_while_azure_provisions_ends_the_wait() -> None:
    arm = FakeArm(json.loads(json.dumps(LIVE)), states=["Succeeded"] + ["Creating"] * 100_000)
    c = client(arm)
    c.poll_interval = 60.0  # without the stop event this test would hang for minutes
    stop = threading.Event()
    stop.set()
    with c.stopping_on(stop):
        d = c.put_deployment("prod", WRITE)
    assert d.provisioning_state == "Creating"  # accepted by Azure, which finishes it; the next apply reads it


def test_ctrl_c_while_azure_deletes_writes_nothing_after_it() -> None:
    arm = FakeArm(json.loads(json.dumps(LIVE)))
    arm.deployments.begin_delete = lambda *a, **kw: SimpleNamespace(result=lambda: None)
    arm.states = ["Succeeded"] + ["Deleting"] * 100_000
    c = client(arm)
    c.poll_interval = 60.0
    stop = threading.Event()
    stop.set()
    with c.stopping_on(stop), pytest.raises(TemporaryFoundryError, match="interrupted while Azure deletes it: "
                                            "prod serves nothing until the next apply creates it again"):
        c.replace_deployment("prod", DeploymentWrite("m1", "Developer", 1))
    assert arm.sent == []


def test_a_replace_whose_create_and_restore_both_fail_says_so_in_one_line() -> None:
    def refuse(body: dict[str, Any]) -> None:
        raise PermanentFoundryError("deploy prod: InsufficientQuota", status=400)
    arm = FakeArm(json.loads(json.dumps(LIVE)), put=refuse)
    with pytest.raises(PermanentFoundryError) as e:
        client(arm).replace_deployment("prod", DeploymentWrite("m1", "Developer", 1))
    msg = str(e.value)
    assert "could NOT be restored" in msg and "serves nothing now" in msg and "\n" not in msg
    assert arm.deleted == 1 and len(arm.sent) == 2


def _tagged(n: int, extra: dict[str, str] | None = None) -> dict[str, Any]:
    live = json.loads(json.dumps(LIVE))
    live["tags"] = {**{f"team-{i}": "x" for i in range(n)}, **(extra or {})}
    return live


OURS = {f"ftops-{k}": "v" for k in ("project", "spec", "hash", "job", "model", "valid-loss")}


def test_tags_over_azures_limit_after_the_merge_are_refused_before_any_write() -> None:
    arm = FakeArm(_tagged(45))
    with pytest.raises(PermanentFoundryError, match=r"51 tags, over Azure's 50.*remove 1 .*nothing was written"):
        client(arm).put_deployment("prod", DeploymentWrite("m2", "GlobalStandard", 40, OURS))
    assert arm.sent == []


def test_a_replace_over_the_tag_limit_deletes_nothing() -> None:
    arm = FakeArm(_tagged(48))
    with pytest.raises(PermanentFoundryError, match="over Azure's 50"):
        client(arm).replace_deployment("prod", DeploymentWrite("m2", "Developer", 1, OURS))
    assert arm.deleted == 0 and arm.sent == []


def test_exactly_fifty_tags_is_written() -> None:
    arm = FakeArm(_tagged(44))
    client(arm).put_deployment("prod", DeploymentWrite("m2", "GlobalStandard", 40, OURS))
    assert len(arm.sent[-1]["tags"]) == 50


def test_an_ftops_tag_spelled_in_capitals_by_hand_is_the_same_tag() -> None:
    # Azure's tag names are case-insensitive: FTOPS-project is ftops-project, so writing both is one name twice.
    arm = FakeArm(_tagged(1, {"FTOPS-project": "someone-else", "Ftops-Owner": "alice"}))
    client(arm).put_deployment("prod", DeploymentWrite("m2", "GlobalStandard", 40, OURS))
    assert {k.lower() for k in arm.sent[-1]["tags"]} == {"team-0", *OURS}
    assert arm.sent[-1]["tags"]["ftops-project"] == "v"


# -- listings whose paging never ends ------------------------------------------------------------------------
class _Raw:
    """The HTTP answer openai's `get` hands back as is (`cast_to`): a cursor page's JSON."""

    def __init__(self, page: Any) -> None:
        self.content = json.dumps({"object": "list", "data": [vars(o) for o in page.data],
                                   "has_more": page.has_more}).encode()
        self.headers: dict[str, str] = {}


def test_a_job_listing_whose_cursor_repeats_ends_in_one_line() -> None:
    # has_more forever, always the same last id: the old loop asked for the same page forever.
    job = SimpleNamespace(id="ftjob-1", created_at=1, status="running", metadata={}, model="m",
                          fine_tuned_model=None, training_file="f", validation_file=None, error=None,
                          hyperparameters=None, method=None, trained_tokens=None, finished_at=None,
                          estimated_finish=None, suffix=None, seed=None)
    page = SimpleNamespace(data=[job], has_more=True)
    oai = SimpleNamespace(get=lambda path, **kw: _Raw(page) if path == "/fine_tuning/jobs" else None)
    c = FoundryClient(cast(Any, oai), cast(Any, None), resource_group="g", account="a", endpoint="e")
    with pytest.raises(PermanentFoundryError, match="paging did not end"):
        c.list_jobs()


def test_a_file_listing_with_new_cursors_forever_is_bounded() -> None:
    counter = iter(range(10**9))

    def listing(path: str, **kw: Any) -> _Raw:
        assert path == "/files"
        f = SimpleNamespace(id=f"file-{next(counter)}", created_at=1, filename="x", bytes=1, status="processed",
                            purpose="fine-tune", status_details=None)
        return _Raw(SimpleNamespace(data=[f], has_more=True))
    oai = SimpleNamespace(get=listing)
    c = FoundryClient(cast(Any, oai), cast(Any, None), resource_group="g", account="a", endpoint="e")
    with pytest.raises(PermanentFoundryError, match="over 1,000 pages"):
        c.list_files()


def test_an_arm_listing_whose_next_link_never_ends_is_bounded() -> None:
    def pages() -> Any:
        while True:
            yield [Deployment.deserialize({"name": "d", "sku": {"name": "Standard", "capacity": 1}})]
    arm = SimpleNamespace(deployments=SimpleNamespace(list=lambda *a, **kw: SimpleNamespace(by_page=pages)),
                          accounts=SimpleNamespace(list_models=lambda *a, **kw: SimpleNamespace(by_page=pages)))
    c = FoundryClient(cast(Any, None), cast(Any, arm), resource_group="g", account="a", endpoint="e")
    with pytest.raises(PermanentFoundryError, match="list deployments: Foundry's paging did not end"):
        c.list_deployments()
    with pytest.raises(PermanentFoundryError, match="list the account's models: Foundry's paging"):
        c.list_models()


def test_an_etag_that_never_matches_is_bounded_to_three_merges() -> None:
    def always_412(body: dict[str, Any]) -> None:
        raise PermanentFoundryError("deploy prod: HTTP 412: PreconditionFailed: the etag does not match",
                                    status=412, code="PreconditionFailed")
    arm = FakeArm(json.loads(json.dumps(LIVE)), put=always_412)
    with pytest.raises(PermanentFoundryError, match="412") as e:
        client(arm).put_deployment("prod", WRITE)
    assert len(arm.sent) == 3 and "\n" not in str(e.value)


def test_status_shows_the_properties_the_sdk_does_not_model_too() -> None:
    from ftops.foundry import LiveDeployment

    d = LiveDeployment.parse(Deployment.deserialize(json.loads(json.dumps(LIVE))))
    assert d.settings["deploymentState"] == "Running" and d.settings["raiPolicyName"] == "acme-strict"
    assert "provisioningState" not in d.settings
