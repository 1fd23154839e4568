"""The local Foundry against Azure's published sources (tests/fixtures/azure/, see its README).

Every ARM answer ftops relies on is validated against the Microsoft.CognitiveServices 2025-09-01
schema excerpt, its status codes against the operation's declared responses; data-plane answers are
compared with the dated authoring examples and the outputs printed in Learn's fine-tuning tutorial.
"""

from __future__ import annotations

import hashlib
import json
import ssl
import time
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.cognitiveservices.models import PatchResourceTagsAndSku, Sku
from jsonschema import Draft202012Validator

from ftops.emulator import launch
from ftops.foundry import LiveJob, connect
from ftops.plan import _matching as matching
from ftops.plan._resolve import resolve_model, selector_of
from ftops.spec import DeploymentSpec, FoundrySpec
from tests.e2e.conftest import FAST, TRAIN, VALID, Foundry, Project, assert_schema

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "azure"
ARM = json.loads((FIXTURES / "arm-cognitiveservices-2025-09-01.excerpt.json").read_text())
ARM_EXAMPLES = json.loads((FIXTURES / "arm-examples-2025-09-01.json").read_text())
DATED_EXAMPLES = json.loads((FIXTURES / "authoring-2025-04-01-preview.examples.json").read_text())
LEARN = json.loads((FIXTURES / "learn-fine-tune-tutorial.json").read_text())
V1 = json.loads((FIXTURES / "azure-v1-fine-tuning.schemas.json").read_text())
ACCOUNT_PATH = ("/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/"
                "Microsoft.CognitiveServices/accounts/{accountName}")
DATED = "2025-04-01-preview"
ARM_VERSION = "2025-09-01"


def assert_arm(body: Any, definition: str) -> None:
    """Validate a body against a definition of the ARM excerpt."""
    schema = {"definitions": ARM["definitions"], "$ref": f"#/definitions/{definition}"}
    errors = sorted(Draft202012Validator(schema).iter_errors(body), key=str)
    assert not errors, f"{definition}: {[e.message for e in errors][:5]}"


def _v1_with_observed_differences() -> dict[str, Any]:
    """Azure's v1 schemas, widened only where Azure's own printed output differs from them (Learn
    tutorial: a job `pending` with `organization_id` and `result_files` null; `paused` from pause)."""
    spec: dict[str, Any] = json.loads(json.dumps(V1))
    job = spec["$defs"]["OpenAI.FineTuningJob"]["properties"]
    job["status"]["enum"] += ["pending", "paused"]
    job["organization_id"] = {"type": ["string", "null"]}
    job["result_files"] = {"anyOf": [job["result_files"], {"type": "null"}]}
    return spec


_V1 = _v1_with_observed_differences()


def assert_v1(body: Any, name: str) -> None:
    """Validate a data-plane body against Azure's v1 schema `name` (see _v1_with_observed_differences)."""
    schema = {**_V1, "$ref": f"#/$defs/{name}"}
    errors = sorted(Draft202012Validator(schema).iter_errors(body), key=str)
    assert not errors, f"{name}: {[e.message for e in errors][:5]}"


def assert_arm_response(r: httpx.Response, path: str, method: str) -> None:
    """The status code is one the operation declares, and the body is the declared definition
    (an error answer: ErrorResponse with code and message)."""
    op = ARM["paths"][ACCOUNT_PATH + path][method]
    declared = op["responses"]
    if str(r.status_code) in declared:
        if declared[str(r.status_code)] is not None:
            assert_arm(r.json(), declared[str(r.status_code)])
        return
    assert r.status_code >= 400, f"{op['operationId']} answered {r.status_code}, declared {sorted(declared)}"
    assert_arm(r.json(), "ErrorResponse")
    assert r.json()["error"]["code"] and r.json()["error"]["message"]


class ArmHttp(httpx.Client):
    """Raw ARM requests under the account, with `api-version` unless the URL (a nextLink) has a query."""

    def request(self, method: str, url: Any, **kw: Any) -> httpx.Response:
        if "?" not in str(url):
            kw["params"] = {"api-version": ARM_VERSION, **(kw.get("params") or {})}
        return super().request(method, url, **kw)


