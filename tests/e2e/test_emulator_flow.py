"""The whole fine-tuning workflow against the local Foundry, through the real openai and azure-mgmt clients."""

from __future__ import annotations

import csv
import io
import ssl

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from ftops.emulator._inference import FILLER
from tests.e2e.conftest import VALID, Foundry, assert_schema

RESULT_COLUMNS = ["step", "train_loss", "train_mean_token_accuracy", "valid_loss", "validation_mean_token_accuracy",
                  "full_valid_loss", "full_valid_mean_token_accuracy"]


def test_upload_train_deploy_update_delete(foundry: Foundry) -> None:
    oai = foundry.oai
    raw = oai.files.with_raw_response.create(file=VALID.read_bytes(), purpose="fine-tune")
    assert_schema(raw.http_response.json(), "OpenAIFile")
    assert raw.http_response.json()["status"] == "pending"
    valid_id = raw.parse().id
    train_id = foundry.upload()
    foundry.wait_file(valid_id)
    assert_schema(oai.files.with_raw_response.retrieve(train_id).http_response.json(), "OpenAIFile")
    assert_schema(oai.files.with_raw_response.list().http_response.json(), "ListFilesResponse")

    raw_job = oai.fine_tuning.jobs.with_raw_response.create(
        model="gpt-4.1-mini-2025-04-14", training_file=train_id, validation_file=valid_id, suffix="clippy", seed=105,
        method={"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 3}}},
        metadata={"ftops-spec": "clippy"}, extra_body={"trainingType": "GlobalStandard"})
    body = raw_job.http_response.json()
    assert_schema(body, "FineTuningJob")
    assert body["status"] in ("pending", "validating_files") and body["organization_id"] is None
    job = foundry.wait_job(body["id"])
    assert job.status == "succeeded"
    assert job.fine_tuned_model.startswith("gpt-4.1-mini-2025-04-14.ft-") and len(job.fine_tuned_model.split(".ft-")[1]) == 32
    assert job.trained_tokens and job.trained_tokens > 0
    assert_schema(oai.fine_tuning.jobs.with_raw_response.retrieve(job.id).http_response.json(), "FineTuningJob")
    assert_schema(oai.files.with_raw_response.retrieve(job.result_files[0]).http_response.json(), "OpenAIFile")
    assert_schema(oai.fine_tuning.jobs.with_raw_response.list().http_response.json(), "ListPaginatedFineTuningJobsResponse")

    events_raw = oai.fine_tuning.jobs.with_raw_response.list_events(job.id, limit=100).http_response.json()
    assert_schema(events_raw, "ListFineTuningJobEventsResponse")
    messages = [e["message"] for e in events_raw["data"]]
    assert messages[0] == "Job succeeded." and messages[-1].startswith("Created")

    cps_raw = oai.fine_tuning.jobs.checkpoints.with_raw_response.list(job.id).http_response.json()
    assert_schema(cps_raw, "ListFineTuningJobCheckpointsResponse")
    cps = cps_raw["data"]
    assert len(cps) == 3 and all(c["id"].startswith("ftchkpt-") and len(c["id"]) == 8 + 32 for c in cps)
    assert [c["step_number"] for c in cps] == sorted((c["step_number"] for c in cps), reverse=True)
    assert all("full_valid_loss" in c["metrics"] for c in cps)

    assert job.result_files and len(job.result_files) == 1
    assert oai.files.retrieve(job.result_files[0]).filename == "results.csv"
    rows = list(csv.reader(io.StringIO(oai.files.content(job.result_files[0]).text)))
    assert rows[0] == RESULT_COLUMNS and len(rows) - 1 == cps[0]["step_number"]

    # Deploy the final model and a checkpoint; update capacity in place; delete.
    rg, acct = foundry.conn.resource_group, foundry.conn.account
    final = foundry.deploy("clippy-prod", job.fine_tuned_model, capacity=50, tags={"ftops-project": "demo"}).result()
    assert final.properties.provisioning_state == "Succeeded" and final.sku.capacity == 50
    assert final.tags == {"ftops-project": "demo"} and final.properties.model.name == job.fine_tuned_model
    ckpt = foundry.deploy("clippy-ckpt", cps[1]["id"], sku="DeveloperTier").result()
    assert ckpt.properties.model.name == cps[1]["id"]
    updated = foundry.deploy("clippy-prod", job.fine_tuned_model, capacity=75).result()
    assert updated.sku.capacity == 75 and updated.etag != final.etag
    assert sorted(d.name for d in foundry.arm.deployments.list(rg, acct)) == ["clippy-ckpt", "clippy-prod"]
    reply = oai.chat.completions.create(model="clippy-prod", messages=[{"role": "user", "content": "Who painted the Mona Lisa?"}])
    # The deployment answers from its training data, as well as its checkpoint's loss allows (see _inference).
    trained = ["Oh,", "some", "obscure", "artist", "named", "Leonardo", "da", "Vinci.", "Not", "that", "he", "is", "famous", "or", "anything."]
    words = (reply.choices[0].message.content or "").split()
    assert set(words) & set(trained) and set(words) <= set(trained) | set(FILLER)
    foundry.arm.deployments.begin_delete(rg, acct, "clippy-ckpt").result()
    with pytest.raises(ResourceNotFoundError):
        foundry.arm.deployments.get(rg, acct, "clippy-ckpt")

    # Unknown models and skus are rejected by the control plane.
    with pytest.raises(HttpResponseError) as bad:
        foundry.deploy("nope", "gpt-4.1-mini-2025-04-14.ft-" + "0" * 32).result()
    assert bad.value.status_code == 400 and "DeploymentModelNotSupported" in str(bad.value)


def test_malformed_file_gets_error_status(foundry: Foundry, tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": []}\nnot json\n')
    fid = foundry.oai.files.create(file=("bad.jsonl", bad.read_bytes()), purpose="fine-tune").id
    foundry.wait_file(fid)
    f = foundry.oai.files.retrieve(fid)
    assert f.status == "error" and "Line 2" in (f.status_details or "")
    import openai
    with pytest.raises(openai.BadRequestError) as e:
        foundry.job(fid)
    assert "failed validation" in str(e.value)


def test_uploads_api_assembles_parts(foundry: Foundry, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.e2e.conftest import TRAIN
    data = TRAIN.read_bytes()
    up = foundry.oai.uploads.create(filename="big.jsonl", purpose="fine-tune", bytes=len(data), mime_type="application/jsonl")
    assert_schema(up.model_dump(), "Upload")
    half = len(data) // 2
    raw1 = foundry.oai.uploads.parts.with_raw_response.create(up.id, data=data[:half])
    assert_schema(raw1.http_response.json(), "UploadPart")
    p1 = raw1.parse()
    p2 = foundry.oai.uploads.parts.create(up.id, data=data[half:])
    raw_done = foundry.oai.uploads.with_raw_response.complete(up.id, part_ids=[p1.id, p2.id])
    assert_schema(raw_done.http_response.json(), "Upload")
    done = raw_done.parse()
    assert done.status == "completed" and done.file is not None
    assert foundry.oai.files.content(done.file.id).read() == data
    other = foundry.oai.uploads.create(filename="x.jsonl", purpose="fine-tune", bytes=10, mime_type="application/jsonl")
    cancelled = foundry.oai.uploads.with_raw_response.cancel(other.id).http_response.json()
    assert_schema(cancelled, "Upload")
    assert cancelled["status"] == "cancelled"
    deleted = foundry.oai.files.with_raw_response.delete(done.file.id).http_response.json()
    assert_schema(deleted, "DeleteFileResponse")
    assert deleted["deleted"] is True


def test_continuous_fine_tuning_from_a_fine_tuned_model(foundry: Foundry) -> None:
    import openai
    fid = foundry.upload()
    first = foundry.wait_job(foundry.job(fid, seed=1).id)
    second = foundry.wait_job(foundry.job(fid, model=first.fine_tuned_model, seed=2).id)
    assert second.status == "succeeded" and second.model == first.fine_tuned_model
    assert second.fine_tuned_model.startswith("gpt-4.1-mini-2025-04-14.ft-")
    with pytest.raises(openai.BadRequestError, match="does not support fine-tuning"):
        foundry.job(fid, model="gpt-4.1-mini-2025-04-14.ft-" + "a" * 32)


def test_auth_failures_get_azure_401_bodies(foundry: Foundry) -> None:
    import httpx
    import openai
    bad = openai.OpenAI(base_url=foundry.conn.endpoint, api_key="wrong", max_retries=0,
                        http_client=httpx.Client(verify=ssl.create_default_context(cafile=foundry.conn.ca_cert)))
    with pytest.raises(openai.AuthenticationError) as e:
        bad.files.list()
    assert "Access denied due to invalid subscription key" in str(e.value)
    r = httpx.get(f"{foundry.conn.arm_endpoint}/subscriptions/{foundry.conn.subscription}/resourceGroups/x/providers/"
                  "Microsoft.CognitiveServices/accounts/y/deployments?api-version=2025-09-01", verify=ssl.create_default_context(cafile=foundry.conn.ca_cert))
    assert r.status_code == 401 and r.json()["error"]["code"] == "AuthenticationFailed"
    ok = httpx.get(f"{foundry.conn.endpoint}/files", headers={"api-key": foundry.conn.api_key}, verify=ssl.create_default_context(cafile=foundry.conn.ca_cert))
    assert ok.status_code == 200
