"""One local Foundry, several accounts in several regions: each its own data plane, ARM path, state and key;
cross-account deployments (`source`, `sourceAccount`) with Azure's refusals; the model copy API (preview).
Only the real `openai` and `azure-mgmt-cognitiveservices` clients talk to it (docs/emulator.md, "Several accounts").
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient
from azure.mgmt.cognitiveservices.models import Deployment, DeploymentModel, DeploymentProperties, Sku

from ftops.emulator import AccountSpec, AdminClient, Connection, EmulatorServer
from tests.e2e.conftest import FAST, TRAIN, StaticToken

OTHER_SUBSCRIPTION = "11111111-1111-1111-1111-111111111111"
COPY_HEADER = {"aoai-copy-ft-checkpoints": "preview"}
MONA_LISA = ["Oh,", "some", "obscure", "artist", "named", "Leonardo", "da", "Vinci.", "Not", "that", "he", "is",
             "famous", "or", "anything."]


@dataclass
class Account:
    conn: Connection
    oai: openai.OpenAI
    arm: CognitiveServicesManagementClient
    admin: AdminClient

    @property
    def id(self) -> str:
        c = self.conn
        return (f"/subscriptions/{c.subscription}/resourceGroups/{c.resource_group}/providers/"
                f"Microsoft.CognitiveServices/accounts/{c.account}")

    def train(self, model: str = "gpt-4.1-mini-2025-04-14") -> Any:
        with open(TRAIN, "rb") as f:
            fid = self.oai.files.create(file=f, purpose="fine-tune").id
        for _ in range(500):
            if self.oai.files.retrieve(fid).status != "pending":
                break
            time.sleep(0.005)
        job = self.oai.fine_tuning.jobs.create(model=model, training_file=fid,
                                               extra_body={"trainingType": "GlobalStandard"})
        for _ in range(2000):
            job = self.oai.fine_tuning.jobs.retrieve(job.id)
            if job.status == "succeeded":
                return job
            time.sleep(0.01)
        raise AssertionError(f"job {job.id} never succeeded")

    def deploy(self, name: str, model: str, sku: str = "GlobalStandard", headers: dict[str, str] | None = None,
               **source: str) -> Deployment:
        body = Deployment(sku=Sku(name=sku, capacity=1), properties=DeploymentProperties(
            model=DeploymentModel(format="OpenAI", name=model, version="1", **source)))
        poller = self.arm.deployments.begin_create_or_update(self.conn.resource_group, self.conn.account, name, body,
                                                             headers=headers or {})
        return poller.result()

    def copy(self, job_id: str, checkpoint: str, dest: Account, region: str | None = None,
             headers: dict[str, str] | None = None) -> dict[str, Any]:
        body = {"destinationResourceId": dest.id, "region": region or dest.conn.region}
        answer: dict[str, Any] = self.oai.post(f"/fine_tuning/jobs/{job_id}/checkpoints/{checkpoint}/copy",
                                               body=body, cast_to=object,
                                               options={"headers": COPY_HEADER if headers is None else headers})
        return answer

    def copy_status(self, job_id: str, checkpoint: str) -> dict[str, Any]:
        answer: dict[str, Any] = self.oai.get(f"/fine_tuning/jobs/{job_id}/checkpoints/{checkpoint}/copy",
                                              cast_to=object, options={"headers": COPY_HEADER})
        return answer


def _clients(conn: Connection) -> Account:
    verify = ssl.create_default_context(cafile=conn.ca_cert)
    oai = openai.OpenAI(base_url=conn.endpoint, api_key=conn.api_key, max_retries=0,
                        http_client=httpx.Client(verify=verify))
    arm = CognitiveServicesManagementClient(StaticToken(conn.api_key), conn.subscription, base_url=conn.arm_endpoint,
                                            connection_verify=conn.ca_cert, polling_interval=0.01, retry_total=0)
    return Account(conn, oai, arm, AdminClient(conn))


@dataclass
class World:
    server: EmulatorServer
    dev: Account  # swedencentral: trains (the first account: the data dir, served at the root)
    prod: Account  # eastus2: serves
    elsewhere: Account  # another subscription the caller holds no role in
    foreign: Account  # another tenant


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    server = EmulatorServer(tmp_path / "emu", speed=FAST, account="dev", region="swedencentral", accounts=(
        AccountSpec("prod", "eastus2"),
        AccountSpec("elsewhere", "swedencentral", subscription=OTHER_SUBSCRIPTION, authorized=False),
        AccountSpec("foreign", "swedencentral", tenant="another-tenant"))).start()
    c = server.connection
    try:
        yield World(server, _clients(c), _clients(c.for_account("prod")), _clients(c.for_account("elsewhere")),
                    _clients(c.for_account("foreign")))
    finally:
        server.stop()


def _arm_error(call: Any) -> tuple[int, str, str]:
    with pytest.raises(HttpResponseError) as caught:
        call()
    err = caught.value
    assert err.response is not None and err.error is not None
    return err.response.status_code, str(err.error.code), str(err.error.message)


def test_each_account_has_its_own_data_plane_arm_path_region_and_key(world: World, tmp_path: Path) -> None:
    dev, prod = world.dev, world.prod
    listed = Connection.load(tmp_path / "emu" / "connection.json")  # what another process reads
    assert [a.account for a in listed.accounts] == ["dev", "prod", "elsewhere", "foreign"]
    assert listed.endpoint == dev.conn.endpoint and listed.account == "dev"  # the first account's fields as before
    assert prod.conn.endpoint.endswith("/accounts/prod/openai/v1") and prod.conn.api_key != dev.conn.api_key

    with open(TRAIN, "rb") as f:
        fid = dev.oai.files.create(file=f, purpose="fine-tune").id
    assert fid not in {x.id for x in prod.oai.files.list()}  # its own files
    wrong_key = openai.OpenAI(base_url=prod.conn.endpoint, api_key=dev.conn.api_key, max_retries=0,
                              http_client=httpx.Client(verify=ssl.create_default_context(cafile=dev.conn.ca_cert)))
    with pytest.raises(openai.AuthenticationError):
        wrong_key.files.list()  # its own key

    account = prod.arm.accounts.get(prod.conn.resource_group, "prod")
    assert account.location == "eastus2" and account.properties.endpoint.endswith("/accounts/prod/")
    assert {a.name: a.location for a in dev.arm.accounts.list()} == {"dev": "swedencentral", "prod": "eastus2",
                                                                      "foreign": "swedencentral"}
    prod.admin.limits(max_deployments=0)  # its own quota
    usages = {u.name.value: u.limit for u in prod.arm.accounts.list_usages(prod.conn.resource_group, "prod").value}
    assert usages["FineTunedDeployments"] == 0
    dev_usages = {u.name.value: u.limit for u in dev.arm.accounts.list_usages(dev.conn.resource_group, "dev").value}
    assert dev_usages["FineTunedDeployments"] == 10

    dev.admin.advance(days=1)  # one clock for every account
    assert abs(prod.admin.state()["now"] - dev.admin.state()["now"]) < 60


def test_an_account_added_while_serving_is_reachable_at_once(world: World) -> None:
    added = world.dev.admin.add_account("staging", "northcentralus")
    assert added["region"] == "northcentralus" and added["data_plane_prefix"] == "/accounts/staging"
    staging = _clients(world.server.connection.for_account("staging"))
    assert staging.oai.files.list().data == []
    assert staging.arm.accounts.get(staging.conn.resource_group, "staging").location == "northcentralus"
    with pytest.raises(httpx.HTTPStatusError):
        world.dev.admin.add_account("staging", "eastus2")  # the same name with other settings


def test_train_in_swedencentral_deploy_in_eastus2_with_source(world: World) -> None:
    dev, prod = world.dev, world.prod
    job = dev.train()
    done = prod.deploy("clippy", job.fine_tuned_model, source=dev.id)
    assert done.properties.provisioning_state == "Succeeded"
    assert done.properties.model.source == dev.id  # the target names where the model came from
    assert [d.name for d in prod.arm.deployments.list(prod.conn.resource_group, "prod")] == ["clippy"]
    assert list(dev.arm.deployments.list(dev.conn.resource_group, "dev")) == []
    reply = prod.oai.chat.completions.create(model="clippy",
                                             messages=[{"role": "user", "content": "Who painted the Mona Lisa?"}])
    assert set((reply.choices[0].message.content or "").split()) & set(MONA_LISA)  # it answers as trained


def test_cross_account_deployments_are_refused_as_azure_refuses_them(world: World) -> None:
    dev, prod = world.dev, world.prod
    model = dev.train().fine_tuned_model
    # The model is not in the source account.
    status, code, _ = _arm_error(lambda: prod.deploy("a", "gpt-4.1-mini-2025-04-14.ft-" + "0" * 32, source=dev.id))
    assert (status, code) == (400, "DeploymentModelNotSupported")
    # Without `source` the target does not know the model.
    assert _arm_error(lambda: prod.deploy("b", model))[:2] == (400, "DeploymentModelNotSupported")
    # The target region does not offer the model's fine-tuned deployments on this SKU (Standard: not eastus2).
    status, code, message = _arm_error(lambda: prod.deploy("c", model, sku="Standard", source=dev.id))
    assert (status, code) == (400, "InvalidResourceProperties")
    assert message == "The specified SKU 'Standard' for model 'gpt-4.1-mini' is not supported in this region 'eastus2'."
    # A source naming no account.
    missing = dev.id.replace("/accounts/dev", "/accounts/nowhere")
    assert _arm_error(lambda: prod.deploy("d", model, source=missing))[:2] == (404, "ResourceNotFound")
    assert _arm_error(lambda: prod.deploy("d", model, source="dev"))[:2] == (400, "LinkedInvalidPropertyId")


def test_sources_in_another_subscription_or_tenant_need_authorization(world: World) -> None:
    prod, elsewhere, foreign = world.prod, world.elsewhere, world.foreign
    theirs = elsewhere.train().fine_tuned_model
    status, code, message = _arm_error(lambda: prod.deploy("from-elsewhere", theirs, source=elsewhere.id))
    assert (status, code) == (403, "LinkedAuthorizationFailed") and elsewhere.id in message

    foreign_model = foreign.train().fine_tuned_model
    status, code, message = _arm_error(lambda: prod.deploy("x", foreign_model, source=foreign.id))
    assert (status, code) == (403, "LinkedAuthorizationFailed") and "another-tenant" in message
    status, code, _ = _arm_error(lambda: prod.deploy("x", foreign_model, source_account=foreign.id))
    assert (status, code) == (403, "LinkedAuthorizationFailed")  # no token of the source tenant
    aux = {"x-ms-authorization-auxiliary": f"Bearer {foreign.conn.api_key}"}
    done = prod.deploy("x", foreign_model, headers=aux, source_account=foreign.id)
    assert done.properties.provisioning_state == "Succeeded" and done.properties.model.source_account == foreign.id


def test_copy_a_model_into_another_region_and_deploy_it_there(world: World) -> None:
    dev, prod = world.dev, world.prod
    job = dev.train()
    model = job.fine_tuned_model
    with pytest.raises(openai.BadRequestError, match="at least one fine-tuning job"):
        dev.copy(job.id, model, prod)  # Learn's prerequisite: the destination has fine-tuned before
    prod.train()

    started = dev.copy(job.id, model, prod)
    assert started["checkpointedModelName"] == model and started["fineTuningJobId"] == job.id
    assert started["copiedAccountDetails"] == [{"destinationResourceId": prod.id, "region": "eastus2",
                                                "status": "InProgress"}]
    for _ in range(500):
        status = dev.copy_status(job.id, model)["copiedAccountDetails"][0]["status"]
        if status != "InProgress":
            break
        time.sleep(0.01)
    assert status == "Completed"
    again = dev.copy(job.id, model, prod)  # a second copy to the same destination: the one made, no other
    assert again["copiedAccountDetails"] == [{"destinationResourceId": prod.id, "region": "eastus2",
                                              "status": "Completed"}]

    done = prod.deploy("copied", model)  # by the same name, no source: the model is prod's now
    assert done.properties.provisioning_state == "Succeeded" and done.properties.model.source is None
    reply = prod.oai.chat.completions.create(model="copied",
                                             messages=[{"role": "user", "content": "Who painted the Mona Lisa?"}])
    assert set((reply.choices[0].message.content or "").split()) & set(MONA_LISA)
    assert model not in {j.fine_tuned_model for j in prod.oai.fine_tuning.jobs.list()}  # not one of prod's jobs
    with open(TRAIN, "rb") as f:  # Learn: a copied model trains on in its new region
        fid = prod.oai.files.create(file=f, purpose="fine-tune").id
    time.sleep(0.01)
    assert prod.oai.fine_tuning.jobs.create(model=model, training_file=fid).model == model


def test_copies_that_azure_refuses_or_that_fail(world: World) -> None:
    dev, prod, foreign = world.dev, world.prod, world.foreign
    job = dev.train()
    prod.train()
    foreign.train()
    with pytest.raises(openai.BadRequestError, match="aoai-copy-ft-checkpoints"):
        dev.copy(job.id, job.fine_tuned_model, prod, headers={})
    with pytest.raises(openai.BadRequestError, match="not the region of the destination"):
        dev.copy(job.id, job.fine_tuned_model, prod, region="westeurope")
    with pytest.raises(openai.BadRequestError, match="same tenant"):
        dev.copy(job.id, job.fine_tuned_model, foreign)
    with pytest.raises(openai.NotFoundError):
        dev.copy(job.id, "ftchkpt-" + "0" * 32, prod)
    with pytest.raises(openai.PermissionDeniedError):
        dev.copy(job.id, job.fine_tuned_model, world.elsewhere)

    dev.admin.fail_copies("prod")
    dev.copy(job.id, job.fine_tuned_model, prod)
    for _ in range(500):
        status = dev.copy_status(job.id, job.fine_tuned_model)["copiedAccountDetails"][0]["status"]
        if status != "InProgress":
            break
        time.sleep(0.01)
    assert status == "Failed"
    assert _arm_error(lambda: prod.deploy("never", job.fine_tuned_model))[:2] == (400, "DeploymentModelNotSupported")
    dev.admin.fail_copies()
    assert dev.copy(job.id, job.fine_tuned_model, prod)["copiedAccountDetails"][0]["status"] == "InProgress"


def test_ftops_emulator_account_add_and_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ftops.cli import _main

    def ftops(*args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as e:
            _main.main([*args, "--data-dir", str(tmp_path / "emu")])
        captured = capsys.readouterr()
        return int(e.value.code or 0), captured.out, captured.err

    EmulatorServer(tmp_path / "emu", speed=FAST).start().stop()  # a local Foundry has run there
    code, out, _ = ftops("emulator", "account", "add", "prod", "--region", "eastus2")
    assert code == 0 and '"region": "eastus2"' in out and '"data_plane_prefix": "/accounts/prod"' in out
    code, out, _ = ftops("emulator", "account", "list")
    assert code == 0 and '"account": "ftops-local"' in out and '"account": "prod"' in out
    code, _, err = ftops("emulator", "account", "add", "no_such!", "--region", "eastus2")
    assert code == 1 and err.count("\n") == 1 and "account name 'no_such!'" in err
    with EmulatorServer(tmp_path / "emu", speed=FAST) as server:  # a later start serves it, and names it
        assert server.connection.for_account("prod").region == "eastus2"


def test_a_child_local_foundry_serves_the_accounts_it_is_given(tmp_path: Path) -> None:
    from ftops.emulator import spawn

    child = spawn(tmp_path / "emu", speed=FAST, subscription=None, resource_group=None, account="dev",
                  region="swedencentral", accounts=(AccountSpec("prod", "eastus2"),))
    try:
        prod = _clients(child.connection.for_account("prod"))
        assert prod.oai.files.list().data == [] and prod.conn.region == "eastus2"
        assert prod.arm.accounts.get(prod.conn.resource_group, "prod").location == "eastus2"
    finally:
        child.stop()
    refused = spawn(tmp_path / "bad", speed=FAST, subscription=None, resource_group=None, account=None,
                    region="swedencentral", accounts=(AccountSpec("no_such!", "eastus2"),))
    with pytest.raises(RuntimeError, match="account name 'no_such!'"):
        _ = refused.connection
    refused.stop()