def arm_http(f: Foundry) -> ArmHttp:
    c = f.conn
    return ArmHttp(base_url=f"{c.arm_endpoint}/subscriptions/{c.subscription}/resourceGroups/"
                            f"{c.resource_group}/providers/Microsoft.CognitiveServices/accounts/{c.account}",
                   headers={"Authorization": f"Bearer {c.api_key}"},
                   verify=ssl.create_default_context(cafile=c.ca_cert), timeout=30)


def upload_slow(f: Foundry) -> str:
    """Upload on a slow emulator: move its clock until the file is processed (5 emulated s)."""
    with open(TRAIN, "rb") as fh:
        fid = f.oai.files.create(file=fh, purpose="fine-tune").id
    f.admin.advance(seconds=5 / f.server.emulator.speed + 1)
    return fid


def trained(f: Foundry, **kw: Any) -> Any:
    """A succeeded job on the clippy data (3 epochs, with a validation file)."""
    job = f.job(f.upload(), validation_file=f.upload(VALID),
                method={"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 3}}}, **kw)
    done = f.wait_job(job.id)
    assert done.status == "succeeded"
    return done


def put(http: httpx.Client, name: str, model: str, sku: str = "GlobalStandard", capacity: int = 1) -> httpx.Response:
    return http.put(f"/deployments/{name}", json={"sku": {"name": sku, "capacity": capacity},
                                                   "properties": {"model": {"format": "OpenAI", "name": model,
                                                                            "version": "1"}}})


# -- the excerpts themselves ----------------------------------------------------------------
def test_spec_examples_match_the_excerpt() -> None:
    """The excerpt is faithful enough that Azure's own examples validate against it."""
    assert_arm(ARM_EXAMPLES["GetDeployment"]["responses"]["200"]["body"], "Deployment")
    assert_arm(ARM_EXAMPLES["UpdateDeployment"]["responses"]["200"]["body"], "Deployment")
    assert_arm(ARM_EXAMPLES["UpdateDeployment"]["parameters"]["deployment"], "PatchResourceTagsAndSku")
    assert_arm(ARM_EXAMPLES["ListUsages"]["responses"]["200"]["body"], "UsageListResult")
    assert_arm(ARM_EXAMPLES["ListAccountModels"]["responses"]["200"]["body"], "AccountModelListResult")
    with pytest.raises(AssertionError):
        assert_arm({"value": [{"lifecycleStatus": "Retired"}]}, "AccountModelListResult")


# -- 2a: the final checkpoint is the fine-tuned model ---------------------------------------
def test_final_checkpoint_is_the_fine_tuned_model(foundry: Foundry) -> None:
    job = trained(foundry)
    raw = foundry.oai.fine_tuning.jobs.checkpoints.with_raw_response.list(job.id).http_response.json()
    cps = raw["data"]
    learn = LEARN["checkpoints"]["data"]
    assert len(cps) == len(learn) == 3
    assert cps[0]["fine_tuned_model_checkpoint"] == job.fine_tuned_model  # newest first, no :ckpt-step-
    for cp in cps[1:]:
        assert cp["fine_tuned_model_checkpoint"] == f"{job.fine_tuned_model}:ckpt-step-{cp['step_number']}"
    assert learn[0]["fine_tuned_model_checkpoint"].split(".ft-")[1].count(":") == 0  # as Learn printed it
    assert all(set(e) <= set(c) for e, c in zip(learn, cps, strict=True))
    assert all(cp["id"].startswith("ftchkpt-") for cp in cps)
    assert_schema(raw, "ListFineTuningJobCheckpointsResponse")
    assert_v1(raw, "OpenAI.ListFineTuningJobCheckpointsResponse")


def test_checkpoints_deploy_by_id_or_by_name(foundry: Foundry) -> None:
    job = trained(foundry)
    cps = foundry.oai.fine_tuning.jobs.checkpoints.list(job.id).data
    assert foundry.deploy("by-id", cps[1].id).result().properties.provisioning_state == "Succeeded"
    assert foundry.deploy("by-name", cps[2].fine_tuned_model_checkpoint).result().name == "by-name"
    with pytest.raises(HttpResponseError) as e:
        foundry.deploy("nope", f"{job.fine_tuned_model}:ckpt-step-999999").result()
    assert e.value.status_code == 400


def test_resolve_picks_the_model_azure_would_deploy(tmp_path: Path) -> None:
    """ftops' final/best/{epoch: N} on Azure's numbering: the final epoch is the fine-tuned model
    itself, earlier epochs their ftchkpt- ids."""
    client = connect(FoundrySpec(local=True, speed=20000), tmp_path, launcher=launch)
    try:
        oai = client.oai
        train = client.wait_file(client.upload(TRAIN, "t.jsonl").id).id
        valid = client.wait_file(client.upload(VALID, "v.jsonl").id).id
        created = oai.fine_tuning.jobs.create(model="gpt-4.1-mini-2025-04-14", training_file=train,
                                              validation_file=valid, extra_body={"trainingType": "globalstandard"})
        assert LiveJob.parse(created).n_epochs is None  # -1 at creation: not resolved, not a number
        for _ in range(2000):
            job = LiveJob.parse(oai.fine_tuning.jobs.retrieve(created.id))
            if job.status == "succeeded":
                break
        assert job.status == "succeeded" and job.n_epochs == 3
        cps = {c.step_number: c for c in client.checkpoints(job.id)}
        steps = sorted(cps)

        def model(checkpoint: Any) -> str | None:
            spec = DeploymentSpec.model_validate({"model": {"job": "j", "checkpoint": checkpoint},
                                                  "sku": {"name": "GlobalStandard"}})
            return resolve_model(job, client.checkpoints(job.id), selector_of(spec)).model

        assert model("final") == model({"epoch": 3}) == job.fine_tuned_model
        assert model({"epoch": 2}) == cps[steps[1]].id and model({"epoch": 1}) == cps[steps[0]].id
        best = min(steps, key=lambda s: (cps[s].loss, -s))
        assert model("best") == (job.fine_tuned_model if best == steps[-1] else cps[best].id)
    finally:
        client.close()


# -- 2b: hyperparameters answered -1 until the job runs -------------------------------------
def test_unset_hyperparameters_read_minus_one_until_running(emulator_factory: Any) -> None:
    f = emulator_factory(speed=0.001)  # validation alone takes 20000 s: the job stays pending
    fid = upload_slow(f)
    job = f.oai.fine_tuning.jobs.with_raw_response.create(model="gpt-4o-mini-2024-07-18", training_file=fid,
                                                          seed=105).http_response.json()
    learn = LEARN["job_at_creation"]
    assert set(learn) <= set(job)
    assert job["hyperparameters"]["n_epochs"] == learn["hyperparameters"]["n_epochs"] == -1
    assert job["hyperparameters"]["batch_size"] == learn["hyperparameters"]["batch_size"] == -1
    assert job["hyperparameters"]["learning_rate_multiplier"] > 0
    assert job["status"] == learn["status"] == "pending"
    assert_schema(job, "FineTuningJob")
    assert_v1(job, "OpenAI.FineTuningJob")
    f.admin.advance(days=10)
    done = f.oai.fine_tuning.jobs.retrieve(job["id"])
    assert done.status == "succeeded"
    assert done.hyperparameters.n_epochs == 3 and isinstance(done.hyperparameters.batch_size, int)
    assert done.hyperparameters.batch_size >= 1


def test_given_hyperparameters_are_answered_as_given(emulator_factory: Any) -> None:
    f = emulator_factory(speed=0.001)
    job = f.job(upload_slow(f), method={"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 4}}})
    assert job.hyperparameters.n_epochs == 4 and job.hyperparameters.batch_size == -1


# -- 2c: fewer than 10 training examples -----------------------------------------------------
def test_fewer_than_ten_examples_fail_at_validation(foundry: Foundry, tmp_path: Path) -> None:
    small = tmp_path / "nine.jsonl"
    small.write_text("".join(TRAIN.read_text().splitlines(keepends=True)[:9]))
    job = foundry.wait_job(foundry.job(foundry.upload(small)).id)
    assert_v1(foundry.oai.fine_tuning.jobs.with_raw_response.retrieve(job.id).http_response.json(),
              "OpenAI.FineTuningJob")
    assert job.status == "failed" and job.fine_tuned_model is None
    assert job.error.code == "invalid_n_examples" and job.error.param == "training_file"
    assert "9 example(s)" in job.error.message and "at least 10" in job.error.message
    ten = tmp_path / "ten.jsonl"
    ten.write_text("".join(TRAIN.read_text().splitlines(keepends=True)[:10]))
    assert foundry.wait_job(foundry.job(foundry.upload(ten)).id).status == "succeeded"


# -- 2d: case rules ---------------------------------------------------------------------------
def test_lower_case_spellings_are_accepted_and_answered_canonically(foundry: Foundry) -> None:
    job = foundry.job(foundry.upload(), training_type="globalstandard")
    assert job.model_extra is not None and job.model_extra["trainingType"] == "GlobalStandard"
    done = foundry.wait_job(job.id)
    http = arm_http(foundry)
    r = put(http, "lower", str(done.fine_tuned_model), sku="standard")  # as the Learn tutorial sends it
    assert r.status_code == 201 and r.json()["sku"]["name"] == "Standard"
    assert LEARN["deploy_request"]["sku"]["name"] == "standard"
    bad = put(http, "bad", str(done.fine_tuned_model), sku="premium")
    assert bad.status_code == 400
    assert_arm_response(bad, "/deployments/{deploymentName}", "put")


# -- 2e: ARM ----------------------------------------------------------------------------------
def test_patch_updates_sku_and_tags(foundry: Foundry) -> None:
    job = trained(foundry)
    foundry.deploy("p", str(job.fine_tuned_model), tags={"a": "1"}).result()
    http = arm_http(foundry)
    r = http.patch("/deployments/p", json={"sku": {"name": "GlobalStandard", "capacity": 3}, "tags": {"b": "2"}})
    assert r.status_code == 202 and "azure-asyncoperation" in r.headers  # as UpdateDeployment.json
    assert_arm_response(r, "/deployments/{deploymentName}", "patch")
    acct = (foundry.conn.resource_group, foundry.conn.account)
    updated = foundry.arm.deployments.begin_update(*acct, "p", PatchResourceTagsAndSku(
        sku=Sku(name="GlobalStandard", capacity=4), tags={"c": "3"})).result()
    assert updated.sku.capacity == 4 and updated.tags == {"c": "3"} and updated.properties.model.name == job.fine_tuned_model
    missing = http.patch("/deployments/none", json={"tags": {}})
    assert missing.status_code == 404
    assert_arm_response(missing, "/deployments/{deploymentName}", "patch")


def test_an_update_in_flight_reads_a_state_of_arm_s_enum(foundry: Foundry) -> None:
    """A PUT or PATCH on an existing deployment answers `Accepted` while it runs: 2025-09-01's
    DeploymentProvisioningState has no `Updating` (Accepted, Creating, Deleting, Moving, Failed, Succeeded,
    Disabled, Canceled)."""
    job = trained(foundry)
    http = arm_http(foundry)
    created = put(http, "u", str(job.fine_tuned_model))
    assert created.status_code == 201 and created.json()["properties"]["provisioningState"] == "Creating"
    enum = ARM["definitions"]["DeploymentProperties"]["properties"]["provisioningState"]["enum"]
    time.sleep(0.05)  # the creation's 30 emulated seconds pass: a write now is not a 409
    replaced = put(http, "u", str(job.fine_tuned_model), capacity=2)
    time.sleep(0.05)
    patched = http.patch("/deployments/u", json={"tags": {"t": "1"}})
    for r in (replaced, patched):
        assert r.status_code in (200, 202), r.text
        state = r.json()["properties"]["provisioningState"]
        assert state == "Accepted" and state in enum
        assert_arm(r.json(), "Deployment")


def _base(name: str, version: str, fmt: str = "OpenAI", sku: str = "GlobalStandard") -> Any:
    from azure.mgmt.cognitiveservices.models import Deployment, DeploymentModel, DeploymentProperties

    return Deployment(sku=Sku(name=sku, capacity=1),
                      properties=DeploymentProperties(model=DeploymentModel(format=fmt, name=name, version=version)))


def test_base_models_of_the_catalog_deploy_and_answer(foundry: Foundry) -> None:
    """An account deploys the base models its models list offers, by ARM's name and version on the SKUs
    listed for them; an unknown model or version is Azure's DeploymentModelNotSupported, a SKU the model
    is not offered on Azure's InvalidResourceProperties. A base model's deployment answers chat completions,
    is no fine-tuned deployment (quota, 15-day rule)."""
    rg, acct = foundry.conn.resource_group, foundry.conn.account
    listed = next(m for m in foundry.arm.accounts.list_models(rg, acct) if m.name == "gpt-4.1-mini")
    assert "GlobalStandard" in [s.name for s in listed.skus]
    done = foundry.arm.deployments.begin_create_or_update(rg, acct, "base", _base("gpt-4.1-mini", listed.version)).result()
    assert done.properties.provisioning_state == "Succeeded"
    assert (done.properties.model.name, done.properties.model.version) == ("gpt-4.1-mini", "2025-04-14")
    assert_arm(arm_http(foundry).get("/deployments/base").json(), "Deployment")
    reply = foundry.oai.chat.completions.create(model="base", messages=[{"role": "user", "content": "Hello?"}])
    assert reply.choices[0].message.content
    for bad, code, text in (
            (_base("gpt-9-turbo", "1"), "DeploymentModelNotSupported",
             "The model 'Format: OpenAI, Name: gpt-9-turbo, Version: 1' of account deployment is not supported."),
            (_base("gpt-4.1-mini", "1999-01-01"), "DeploymentModelNotSupported", "Name: gpt-4.1-mini, Version: 1999"),
            (_base("gpt-5", "2025-08-07"), "InvalidResourceProperties",
             "The specified SKU 'GlobalStandard' of account deployment is not supported by the model 'gpt-5'")):
        with pytest.raises(HttpResponseError) as refused:
            foundry.arm.deployments.begin_create_or_update(rg, acct, "nope", bad).result()
        assert refused.value.status_code == 400 and refused.value.error.code == code and text in str(refused.value)
    usage = {u.name.value: u.current_value for u in foundry.arm.accounts.list_usages(rg, acct).value}
    assert usage["FineTunedDeployments"] == 0
    foundry.admin.advance(days=16)
    assert foundry.arm.deployments.get(rg, acct, "base").properties.provisioning_state == "Succeeded"


def test_etag_header_matches_the_body(foundry: Foundry) -> None:
    job = trained(foundry)
    http = arm_http(foundry)
    created = put(http, "e", str(job.fine_tuned_model))
    assert created.headers["etag"] == created.json()["etag"]
    foundry.arm.deployments.get(foundry.conn.resource_group, foundry.conn.account, "e")
    got = http.get("/deployments/e")
    assert got.headers["etag"] == got.json()["etag"]
    assert_arm_response(got, "/deployments/{deploymentName}", "get")
    stale = http.put("/deployments/e", headers={"If-Match": '"stale"'},
                     json={"sku": {"name": "GlobalStandard", "capacity": 1},
                           "properties": {"model": {"format": "OpenAI", "name": job.fine_tuned_model}}})
    assert stale.status_code == 412
    assert_arm(stale.json(), "ErrorResponse")


def test_deployment_list_is_paged_with_next_link(foundry: Foundry) -> None:
    job = trained(foundry)
    for name in ("d1", "d2", "d3"):
        foundry.deploy(name, str(job.fine_tuned_model)).result()
    foundry.admin.fidelity(arm_page_size=2)
    http = arm_http(foundry)
    first = http.get("/deployments")
    assert_arm_response(first, "/deployments", "get")
    assert len(first.json()["value"]) == 2 and "nextLink" in first.json()
    second = http.get(first.json()["nextLink"])
    assert [d["name"] for d in second.json()["value"]] == ["d3"] and "nextLink" not in second.json()
    names = [d.name for d in foundry.arm.deployments.list(foundry.conn.resource_group, foundry.conn.account)]
    assert names == ["d1", "d2", "d3"]  # the real client follows nextLink


def test_lro_answers_and_operation_status(foundry: Foundry) -> None:
    job = trained(foundry)
    http = arm_http(foundry)
    created = put(http, "lro", str(job.fine_tuned_model))
    assert created.status_code == 201 and created.json()["properties"]["provisioningState"] == "Creating"
    assert_arm_response(created, "/deployments/{deploymentName}", "put")
    status = http.get(created.headers["azure-asyncoperation"])
    assert_arm(status.json(), "OperationStatusResult")
    foundry.admin.advance(seconds=60)
    deleted = http.delete("/deployments/lro")
    assert deleted.status_code == 202 and "azure-asyncoperation" in deleted.headers
    assert_arm_response(deleted, "/deployments/{deploymentName}", "delete")
    foundry.admin.advance(seconds=60)
    gone = http.delete("/deployments/lro")
    assert gone.status_code == 204
    assert_arm_response(gone, "/deployments/{deploymentName}", "delete")


def test_arm_errors_have_the_arm_shape(foundry: Foundry) -> None:
    http = arm_http(foundry)
    missing = http.get("/deployments/none")
    assert missing.status_code == 404
    assert_arm_response(missing, "/deployments/{deploymentName}", "get")
    for r in (http.get("/nonsense"), http.post("/deployments/x"), http.get("/deployments", params={"api-version": ""})):
        assert r.status_code >= 400 and r.headers["content-type"].startswith("application/json")
        assert_arm(r.json(), "ErrorResponse")


def test_request_conflict_has_azure_body(emulator_factory: Any) -> None:
    f = emulator_factory()
    job = trained(f)
    f.server.emulator.speed = 0.001  # the first write stays in flight
    http = arm_http(f)
    assert put(http, "a", str(job.fine_tuned_model)).status_code == 201
    conflict = put(http, "b", str(job.fine_tuned_model))
    assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "RequestConflict"
    assert "Another operation is being performed on the parent resource" in conflict.json()["error"]["message"]
    assert_arm_response(conflict, "/deployments/{deploymentName}", "put")


# -- 2f: the dated api-version surface --------------------------------------------------------
def _azure_client(f: Foundry, version: str = DATED) -> openai.AzureOpenAI:
    c = f.conn
    return openai.AzureOpenAI(azure_endpoint=c.endpoint.removesuffix("/openai/v1"), api_key=c.api_key,
                              api_version=version, max_retries=0,
                              http_client=httpx.Client(verify=ssl.create_default_context(cafile=c.ca_cert)))


def test_azure_openai_client_on_the_dated_surface(foundry: Foundry) -> None:
    client = _azure_client(foundry)
    with open(TRAIN, "rb") as fh:
        up = client.files.with_raw_response.create(file=fh, purpose="fine-tune")
    assert_schema(up.http_response.json(), "OpenAIFile")
    assert_v1(up.http_response.json(), "AzureOpenAIFile")
    fid = up.parse().id
    foundry.wait_file(fid)
    listed = client.files.with_raw_response.list().http_response.json()
    assert_v1(listed, "AzureListFilesResponse")
    assert fid in [f["id"] for f in listed["data"]]
    created = client.fine_tuning.jobs.with_raw_response.create(model="gpt-4.1-mini-2025-04-14", training_file=fid,
                                                                extra_body={"trainingType": "GlobalStandard"})
    example = DATED_EXAMPLES["post_finetuning_job"]["responses"]
    assert str(created.http_response.status_code) in example  # 201, as post_finetuning_job.json
    assert created.http_response.headers["location"].endswith(f"/openai/fine_tuning/jobs/{created.parse().id}")
    assert set(example["201"]["body"]) - {"integrations"} <= set(created.http_response.json())
    job_id = created.parse().id
    foundry.wait_job(job_id)
    done = client.fine_tuning.jobs.with_raw_response.retrieve(job_id).http_response.json()
    assert done["status"] == "succeeded"
    assert_v1(done, "OpenAI.FineTuningJob")
    jobs = client.fine_tuning.jobs.with_raw_response.list().http_response.json()
    assert_v1(jobs, "OpenAI.ListPaginatedFineTuningJobsResponse")
    assert job_id in [j["id"] for j in jobs["data"]]
    events = client.fine_tuning.jobs.with_raw_response.list_events(job_id).http_response.json()
    assert events["data"]
    assert_v1(events, "OpenAI.ListFineTuningJobEventsResponse")
    cps = client.fine_tuning.jobs.checkpoints.with_raw_response.list(job_id).http_response.json()
    assert_schema(cps, "ListFineTuningJobCheckpointsResponse")
    assert_v1(cps, "OpenAI.ListFineTuningJobCheckpointsResponse")
    assert set(DATED_EXAMPLES["get_finetuning_job_checkpoints"]["responses"]["200"]["body"]["data"][0]) <= set(
        cps["data"][0])


def test_a_finished_job_s_events_read_as_azure_s_example(foundry: Foundry) -> None:
    """Azure's events of a finished job (get_finetuning_job_events.json) appear in its order, ending in
    "Job succeeded." (OpenAI's "Fine tuning job successfully completed" is not Azure's text)."""
    job = trained(foundry)
    raw = _azure_client(foundry).fine_tuning.jobs.with_raw_response.list_events(job.id, limit=100).http_response.json()
    assert_v1(raw, "OpenAI.ListFineTuningJobEventsResponse")
    oldest_first = [e["message"] for e in reversed(raw["data"])]
    example = [e["message"] for e in DATED_EXAMPLES["get_finetuning_job_events"]["responses"]["200"]["body"]["data"]]
    assert [m for m in oldest_first if m in example] == example
    assert oldest_first[-1] == example[-1] == "Job succeeded."
    assert set(raw["data"][0]) >= set(DATED_EXAMPLES["get_finetuning_job_events"]["responses"]["200"]["body"]["data"][0])


@pytest.mark.parametrize("version", ["2023-05-15", "2024-13-01", ""])
def test_dated_surface_refuses_unknown_versions_like_azure(foundry: Foundry, version: str) -> None:
    with pytest.raises(openai.NotFoundError) as e:
        _azure_client(foundry, version).fine_tuning.jobs.list()
    assert e.value.body == {"code": "404", "message": "Resource not found"}


def test_checkpoints_need_a_recent_version(foundry: Foundry) -> None:
    job = foundry.wait_job(foundry.job(foundry.upload()).id)
    assert _azure_client(foundry, "2024-06-01").fine_tuning.jobs.checkpoints.list(job.id).data
    with pytest.raises(openai.NotFoundError):
        _azure_client(foundry, "2024-02-01").fine_tuning.jobs.checkpoints.list(job.id)


def test_unknown_data_plane_paths_answer_json_404(foundry: Foundry) -> None:
    c = foundry.conn
    http = httpx.Client(verify=ssl.create_default_context(cafile=c.ca_cert), headers={"api-key": c.api_key})
    for url in (f"{c.endpoint}/nonsense", f"{c.endpoint.removesuffix('/v1')}/nonsense?api-version={DATED}"):
        r = http.get(url)
        assert r.status_code == 404 and r.json() == {"error": {"code": "404", "message": "Resource not found"}}


# -- 2g: models list and usages ---------------------------------------------------------------
def test_models_list_shows_lifecycle_and_retired_models_refuse_training(foundry: Foundry) -> None:
    http = arm_http(foundry)
    foundry.admin.fidelity(arm_page_size=4)
    first = http.get("/models")
    assert_arm_response(first, "/models", "get")
    assert "nextLink" in first.json()
    models = list(foundry.arm.accounts.list_models(foundry.conn.resource_group, foundry.conn.account))
    assert len(models) == 11 and all(m.lifecycle_status == "GenerallyAvailable" for m in models)
    foundry.admin.model_lifecycle("gpt-4o-mini-2024-07-18", lifecycleStatus="Deprecating",
                                  fineTune="2020-01-01T00:00:00Z", inference="2099-01-01T00:00:00Z")
    mini = next(m for m in http.get("/models", params={"$skipToken": "0"}).json()["value"] + http.get(
        "/models", params={"$skipToken": "4"}).json()["value"] if m["name"] == "gpt-4o-mini")
    assert mini["lifecycleStatus"] == "Deprecating" and mini["deprecation"]["fineTune"] == "2020-01-01T00:00:00Z"
    assert_arm(mini, "AccountModel")
    with pytest.raises(openai.BadRequestError) as e:
        foundry.job(foundry.upload(), model="gpt-4o-mini-2024-07-18")
    assert "does not support fine-tuning" in str(e.value)
    assert foundry.job(foundry.upload(), model="gpt-4.1-mini-2025-04-14").status == "pending"


def test_usages_report_the_quotas_the_emulator_enforces(foundry: Foundry) -> None:
    job = trained(foundry)
    foundry.deploy("u", str(job.fine_tuned_model)).result()
    http = arm_http(foundry)
    r = http.get("/usages")
    assert_arm_response(r, "/usages", "get")
    usage = {u["name"]["value"]: u for u in r.json()["value"]}
    assert usage["FineTunedDeployments"]["currentValue"] == 1 and usage["FineTunedDeployments"]["limit"] == 10
    assert usage["FineTuningFiles"]["currentValue"] >= 2 and usage["FineTuningFileBytes"]["unit"] == "Bytes"
    foundry.admin.limits(max_deployments=1)
    sdk = foundry.arm.accounts.list_usages(foundry.conn.resource_group, foundry.conn.account)
    full = next(u for u in sdk.value if u.name.value == "FineTunedDeployments")
    assert full.current_value == full.limit == 1 and full.status == "Blocked"
    refused = put(http, "v", str(job.fine_tuned_model))
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "InsufficientQuota"
    assert "quota limit is 1" in refused.json()["error"]["message"]
    assert_arm_response(refused, "/deployments/{deploymentName}", "put")


def test_queued_jobs_quota_refusal(foundry: Foundry) -> None:
    foundry.admin.limits(max_queued_jobs=0)
    with pytest.raises(openai.RateLimitError) as e:
        foundry.job(foundry.upload())
    assert e.value.status_code == 429 and e.value.code == "quotaExceeded"


# -- 2h: Succeeded, but not ready for inference yet -------------------------------------------
def test_deployment_not_ready_window_after_succeeded(foundry: Foundry) -> None:
    job = trained(foundry)
    foundry.admin.fidelity(not_ready_seconds=1e9)  # 50000 s at this speed
    d = foundry.deploy("fresh", str(job.fine_tuned_model)).result()
    assert d.properties.provisioning_state == "Succeeded"
    with pytest.raises(openai.NotFoundError) as e:
        foundry.oai.chat.completions.create(model="fresh", messages=[{"role": "user", "content": "hi"}])
    assert e.value.code == "DeploymentNotFound" and "within the last 5 minutes" in str(e.value)
    foundry.admin.advance(seconds=1e9 / 20000 + 1)
    answer = foundry.oai.chat.completions.create(model="fresh", messages=[{"role": "user", "content": "hi"}])
    assert answer.choices[0].message.content


# -- 2i: a model change and a capacity change in one PUT --------------------------------------
def test_model_and_capacity_change_in_one_put_is_refused(foundry: Foundry) -> None:
    first, second = trained(foundry), trained(foundry)
    foundry.deploy("m", str(first.fine_tuned_model)).result()
    with pytest.raises(HttpResponseError) as e:
        foundry.deploy("m", str(second.fine_tuned_model), capacity=2).result()
    assert e.value.status_code == 400 and "Cannot change capacity and model at the same time" in str(e.value)
    assert foundry.deploy("m", str(second.fine_tuned_model)).result().properties.model.name == second.fine_tuned_model
    assert foundry.deploy("m", str(second.fine_tuned_model), capacity=2).result().sku.capacity == 2


# -- the reconciler with the emulator in Azure-faithful mode ----------------------------------
def test_reconciler_in_azure_faithful_mode(project: Project) -> None:
    """Paged lists, a not-ready window, -1 hyperparameters while the job waits, the final checkpoint
    named as the fine-tuned model: plan/apply converge, nothing reads -1 as a change, and the
    deployment serves the model Azure would deploy for `checkpoint: best`."""
    with project.live() as live:
        live.admin.fidelity(arm_page_size=1, not_ready_seconds=300)
        for path in (TRAIN, VALID):  # uploaded (and processed) first, under ftops' names: only the job waits
            dataset = "clippy-train" if path == TRAIN else "clippy-valid"
            name = matching.file_name("clippy-demo", dataset, hashlib.sha256(path.read_bytes()).hexdigest())
            live.wait_file(live.oai.files.create(file=(name, path.read_bytes()), purpose="fine-tune").id)
    project.set("speed", 0.01)  # the job stays in validation: its epochs and batch size read -1
    r = project.ftops("apply", "--auto-approve")
    assert r.code == 0, r.out + r.err
    with project.live() as live:
        job = live.oai.fine_tuning.jobs.list().data[0]
        assert job.hyperparameters.n_epochs == 3 and job.hyperparameters.batch_size == -1
    waiting = {a["resource"]: a["action"] for a in project.plan_json()["actions"]}
    assert waiting.get("FineTuningJob/clippy") != "create", waiting
    project.set("speed", FAST)
    with project.live() as live:
        live.admin.advance(days=1)
    r = project.ftops("apply", "--auto-approve", "--wait")
    assert r.code == 0, r.out + r.err
    assert project.ftops("plan", "--detailed-exitcode").code == 0
    with project.live() as live:
        done = live.oai.fine_tuning.jobs.retrieve(job.id)
        cps = sorted(live.oai.fine_tuning.jobs.checkpoints.list(job.id).data, key=lambda c: c.step_number)
        best = min(cps, key=lambda c: (c.metrics.full_valid_loss, -c.step_number))
        want = done.fine_tuned_model if best is cps[-1] else best.id
        dep = live.arm.deployments.get(live.conn.resource_group, live.conn.account, "clippy-prod")
        assert dep.properties.model.name == want
        assert cps[-1].fine_tuned_model_checkpoint == done.fine_tuned_model
