"""Datasets from a URL: read as a stream and checked as a file is, bounded, identified by content or by ETag."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ftops.datasets import ScanOptions, UrlRefused, _remote, etag_identity, head_url, scan_file, scan_url
from tests.conftest import chat_jsonl
from tests.urlserver import Route, serve

DATA = chat_jsonl(60).encode()
SECRET = "sv=1&sig=SECRETSIGNATURE"


def _errors(report: object) -> list[str]:
    return [p.message for p in report.problems if p.severity == "error"]  # type: ignore[attr-defined]


def test_a_url_reads_as_the_same_file_would(tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    path.write_bytes(DATA)
    opts = ScanOptions(count_tokens=True)
    with serve({"/train.jsonl": Route(DATA)}) as server:
        report = scan_url(server.url("/train.jsonl"), opts)
    local = scan_file(path, opts)
    assert report.sha256 == hashlib.sha256(DATA).hexdigest() == local.sha256
    assert (report.examples, report.trained_tokens, report.tokens_counted) == (60, local.trained_tokens, True)
    assert report.identity == "sha256" and report.etag == '"0x8DC0FFEE"' and report.ok


def test_bad_records_are_reported_at_their_lines() -> None:
    data = DATA + b"{not json\n\n" + DATA
    with serve({"/t.jsonl": Route(data)}) as server:
        report = scan_url(server.url("/t.jsonl"), ScanOptions())
    assert [(p.line, p.message[:12]) for p in report.problems] == [(61, "invalid JSON"), (62, "blank line (")]


def test_an_unreadable_url_is_identified_by_its_etag_and_size() -> None:
    with serve({"/t.jsonl": Route(DATA, refuse_agent="ftops")}) as server:
        report = scan_url(server.url("/t.jsonl", SECRET), ScanOptions())
    assert report.identity == "etag" and report.etag == '"0x8DC0FFEE"' and report.size == len(DATA)
    assert report.sha256 == etag_identity('"0x8DC0FFEE"', len(DATA)) and report.ok
    assert [p.severity for p in report.problems] == ["warning"] and "HTTP 404" in report.problems[0].message


def test_unreadable_and_no_head_is_one_error_without_the_query() -> None:
    with serve({"/t.jsonl": Route(DATA, status=404)}) as server:
        report = scan_url(server.url("/t.jsonl", SECRET), ScanOptions())
    (error,) = _errors(report)
    assert "cannot read" in error and "HTTP 404" in error and "?…" in error and "SECRET" not in error
    assert report.sha256 == ""


def test_a_head_without_etag_cannot_identify() -> None:
    with serve({"/t.jsonl": Route(DATA, refuse_agent="ftops", etag=None)}) as server:
        (error,) = _errors(scan_url(server.url("/t.jsonl"), ScanOptions()))
    assert "no ETag" in error


@pytest.mark.parametrize("target", ["http://10.0.0.1:9/x.jsonl", "http://169.254.169.254/latest/meta-data",
                                    "https://10.0.0.1/x", "file:///etc/passwd"])
def test_a_redirect_to_a_private_address_is_refused_before_connecting(target: str) -> None:
    with serve({"/t.jsonl": Route(status=302, location=target)}) as server:
        started = time.monotonic()
        (error,) = _errors(scan_url(server.url("/t.jsonl"), ScanOptions()))
    assert "redirected to" in error and "refused" in error
    assert time.monotonic() - started < 5  # a connection attempt to 10.0.0.1 would hang until its timeout


def test_redirects_within_loopback_are_followed_and_bounded() -> None:
    routes = {"/a": Route(status=302, location="/b"), "/b": Route(status=307, location="/t.jsonl"),
              "/t.jsonl": Route(DATA), "/loop": Route(status=302, location="/loop")}
    with serve(routes) as server:
        assert scan_url(server.url("/a"), ScanOptions()).sha256 == hashlib.sha256(DATA).hexdigest()
        (error,) = _errors(scan_url(server.url("/loop"), ScanOptions()))
    assert "redirects more than 5 times" in error


def test_a_declared_size_over_the_cap_is_refused_unread() -> None:
    with serve({"/t.jsonl": Route(DATA)}) as server:
        (error,) = _errors(scan_url(server.url("/t.jsonl"), ScanOptions(max_file_bytes=1000)))
        assert len(server.requests("/t.jsonl")) == 1
    assert "Foundry accepts at most" in error and "not read" in error


def test_an_undeclared_stream_stops_at_the_cap() -> None:
    def endless() -> Iterator[bytes]:
        while True:
            yield DATA

    with serve({"/t.jsonl": Route(endless, length=None)}) as server:
        report = scan_url(server.url("/t.jsonl"), ScanOptions(max_file_bytes=1 << 20))
    (error,) = _errors(report)
    assert "read stopped there" in error and report.sha256 == ""


def test_an_over_long_line_is_reported_not_held() -> None:
    line = b'{"messages": "' + b"x" * (3 << 20) + b'"}\n'
    with serve({"/t.jsonl": Route(DATA + line + DATA)}) as server:
        report = scan_url(server.url("/t.jsonl"), ScanOptions(vision=False))
    assert [(p.line, "longer than" in p.message) for p in report.problems] == [(61, True)]


def test_a_stalled_server_ends_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_remote, "READ_SECONDS", 0.3)

    def stalled() -> Iterator[bytes]:
        yield DATA[:100]
        time.sleep(3)
        yield DATA[100:]

    with serve({"/t.jsonl": Route(stalled, length=len(DATA))}) as server:
        started = time.monotonic()
        (error,) = _errors(scan_url(server.url("/t.jsonl", SECRET), ScanOptions()))
    assert "cannot read" in error and "SECRET" not in error and time.monotonic() - started < 3


def test_a_refused_connection_is_one_line() -> None:
    with serve() as server:
        url = server.url("/t.jsonl")
    (error,) = _errors(scan_url(url, ScanOptions()))
    assert "cannot read" in error and "connection failed" in error


def test_tokens_are_counted_only_in_small_declared_streams(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_remote, "STREAM_TOKEN_BYTES", len(DATA) - 1)
    with serve({"/t.jsonl": Route(DATA)}) as server:
        report = scan_url(server.url("/t.jsonl"), ScanOptions(count_tokens=True))
    assert not report.tokens_counted and report.ok
    assert any("tokens not counted" in p.message for p in report.problems)


def test_head_url_gives_etag_and_size() -> None:
    with serve({"/t.jsonl": Route(DATA), "/gone": Route(status=404)}) as server:
        head = head_url(server.url("/t.jsonl"))
        with pytest.raises(UrlRefused):
            head_url(server.url("/gone"))
    assert (head.etag, head.size) == ('"0x8DC0FFEE"', len(DATA))


def test_a_storage_token_goes_to_the_blob_host_only() -> None:
    asked: list[str] = []

    def auth(url: str) -> dict[str, str]:
        asked.append(url)
        return {"Authorization": "Bearer t"}

    with serve({"/t.jsonl": Route(DATA)}) as server:
        scan_url(server.url("/t.jsonl"), ScanOptions(), auth=auth)
    assert asked == []  # not an Azure Blob host
