"""Read a dataset from a URL (`Dataset.spec.url`), bounded, and report it as a file's scan would.

- Redirects are followed by hand, each target checked (`_urls.redirect_problem`) before ftops connects to
  it: a dataset URL cannot lead ftops to the cloud metadata service or another private address.
- Every read has a timeout, and the whole body a budget (BUDGET_SECONDS plus 1 s per MiB), so a server
  that trickles bytes cannot hold a run; the body stops at Foundry's size limit (a Content-Length above
  it is refused before a byte is read).
- The body is checked as it streams (`_stream.scan_stream`): never whole in memory, never on disk.
- A URL ftops cannot GET (the runner lacks access, Foundry's identity has it) is identified by its ETag
  and size from a HEAD, and its records are not checked here; the report says so.

Messages never carry the URL's query (a SAS): `_urls.shown` writes it as `?…`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from .._urls import is_loopback_host, needs_storage_token, redact_text, redirect_problem, shown
from ._options import DatasetReport, LineProblem, ScanOptions
from ._stream import TooLarge, scan_stream

if TYPE_CHECKING:
    from .._http import httpx  # imported where a URL is read: `validate` of files only does not load it

# Headers that let ftops read an Azure Blob URL without a SAS (an Entra ID bearer token for Azure Storage);
# supplied by the layer that may talk to Azure, and asked only for such URLs.
UrlAuth = Callable[[str], dict[str, str]]
CONNECT_SECONDS = 10.0
READ_SECONDS = 60.0  # for each read: a server that stops sending fails the read, not the run
BUDGET_SECONDS = 120.0  # for the whole body, plus 1 s per MiB read
MAX_REDIRECTS = 5
PIECE = 256 * 1024
MAX_ETAG_CHARS = 256
# Tokens are counted in a stream only when it says it is this small (about 1.5 s of CPU): counting costs
# 20x the checking, and a stream cannot be split across processes as a file is.
STREAM_TOKEN_BYTES = 64 * 2**20
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class UrlRefused(Exception):
    """The URL (or a redirect) is refused, or it cannot be read at all; `message` says why in one line."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class RemoteHead:
    """What a HEAD says of a URL: its ETag (None when it gives none) and size."""

    etag: str | None
    size: int | None


def etag_identity(etag: str, size: int) -> str:
    """The sha256 that stands for an unreadable URL's content: of its ETag and size (a new version of the blob
    has a new ETag, so a new identity, as new bytes have)."""
    return hashlib.sha256(f"etag\0{etag}\0{size}".encode()).hexdigest()


def scan_url(url: str, opts: ScanOptions, *, auth: UrlAuth | None = None) -> DatasetReport:
    """Read and check `url` (expanded, with its SAS) as `scan_file` checks a file; its identity is the sha256
    of the content, or of its ETag and size when only a HEAD answers. Every failure is a report's error."""
    try:
        with _client(url) as client:
            return _read(client, url, opts, auth)
    except UrlRefused as e:
        return _unread(0, opts, e.message)


def head_url(url: str, *, auth: UrlAuth | None = None) -> RemoteHead:
    """The URL's ETag and size from a HEAD (redirects checked as for a read). Raises UrlRefused."""
    with _client(url) as client:
        return _head(client, url, auth)


def _read(client: httpx.Client, url: str, opts: ScanOptions, auth: UrlAuth | None) -> DatasetReport:
    from .._http import httpx

    started = time.monotonic()
    try:
        response = _open(client, "GET", url, auth)
    except httpx.HTTPError as e:
        return _by_head(client, url, opts, auth, _reason(e))
    with contextlib.closing(response):
        if response.status_code != 200:
            return _by_head(client, url, opts, auth, f"HTTP {response.status_code}")
        declared = _length(response)
        if declared is not None and declared > opts.max_file_bytes:
            return _unread(declared, opts, _too_large(declared, opts, "not read"))
        cheap = declared is not None and declared <= STREAM_TOKEN_BYTES
        scan_opts = opts if cheap or not opts.count_tokens else dataclasses.replace(opts, count_tokens=False)
        try:
            report = scan_stream(_pieces(response, started), scan_opts)
        except TooLarge as e:
            return _unread(e.size, opts, _too_large(e.size, opts, "read stopped there"))
        except (httpx.HTTPError, UrlRefused) as e:
            why = e.message if isinstance(e, UrlRefused) else _reason(e)
            return _unread(0, opts, f"cannot read {shown(url)}: {why}")
        report.etag = _etag(response)
    if opts.count_tokens and not scan_opts.count_tokens:
        report.problems.append(LineProblem(None, "tokens not counted: a URL's tokens are counted only when it "
                                                 f"declares {STREAM_TOKEN_BYTES // 2**20} MiB or less (no "
                                                 "per-example token limit checked; training cost unknown)",
                                           "warning"))
    return report


