"""ftops' Foundry layer against the local Foundry: uploads in parts, adoption, call counting."""

from __future__ import annotations

from pathlib import Path

import pytest

from ftops import PermanentFoundryError
from ftops.emulator import launch
from ftops.foundry import FoundryClient, connect, read_listings, start_reading, take_listings
from ftops.spec import FoundrySpec
from tests.e2e.conftest import TRAIN


def _client(tmp_path: Path) -> FoundryClient:
    return connect(FoundrySpec(local=True, speed=20000), tmp_path, launcher=launch)


def test_large_files_go_up_in_parts_and_arrive_intact(tmp_path: Path) -> None:
    client = _client(tmp_path)
    try:
        client.part_bytes = 4096  # the clippy file (13 kB) then takes four parts
        seen: list[int] = []
        f = client.upload(TRAIN, "ftops.t.train.x.jsonl", progress=seen.append)
        assert len(seen) == 4 and sum(seen) == TRAIN.stat().st_size
        f = client.wait_file(f.id)
        assert f.status == "processed" and f.bytes == TRAIN.stat().st_size
        assert client.oai.files.content(f.id).read() == TRAIN.read_bytes()
    finally:
        client.close()


def test_snapshot_calls_grow_with_pages_not_resources(tmp_path: Path) -> None:
    client = _client(tmp_path)
    try:
        empty = client.snapshot()
        assert empty.api_calls == 3 and not empty.files and not empty.jobs and not empty.deployments
        for i in range(3):
            client.upload(TRAIN, f"ftops.t.d{i}.x.jsonl")
        assert client.snapshot().api_calls == 3
    finally:
        client.close()


def test_an_import_error_never_carries_the_urls_query(tmp_path: Path) -> None:
    client = _client(tmp_path)
    try:
        with pytest.raises(PermanentFoundryError) as e:
            client.import_file("https://acct.blob.core.windows.net/c/x.jsonl?sv=1&sig=SECRETSIG", "x.jsonl")
    finally:
        client.close()
    assert e.value.status == 400 and "SECRETSIG" not in str(e.value) and "x.jsonl?…" in str(e.value)


def test_an_early_read_serves_the_first_take_only(tmp_path: Path) -> None:
    client = _client(tmp_path)
    try:
        start_reading(client)  # as a command does on connecting, while it loads its planner
        early = take_listings(client)
        assert early.api_calls == read_listings(client).api_calls and not early.snapshot.files
        client.upload(TRAIN, "ftops.t.early.x.jsonl")
        assert [f.filename for f in take_listings(client).snapshot.files] == ["ftops.t.early.x.jsonl"]
    finally:
        client.close()


def test_an_early_read_older_than_another_call_is_read_again(tmp_path: Path) -> None:
    # The early read ended before the upload: taken as it is, it would not show what this command just wrote.
    client = _client(tmp_path)
    try:
        start_reading(client)
        assert client.early_read is not None and not client.early_read.result().snapshot.files
        client.upload(TRAIN, "ftops.t.after.x.jsonl")
        assert [f.filename for f in take_listings(client).snapshot.files] == ["ftops.t.after.x.jsonl"]
    finally:
        client.close()
