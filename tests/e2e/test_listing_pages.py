"""Listing over the wire: Azure's bounds on `limit` and `order`, files 10,000 a page, paging stopped early."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openai
import pytest

from ftops.emulator import launch
from ftops.foundry import FoundryClient, connect
from ftops.spec import FoundrySpec
from tests.e2e.conftest import TRAIN, Foundry


def _get(foundry: Foundry, path: str, **params: Any) -> Any:
    return foundry.oai._client.get(f"{foundry.conn.endpoint}{path}", params=params,
                                   headers={"api-key": foundry.conn.api_key})


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 10_001}, {"limit": "many"}, {"order": "sideways"}])
def test_files_listing_outside_azures_bounds_is_a_400(foundry: Foundry, params: dict[str, Any]) -> None:
    r = _get(foundry, "/files", **params)
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == next(iter(params))


def test_files_come_10000_a_page_in_either_order(foundry: Foundry) -> None:
    ids = [foundry.upload() for _ in range(3)]
    newest = _get(foundry, "/files", limit=10_000, purpose="fine-tune").json()
    assert [f["id"] for f in newest["data"]] == ids[::-1] and newest["has_more"] is False
    oldest = _get(foundry, "/files", order="asc", limit=2).json()
    assert [f["id"] for f in oldest["data"]] == ids[:2] and oldest["has_more"] is True
    assert oldest["first_id"] == ids[0] and oldest["last_id"] == ids[1]


def test_jobs_listing_takes_any_positive_limit_and_answers_pages_of_at_most_100(foundry: Foundry) -> None:
    with pytest.raises(openai.BadRequestError):
        foundry.oai.fine_tuning.jobs.list(limit=0)
    fid = foundry.upload()
    foundry.admin.limits(max_queued_jobs=200)
    for _ in range(101):
        foundry.job(fid)
    page = foundry.oai.fine_tuning.jobs.list(limit=1000)  # no maximum documented: served in pages of 100
    assert len(page.data) == 100 and page.has_more


def test_the_dated_surface_has_the_same_bounds(foundry: Foundry) -> None:
    base = foundry.conn.endpoint.removesuffix("/v1")
    r = foundry.oai._client.get(f"{base}/files", params={"api-version": "2025-04-01-preview", "limit": 0},
                                headers={"api-key": foundry.conn.api_key})
    assert r.status_code == 400


def _client(tmp_path: Path) -> FoundryClient:
    return connect(FoundrySpec(local=True, speed=20000), tmp_path, launcher=launch)


def test_a_snapshot_reads_all_files_in_one_call_and_recent_files_stop_at_older_ones(tmp_path: Path) -> None:
    client = _client(tmp_path)
    try:
        for i in range(4):
            client.upload(TRAIN, f"ftops.t.old{i}.x.jsonl")
        assert client.snapshot().api_calls == 3  # files, jobs, deployments: one page each
        old = client.server_time
        assert old is not None
        _advance(tmp_path, 60)
        new = [client.upload(TRAIN, f"ftops.t.new{i}.x.jsonl") for i in range(2)]
        calls = client.api_calls
        recent, when = client.recent_files(int(old) + 30, page=1)
        # Pages of one, newest first: the two new files, then one page that reaches an older file, and stop.
        assert [f.id for f in recent] == [f.id for f in new[::-1]] and client.api_calls - calls == 3
        assert when is not None and when >= old + 60
    finally:
        client.close()


def _advance(data: Path, seconds: float) -> None:
    from ftops.emulator import AdminClient, EmulatorServer

    server = EmulatorServer(data / ".ftops" / "emulator").start()
    try:
        admin = AdminClient(server.connection)
        admin.advance(seconds=seconds)
        admin.close()
    finally:
        server.stop()
