"""ftops' Foundry layer under network faults: drops, hung endpoints, outages, and a job paused by hand.

The real openai and azure-mgmt clients talk to the local Foundry over HTTPS; the emulator injects the
faults (`POST /_emulator/faults`). Budgets and timeouts are small so a test takes seconds, and no
assertion is on elapsed time: a hung call that gave up on its own is told apart by `timed_out`.
"""

from __future__ import annotations

import threading
from typing import Any

import openai
import pytest

from ftops import TemporaryFoundryError
from ftops._exceptions import FoundryNotFound, FoundryUnreachable
from ftops.foundry import DeploymentWrite, FoundryClient, JobRequest, LiveJob, RetryPolicy, Timeouts
from tests.e2e.conftest import TRAIN, Foundry, Project

MODEL = "gpt-4.1-mini-2025-04-14"
SEEDS = [1, 2, 3]


def _client(f: Foundry, *, budget: float = 30.0, attempts: int = 12, outage_budget: float = 30.0,
            timeouts: Timeouts | None = None) -> FoundryClient:
    c = f.conn
    return FoundryClient(f.oai, f.arm, resource_group=c.resource_group, account=c.account, endpoint=c.endpoint,
                         policy=RetryPolicy(attempts=attempts, base_delay=0.01, max_delay=0.05, budget=budget),
                         poll_interval=0.02, timeouts=timeouts, outage_budget=outage_budget)


def _fine_tuned_model(f: Foundry) -> str:
    job = f.wait_job(f.job(f.upload()).id)
    assert job.status == "succeeded"
    return str(job.fine_tuned_model)


# -- dropped connections -------------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
def test_deployments_converge_through_half_dropped_arm_connections(foundry: Foundry, seed: int) -> None:
    model = _fine_tuned_model(foundry)
    client = _client(foundry)
    foundry.admin.faults(rate=0.5, kinds=["drop", "drop_before"], scope="arm", seed=seed)
    d = client.put_deployment("clippy-prod", DeploymentWrite(model, "GlobalStandard", 2, {"ftops-project": "p"}))
    assert (d.provisioning_state, d.model, d.capacity) == ("Succeeded", model, 2)
    client.delete_deployment("clippy-prod")
    foundry.admin.clear_faults()
    assert not client.list_deployments()
    with pytest.raises(FoundryNotFound) as err:
        client.get_deployment("clippy-prod")
    assert err.value.status == 404 and err.value.code == "DeploymentNotFound"


@pytest.mark.parametrize("seed", SEEDS)
def test_uploads_and_job_creates_through_half_dropped_connections_leave_no_duplicate(
        foundry: Foundry, seed: int) -> None:
    client = _client(foundry)
    foundry.admin.faults(rate=0.5, kinds=["drop", "drop_before", "503"], scope="data", seed=seed)
    f = client.wait_file(client.upload(TRAIN, "ftops.t.train.x.jsonl").id)
    request = JobRequest(base_model=MODEL, training_file=f.id, method="supervised", training_type="GlobalStandard",
                         metadata={"ftops.id": "t"})
    job = client.create_job(request, {"ftops.id": "t"})
    foundry.admin.clear_faults()
    assert f.status == "processed"
    assert [x.id for x in client.list_files()] == [f.id]
    assert [j.id for j in client.list_jobs()] == [job.id]


def test_a_whole_file_upload_cut_before_processing_is_sent_again_and_reported_once(foundry: Foundry) -> None:
    client = _client(foundry)
    # Seed 0 cuts the first three uploads before they are processed; the fourth gets through.
    foundry.admin.faults(rate=0.5, kinds=["drop_before"], only=["POST /openai/v1/files"], seed=0)
    seen: list[int] = []
    f = client.upload(TRAIN, "ftops.t.train.x.jsonl", progress=seen.append)
    foundry.admin.clear_faults()
    assert [x.id for x in client.list_files()] == [f.id]
    assert sum(seen) == TRAIN.stat().st_size  # bytes sent four times, reported once
    assert client.api_calls >= 4 + 3  # four sends, and a listing after each failed one


def test_a_completion_applied_but_whose_answer_was_lost_is_adopted(foundry: Foundry) -> None:
    client = _client(foundry)
    client.part_bytes = 4096  # four parts
    # Every completion is applied, then its answer is cut off.
    foundry.admin.faults(rate=1.0, kinds=["drop"], only=["/complete"])
    f = client.upload(TRAIN, "ftops.t.train.x.jsonl")
    foundry.admin.clear_faults()
    assert [x.id for x in client.list_files()] == [f.id]
    assert client.oai.files.content(client.wait_file(f.id).id).read() == TRAIN.read_bytes()


@pytest.mark.parametrize("seed", SEEDS)
def test_parts_retried_after_drops_still_assemble_the_file(foundry: Foundry, seed: int) -> None:
    client = _client(foundry)
    client.part_bytes = 4096
    foundry.admin.faults(rate=0.5, kinds=["drop", "drop_before"], only=["/uploads"], seed=seed)
    f = client.upload(TRAIN, "ftops.t.train.x.jsonl")
    foundry.admin.clear_faults()
    assert [x.id for x in client.list_files()] == [f.id]
    assert client.oai.files.content(client.wait_file(f.id).id).read() == TRAIN.read_bytes()


