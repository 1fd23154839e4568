"""A loopback HTTP server in a thread that serves dataset bytes as a blob store would (tests only)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass
class Route:
    """What one path answers. `body` is bytes, or a function giving the body's pieces (generated lazily:
    never on disk, never whole in memory); `length` None sends no Content-Length (the body ends with the
    connection)."""

    body: bytes | Callable[[], Iterable[bytes]] = b""
    length: int | None = None
    etag: str | None = '"0x8DC0FFEE"'
    status: int = 200
    head_status: int | None = None  # default: `status`
    location: str | None = None  # a redirect (with a 3xx status)
    refuse_agent: str | None = None  # a User-Agent answered 404 on GET (HEAD still answers): a reader without access
    require_query: str | None = None  # answered 403 unless the query holds this text (a SAS)
    delay: float = 0.0  # seconds before each piece of the body
    other_body: tuple[str, bytes] | None = None  # (User-Agent, body): what that reader gets instead
    etag_after_get: str | None = None  # the ETag once a GET was answered (the blob rewritten right after)


@dataclass
class Seen:
    method: str
    path: str
    query: str
    agent: str


@dataclass
class DataServer:
    routes: dict[str, Route] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    port: int = 0

    def url(self, path: str, query: str = "") -> str:
        return f"http://127.0.0.1:{self.port}{path}" + (f"?{query}" if query else "")

    def requests(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]


def _handler(server: DataServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            self._answer(head=False)

        def do_HEAD(self) -> None:
            self._answer(head=True)

        def _answer(self, head: bool) -> None:
            parts = urlsplit(self.path)
            agent = self.headers.get("User-Agent", "")
            server.seen.append(Seen(self.command, parts.path, parts.query, agent))
            route = server.routes.get(parts.path)
            status = _status(route, head, parts.query, agent)
            if route is None or status != 200:
                self._empty(status, route)
                return
            body = route.body if isinstance(route.body, bytes) else None
            if route.other_body is not None and agent == route.other_body[0]:
                body = route.other_body[1]
            length = len(body) if body is not None and route.length is None else route.length
            self.send_response(200)
            if length is not None:
                self.send_header("Content-Length", str(length))
            else:
                self.send_header("Connection", "close")
            if route.etag:
                self.send_header("ETag", route.etag)
            self.end_headers()
            if not head:
                self._body(route, body)
                route.etag = route.etag_after_get or route.etag

        def _empty(self, status: int, route: Route | None) -> None:
            self.send_response(status)
            if route is not None and route.location:
                self.send_header("Location", route.location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _body(self, route: Route, body: bytes | None) -> None:
            pieces: Iterable[bytes] = [body] if body is not None else route.body()  # type: ignore[operator]
            with contextlib.suppress(OSError):  # the client may stop reading (a size cap, a refusal)
                for piece in pieces:
                    if route.delay:
                        time.sleep(route.delay)
                    self.wfile.write(piece)
                self.wfile.flush()
            if route.length is None:
                self.close_connection = True

    return Handler


def _status(route: Route | None, head: bool, query: str, agent: str) -> int:
    if route is None:
        return 404
    if route.require_query is not None and route.require_query not in query:
        return 403
    if not head and route.refuse_agent is not None and agent == route.refuse_agent:
        return 404
    return route.head_status if head and route.head_status is not None else route.status


@contextlib.contextmanager
def serve(routes: dict[str, Route] | None = None) -> Iterator[DataServer]:
    data = DataServer(dict(routes or {}))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(data))
    httpd.daemon_threads = True
    data.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True, name="test-data-server")
    thread.start()
    try:
        yield data
    finally:
        httpd.shutdown()
        httpd.server_close()
