"""Restarts, pagination, job control, quotas, conflicts, time, faults and concurrency of the local Foundry."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from ftops.emulator import Connection
from tests.e2e.conftest import TRAIN, Foundry, assert_schema, clients


def test_state_survives_a_restart_and_jobs_progress_while_stopped(emulator_factory: Any, tmp_path: Path) -> None:
    slow = emulator_factory(speed=600, data_dir=tmp_path / "d")
    fid = slow.upload()
    job = slow.job(fid, seed=3)
    slow.server.stop()
    time.sleep(1.5)  # the job (about 0.8 s of emulated work at this speed) finishes while nothing runs
    again = emulator_factory(speed=600, data_dir=tmp_path / "d")
    assert again.conn.api_key == slow.conn.api_key
    assert again.oai.files.retrieve(fid).status == "processed"
    done = again.oai.fine_tuning.jobs.retrieve(job.id)
    assert done.status == "succeeded"
    again.deploy("d1", done.fine_tuned_model).result()
    again.server.stop()
    third = emulator_factory(speed=600, data_dir=tmp_path / "d")
    assert [d.name for d in third.arm.deployments.list(third.conn.resource_group, third.conn.account)] == ["d1"]


def test_pagination_across_pages(foundry: Foundry) -> None:
    foundry.admin.limits(max_queued_jobs=100, max_running_jobs=100)
    fid = foundry.upload()
    ids = [foundry.job(fid, seed=i, metadata={"n": str(i)}).id for i in range(23)]
    page = foundry.oai.fine_tuning.jobs.list(limit=10)
    assert len(page.data) == 10 and page.has_more
    assert_schema(foundry.oai.fine_tuning.jobs.with_raw_response.list(limit=10).http_response.json(),
                  "ListPaginatedFineTuningJobsResponse")
    seen = [j.id for j in foundry.oai.fine_tuning.jobs.list(limit=10)]  # the client follows `after`
    assert seen == list(reversed(ids))
    only = foundry.oai.fine_tuning.jobs.list(metadata={"n": "7"})
    assert [j.id for j in only.data] == [ids[7]]
    last = foundry.oai.fine_tuning.jobs.list(limit=10, after=seen[19])
    assert len(last.data) == 3 and not last.has_more


def test_pause_resume_and_cancel(emulator_factory: Any) -> None:
    f = emulator_factory(speed=200)
    fid = f.upload()
    job = f.wait_job(f.job(fid, seed=1).id, until=("running",))
    paused = f.oai.fine_tuning.jobs.pause(job.id)
    assert paused.status == "paused"
    assert_schema(f.oai.fine_tuning.jobs.with_raw_response.retrieve(job.id).http_response.json(), "FineTuningJob")
    with pytest.raises(openai.BadRequestError):
        f.oai.fine_tuning.jobs.pause(job.id)
    time.sleep(0.3)
    assert f.oai.fine_tuning.jobs.retrieve(job.id).status == "paused"
    assert f.oai.fine_tuning.jobs.resume(job.id).status == "running"
    events = [e.message for e in f.oai.fine_tuning.jobs.list_events(job.id, limit=100).data]
    assert "Job paused." in events and "Job resumed." in events
    cancelled = f.oai.fine_tuning.jobs.cancel(job.id)
    assert cancelled.status == "cancelled" and cancelled.fine_tuned_model is None
    with pytest.raises(openai.BadRequestError):
        f.oai.fine_tuning.jobs.cancel(job.id)


def test_running_and_queued_limits(emulator_factory: Any) -> None:
    f = emulator_factory(speed=100)
    f.admin.limits(max_queued_jobs=4)
    fid = f.upload()
    jobs = [f.job(fid, seed=i).id for i in range(4)]
    with pytest.raises(openai.RateLimitError) as e:
        f.job(fid, seed=99)
    assert "maximum number of queued fine-tuning jobs (4)" in str(e.value)
    time.sleep(0.6)  # validation (0.2 s) and queueing done: three run, the fourth waits for a slot
    statuses = [f.oai.fine_tuning.jobs.retrieve(j).status for j in jobs]
    assert statuses.count("running") == 3 and statuses[3] == "queued"
    dev = f.job(fid, seed=7, training_type="Developer")  # the Developer pool has its own 5 slots
    assert f.wait_job(dev.id, until=("running",)).status == "running"


def test_file_limits(foundry: Foundry, tmp_path: Path) -> None:
    foundry.admin.limits(max_files=1, max_file_bytes=100_000)
    foundry.upload()
    with pytest.raises(openai.BadRequestError, match="maximum number of files"):
        foundry.upload()
    foundry.admin.limits(max_files=10)
    big = tmp_path / "big.jsonl"
    big.write_bytes(TRAIN.read_bytes() * 10)
    with pytest.raises(openai.BadRequestError, match="exceeds the limit"):
        foundry.upload(big)


def test_deployment_conflict_and_limit(emulator_factory: Any) -> None:
    f = emulator_factory(speed=20000)
    fid = f.upload()
    job = f.wait_job(f.job(fid).id)
    f.server.emulator.speed = 10  # deployment operations now take 3 s
    first = f.deploy("a", job.fine_tuned_model)
    with pytest.raises(HttpResponseError) as e:
        f.deploy("b", job.fine_tuned_model)
    assert e.value.status_code == 409 and "Another operation is being performed on the parent resource" in str(e.value)
    f.server.emulator.speed = 20000
    first.result()
    f.admin.limits(max_deployments=1)
    with pytest.raises(HttpResponseError) as q:
        f.deploy("b", job.fine_tuned_model).result()
    assert q.value.status_code == 400 and "InsufficientQuota" in str(q.value)


def test_inactive_and_developer_deployments_are_deleted(foundry: Foundry) -> None:
    fid = foundry.upload()
    job = foundry.wait_job(foundry.job(fid).id)
    rg, acct = foundry.conn.resource_group, foundry.conn.account
    foundry.deploy("used", job.fine_tuned_model).result()
    foundry.deploy("idle", job.fine_tuned_model).result()
    foundry.deploy("dev", job.fine_tuned_model, sku="DeveloperTier").result()
    foundry.admin.advance(days=1.1)
    with pytest.raises(ResourceNotFoundError):
        foundry.arm.deployments.get(rg, acct, "dev")
    foundry.admin.advance(days=9)
    foundry.oai.chat.completions.create(model="used", messages=[{"role": "user", "content": "hi"}])
    foundry.admin.advance(days=6)
    names = sorted(d.name for d in foundry.arm.deployments.list(rg, acct))
    assert names == ["used"]
    log = {e["name"]: e["reason"] for e in foundry.admin.state()["deletion_log"]}
    assert log == {"dev": "developer-tier-expired", "idle": "inactive-15-days"}
    with pytest.raises(openai.NotFoundError):
        foundry.oai.chat.completions.create(model="idle", messages=[{"role": "user", "content": "hi"}])


def test_injected_job_failure(foundry: Foundry) -> None:
    foundry.admin.fail_job(suffix="doomed", message="GPU on fire")
    fid = foundry.upload()
    job = foundry.wait_job(foundry.job(fid, suffix="doomed").id)
    assert job.status == "failed" and job.error.message == "GPU on fire" and job.fine_tuned_model is None
    ok = foundry.wait_job(foundry.job(fid, suffix="fine").id)
    assert ok.status == "succeeded"


@pytest.mark.parametrize("kind,status", [("429", 429), ("500", 500), ("503", 503)])
def test_status_faults(foundry: Foundry, kind: str, status: int) -> None:
    foundry.admin.faults(rate=1.0, kinds=[kind], retry_after=7)
    with pytest.raises(openai.APIStatusError) as e:
        foundry.oai.files.list()
    assert e.value.status_code == status
    if status == 429:
        assert e.value.response.headers["retry-after"] == "7"
    with pytest.raises(HttpResponseError) as a:
        list(foundry.arm.deployments.list(foundry.conn.resource_group, foundry.conn.account))
    assert a.value.status_code == status
    foundry.admin.clear_faults()
    assert foundry.oai.files.list().data == []


@pytest.mark.parametrize("kind", ["drop", "drop_before"])
def test_dropped_connections(foundry: Foundry, kind: str) -> None:
    fid = foundry.upload()
    foundry.admin.faults(rate=1.0, kinds=[kind])
    with pytest.raises(openai.APIConnectionError):
        foundry.job(fid, seed=1)
    foundry.admin.clear_faults()
    created = foundry.oai.fine_tuning.jobs.list().data
    # "drop" processed the request before cutting the answer; "drop_before" never reached the handler.
    assert len(created) == (1 if kind == "drop" else 0)


def test_added_latency(foundry: Foundry) -> None:
    foundry.admin.faults(latency_ms=150)
    t0 = time.perf_counter()
    foundry.oai.files.list()
    assert time.perf_counter() - t0 >= 0.15
    foundry.admin.clear_faults()
    t1 = time.perf_counter()
    foundry.oai.files.list()
    assert time.perf_counter() - t1 < 0.15


def test_faults_repeat_exactly_under_a_seed(emulator_factory: Any, tmp_path: Path) -> None:
    def sequence(path: Path) -> list[int]:
        f = emulator_factory(data_dir=path)
        f.admin.faults(rate=0.4, kinds=["429", "500", "503"], seed=42)
        out = []
        for _ in range(30):
            try:
                f.oai.files.list()
                out.append(200)
            except openai.APIStatusError as e:
                out.append(e.status_code)
        f.server.stop()
        return out

    assert sequence(tmp_path / "a") == sequence(tmp_path / "b")


def test_concurrent_requests_from_two_processes(foundry: Foundry, tmp_path: Path) -> None:
    data_dir = foundry.server.data_dir
    proc = subprocess.Popen([sys.executable, "-m", "ftops", "emulator", "--data-dir", str(data_dir), "--speed", "20000"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        conn = Connection(**{k: v for k, v in __import__("json").loads(line).items()})
        other = clients(conn, foundry.server)
        errors: list[BaseException] = []

        def upload(client: Foundry) -> None:
            try:
                for _ in range(5):
                    with open(TRAIN, "rb") as fh:
                        client.oai.files.create(file=fh, purpose="fine-tune")
            except BaseException as e:
                errors.append(e)

        threads = [threading.Thread(target=upload, args=(c,)) for c in (foundry, other, foundry, other)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        assert len(foundry.oai.files.list().data) == 20 == len(other.oai.files.list().data)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_admin_needs_the_key(foundry: Foundry) -> None:
    r = httpx.get(f"{foundry.conn.arm_endpoint}/_emulator/state",
                  verify=ssl.create_default_context(cafile=foundry.conn.ca_cert))
    assert r.status_code == 401