def test_delete_of_a_missing_file_is_a_success_by_status_not_text(foundry: Foundry) -> None:
    client = _client(foundry)
    client.delete_file("file-doesnotexist")  # 404: gone already
    with pytest.raises(FoundryNotFound) as err:
        client.get_file("file-doesnotexist")
    assert err.value.status == 404 and isinstance(err.value.__cause__, openai.NotFoundError)


# -- hung endpoints ------------------------------------------------------------------------
@pytest.mark.parametrize("plane", ["data", "arm"])
def test_a_hung_endpoint_fails_within_the_budget(foundry: Foundry, plane: str) -> None:
    client = _client(foundry, budget=1.0)
    foundry.admin.faults(rate=1.0, kinds=["hang"], hang_ms=120_000, scope=plane)
    read = client.list_files if plane == "data" else client.list_deployments
    with pytest.raises(FoundryUnreachable) as err:
        read()
    foundry.admin.clear_faults()
    # The hang ends in a dropped connection after 120 s; a timeout means ftops gave up first, on budget.
    assert err.value.timed_out and err.value.status is None and err.value.__cause__ is not None
    assert "timed out" in str(err.value) and client.api_calls <= 2


# -- outages during a wait -----------------------------------------------------------------
def test_an_outage_during_wait_job_is_ridden_out_and_reported(emulator_factory: Any) -> None:
    foundry: Foundry = emulator_factory(speed=300.0)  # the clippy job trains for a few seconds
    job = foundry.job(foundry.upload())
    client = _client(foundry, outage_budget=60.0)
    foundry.admin.faults(outage_s=1.0)
    said: list[str] = []
    done = client.wait_job(job.id, on_status=said.append)
    assert done.status == "succeeded"
    down = [s for s in said if s.startswith("Foundry unreachable for ")]
    assert down and all(s.endswith(f"(connection failed); still waiting for job {job.id}") for s in down)
    assert any(s.startswith("Foundry answers again after ") for s in said)


def test_an_outage_longer_than_the_budget_ends_the_wait(foundry: Foundry) -> None:
    job = foundry.job(foundry.upload())
    client = _client(foundry, outage_budget=0.5)
    foundry.admin.faults(outage_s=600)
    with pytest.raises(TemporaryFoundryError) as err:
        client.wait_job(job.id)
    foundry.admin.clear_faults()
    assert "gave up waiting" in str(err.value) and isinstance(err.value.__cause__, FoundryUnreachable)


def test_wait_file_rides_out_an_outage(foundry: Foundry) -> None:
    client = _client(foundry)
    with open(TRAIN, "rb") as fh:
        fid = foundry.oai.files.create(file=fh, purpose="fine-tune").id
    foundry.admin.faults(outage_s=0.5)
    said: list[str] = []
    assert client.wait_file(fid, on_status=said.append).status == "processed"
    assert any(s.startswith("Foundry unreachable for ") for s in said)


# -- a job paused or waited on ----------------------------------------------------------------
def test_a_job_paused_by_hand_during_wait_job_returns_paused(emulator_factory: Any) -> None:
    foundry: Foundry = emulator_factory(speed=20.0)  # trains for about a minute: time to pause it
    job = foundry.job(foundry.upload())
    client = _client(foundry)

    def pause_once_running(line: str) -> None:
        if line.endswith(": running") and not paused:
            paused.append(foundry.oai.fine_tuning.jobs.pause(job.id).status)
    paused: list[str] = []
    done = client.wait_job(job.id, on_status=pause_once_running)
    assert paused == ["paused"] and done.status == "paused" and done.active
    client.cancel_job(job.id)


def test_wait_job_returns_when_stopped_or_told_to(emulator_factory: Any) -> None:
    foundry: Foundry = emulator_factory(speed=20.0)
    job = foundry.job(foundry.upload())
    client = _client(foundry)
    stop = threading.Event()
    stop.set()
    assert client.wait_job(job.id, stop=stop).active  # stopped: the last job read, still training
    seen: list[str] = []

    def second_poll(j: LiveJob) -> bool:
        seen.append(j.status)
        return len(seen) >= 2
    assert client.wait_job(job.id, until=second_poll).active and len(seen) == 2
    client.cancel_job(job.id)


# -- budgets a user sets -------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["FTOPS_RETRY_BUDGET", "FTOPS_OUTAGE_BUDGET"])
def test_a_bad_budget_in_the_environment_is_one_line_and_exit_1(
        project: Project, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv(name, "soon")
    r = project.ftops("plan")
    assert r.code == 1 and r.err.strip() == f"error: {name}: expected a number of seconds above 0, got soon"
    assert not (project.root / ".ftops" / "emulator").exists()  # refused before the local Foundry started
