"""download_file against a hostile data plane on loopback (the real openai client): a file's content that
never ends, or is longer than the listing said, is cut off with one line, and leaves nothing on disk.

The local Foundry serves every file's content honestly; this server does not, on purpose.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import openai
import pytest

from ftops import PermanentFoundryError
from ftops.foundry import FoundryClient, RetryPolicy, _downloads, download_file


@contextmanager
def _endless_content() -> Iterator[str]:
    """Answers any request 200 with a chunked body that never ends (64 KiB chunks, as fast as read)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    stop = threading.Event()

    def serve() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    conn.recv(65536)
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                                 b"Transfer-Encoding: chunked\r\n\r\n")
                    while not stop.is_set():
                        conn.sendall(b"10000\r\n" + b"x" * 65536 + b"\r\n")
                except OSError:
                    pass

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/openai/v1"
    finally:
        stop.set()
        t.join(5)
        sock.close()


def _client(base_url: str) -> FoundryClient:
    oai = openai.OpenAI(base_url=base_url, api_key="k", max_retries=0)
    return FoundryClient(oai, cast(Any, None), resource_group="g", account="a", endpoint=base_url,
                         policy=RetryPolicy(attempts=1, base_delay=0.01, max_delay=0.01, budget=30))


def _download_within(client: FoundryClient, dest: Path, size: int) -> BaseException | None:
    raised: list[BaseException | None] = []

    def run() -> None:
        try:
            download_file(client, "file-abc", dest, size)
            raised.append(None)
        except BaseException as e:  # handed to the test
            raised.append(e)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(20)
    assert raised, "download_file still reading after 20 s"
    return raised[0]


def test_content_longer_than_the_listing_says_is_cut_off(tmp_path: Path) -> None:
    dest = tmp_path / "data" / "x.jsonl"
    dest.parent.mkdir()
    with _endless_content() as url:
        e = _download_within(_client(url), dest, size=100_000)
    assert isinstance(e, PermanentFoundryError)
    assert str(e) == "download file file-abc: Foundry sent more than the 100000 bytes its listing gives"
    assert list(dest.parent.iterdir()) == []  # no file, no part file


def test_content_of_a_file_listed_without_a_size_is_cut_off_at_azures_limit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_downloads, "MAX_CONTENT_BYTES", 1_000_000)
    with _endless_content() as url:
        e = _download_within(_client(url), tmp_path / "x.jsonl", size=0)
    assert isinstance(e, PermanentFoundryError)
    assert "more than the 1000000 bytes a fine-tuning file may have" in str(e)
    assert list(tmp_path.iterdir()) == []