def _by_head(client: httpx.Client, url: str, opts: ScanOptions, auth: UrlAuth | None, why: str) -> DatasetReport:
    """The identity of a URL ftops cannot read: its ETag and size, from a HEAD."""
    try:
        head = _head(client, url, auth)
    except UrlRefused as e:
        raise UrlRefused(f"cannot read {shown(url)} ({why}), nor identify it by a HEAD ({e.message})") from None
    if head.etag is None or head.size is None:
        raise UrlRefused(f"cannot read {shown(url)} ({why}), and its HEAD gives no ETag and Content-Length to "
                         "identify it by")
    if head.size > opts.max_file_bytes:
        return _unread(head.size, opts, _too_large(head.size, opts, "not read"))
    note = LineProblem(None, f"not readable here ({why}): its records are not checked; identified by its ETag "
                             "and size, Foundry reads it when it imports it", "warning")
    return DatasetReport(sha256=etag_identity(head.etag, head.size), size=head.size, bom=False,
                         format=opts.expected_format, problems=[note], identity="etag", etag=head.etag)


def _head(client: httpx.Client, url: str, auth: UrlAuth | None) -> RemoteHead:
    from .._http import httpx

    try:
        with contextlib.closing(_open(client, "HEAD", url, auth)) as response:
            if response.status_code != 200:
                raise UrlRefused(f"HEAD answered HTTP {response.status_code}")
            return RemoteHead(_etag(response), _length(response))
    except httpx.HTTPError as e:
        raise UrlRefused(_reason(e)) from None


def _client(url: str) -> httpx.Client:
    from .._http import httpx

    # A proxy from the environment is for the outside world: loopback (tests) is reached directly.
    loopback = is_loopback_host(urlsplit(url).hostname or "")
    return httpx.Client(follow_redirects=False, trust_env=not loopback, headers={"User-Agent": "ftops"},
                        timeout=httpx.Timeout(READ_SECONDS, connect=CONNECT_SECONDS))


def _open(client: httpx.Client, method: str, url: str, auth: UrlAuth | None) -> httpx.Response:
    """The response to `method url` after the redirects, each checked before it is followed (streamed)."""
    origin = urlsplit(url).hostname or ""
    loopback = is_loopback_host(origin)
    target = url
    for _ in range(MAX_REDIRECTS + 1):
        # A token goes only to the blob host the spec names, never where a redirect points.
        own = auth is not None and urlsplit(target).hostname == origin and needs_storage_token(target)
        headers = auth(target) if own and auth is not None else {}
        response = client.send(client.build_request(method, target, headers=headers), stream=True)
        location = response.headers.get("location")
        if response.status_code not in _REDIRECTS or not location:
            return response
        response.close()
        following = urljoin(target, location)
        problem = redirect_problem(following, loopback)
        if problem is not None:
            raise UrlRefused(f"{shown(url)} {problem}")
        target = following
    raise UrlRefused(f"{shown(url)} redirects more than {MAX_REDIRECTS} times")


def _pieces(response: httpx.Response, started: float) -> Iterator[bytes]:
    read = 0
    for piece in response.iter_bytes(PIECE):
        read += len(piece)
        if time.monotonic() - started > BUDGET_SECONDS + read / 2**20:
            raise UrlRefused(f"too slow: {read / 2**20:.0f} MiB in {time.monotonic() - started:.0f} s")
        yield piece


def _length(response: httpx.Response) -> int | None:
    text = response.headers.get("content-length", "")
    return int(text) if text.isdigit() and "content-encoding" not in response.headers else None


def _etag(response: httpx.Response) -> str | None:
    etag = response.headers.get("etag", "").strip()
    return etag if 0 < len(etag) <= MAX_ETAG_CHARS and etag.isprintable() else None


def _reason(e: httpx.HTTPError) -> str:
    from .._http import httpx

    kinds: dict[type[httpx.HTTPError], str] = {
        httpx.ConnectTimeout: "connection timed out", httpx.ConnectError: "connection failed",
        httpx.ReadTimeout: f"no data for {READ_SECONDS:.0f} s"}
    kind = kinds.get(type(e), type(e).__name__)
    detail = redact_text(str(e))[:200]
    return f"{kind} ({detail})" if detail else kind


def _too_large(size: int, opts: ScanOptions, what: str) -> str:
    return (f"file is over {opts.max_file_bytes / 2**20:.0f} MiB ({size / 2**20:.1f} MiB); Foundry accepts at "
            f"most {opts.max_file_bytes / 2**20:.0f} MiB per file ({what})")


def _unread(size: int, opts: ScanOptions, message: str) -> DatasetReport:
    return DatasetReport(sha256="", size=size, bom=False, format=opts.expected_format,
                         problems=[LineProblem(None, message)])
