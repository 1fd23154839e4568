"""http_send against hostile targets on loopback: answers that never end, or trickle, or are huge.

A webhook target is any https URL a spec names; apply must not wait on it longer than its deadline, nor read
what it answers beyond the status line (a Notification is fire-and-forget: only the status counts).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from ftops.apply import _notify
from ftops.apply._notify import Request, SendFailed, http_send


@contextmanager
def _server(answer: bytes, drip: float | None, endless: bool) -> Iterator[str]:
    """A loopback HTTP server that answers `answer`, then (endless) sends body bytes forever, each after
    `drip` seconds (or at once)."""
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
                conn.settimeout(0.5)
                try:
                    conn.recv(65536)
                    conn.sendall(answer)
                    while endless and not stop.is_set():
                        if drip:
                            time.sleep(drip)
                        conn.sendall(b"x" * (1 if drip else 65536))
                except OSError:
                    pass

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
    finally:
        stop.set()
        t.join(5)
        sock.close()


def _send_within(url: str, seconds: float) -> BaseException | None:
    """http_send(url) run aside: what it raised (None: it returned); the test fails if it is still running
    after `seconds` (the unbounded wait this file guards against)."""
    raised: list[BaseException | None] = []

    def run() -> None:
        try:
            http_send(Request(url, {"event": "x"}))
            raised.append(None)
        except BaseException as e:  # handed to the test
            raised.append(e)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    assert raised, f"http_send still waiting after {seconds} s"
    return raised[0]


@pytest.fixture(autouse=True)
def _short_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_notify, "SEND_TIMEOUT", 1.0)


def test_a_2xx_whose_body_trickles_forever_is_delivered_without_reading_it() -> None:
    with _server(b"HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n", drip=0.1, endless=True) as url:
        assert _send_within(url, 5) is None


def test_a_2xx_whose_body_never_ends_is_delivered_without_reading_it() -> None:
    with _server(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000\r\n", drip=None,
                 endless=True) as url:
        assert _send_within(url, 5) is None


def test_a_target_that_trickles_its_headers_is_given_up_at_the_deadline() -> None:
    with _server(b"HTTP/1.1 200 OK\r\n", drip=0.1, endless=True) as url:
        e = _send_within(url, 5)
    assert isinstance(e, SendFailed) and e.delivered_maybe
    assert "did not answer in time" in str(e)


def test_an_error_status_with_a_huge_body_fails_at_once() -> None:
    with _server(b"HTTP/1.1 500 Oops\r\nContent-Length: 100000000\r\n\r\n", drip=None, endless=True) as url:
        e = _send_within(url, 5)
    assert isinstance(e, SendFailed) and not e.delivered_maybe
    assert str(e) == "the target answered HTTP 500"


def test_a_secret_url_that_is_malformed_is_not_quoted() -> None:
    e = _send_within("https://hooks.slack.com:T0s3cr3t/services/B0/XyZs3cr3t", 5)
    assert isinstance(e, SendFailed) and "s3cr3t" not in str(e) and "not a valid URL" in str(e)


def test_a_target_at_the_cloud_metadata_address_is_refused_before_any_connection() -> None:
    import pytest

    from ftops.apply._notify import Request, SendFailed, http_send

    with pytest.raises(SendFailed, match="link-local") as e:
        http_send(Request("https://169.254.169.254/metadata?secret=s3cr3t", {"event": "drift"}))
    assert "s3cr3t" not in str(e.value) and not e.value.delivered_maybe
