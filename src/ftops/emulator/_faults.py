"""Fault injection: throttling, server errors, dropped connections, hangs, outages and latency.

The configuration lives in the store (so every process serving the data dir agrees) and is set
through the admin API or `ftops emulator --fault-*`. Request n (counted per process) draws from
Random(f"{seed}:{n}"), so a run with the same seed and request order injects the same faults.

Two faults are not drawn: an outage (`outage_until`, a wall-clock time the admin API sets from
`outage_s`) drops every request before processing until it ends, and a `hang` (a drawn kind) holds the
request unanswered for `hang_ms`, or until the client gives up, then drops it unprocessed.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._state import Emulator

KINDS = ("429", "500", "503", "drop", "drop_before", "hang")
HANG_MS = 60_000.0  # how long a hang holds a request unless told otherwise


class FaultMiddleware:
    def __init__(self, app: ASGIApp, emulator: Emulator) -> None:
        self.app = app
        self.emu = emulator
        self._n = 0
        self._lock = threading.Lock()

    def _config(self) -> dict[str, Any]:
        with self.emu.store.tx() as c:
            cfg: dict[str, Any] = self.emu.store.meta(c, "faults", {})
        return cfg

    def _draw(self, cfg: dict[str, Any]) -> str | None:
        with self._lock:
            self._n += 1
            n = self._n
        rate = float(cfg.get("rate", 0))
        kinds = [k for k in cfg.get("kinds", KINDS) if k in KINDS]
        if rate <= 0 or not kinds:
            return None
        rng = random.Random(f"{cfg.get('seed', 0)}:{n}")
        return rng.choice(kinds) if rng.random() < rate else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path.startswith("/openai/") or path.startswith("/subscriptions/")):
            await self.app(scope, receive, send)
            return
        cfg = self._config()
        if not cfg:
            await self.app(scope, receive, send)
            return
        scope_ = cfg.get("scope", "all")
        only = cfg.get("only") or []  # faults hit only requests whose "METHOD /path" contains one of these
        if (scope_ == "data" and not path.startswith("/openai/")) or (
                scope_ == "arm" and not path.startswith("/subscriptions/")) or (
                only and not any(o in f"{scope['method']} {path}" for o in only)):
            await self.app(scope, receive, send)
            return
        if cfg.get("latency_ms"):
            await asyncio.sleep(float(cfg["latency_ms"]) / 1000)
        if float(cfg.get("outage_until", 0)) > time.time():
            await _drop_unprocessed(receive, send, "outage")
            return
        fault = self._draw(cfg)
        if fault == "hang":
            await _drain(receive)
            try:  # a hung endpoint: no answer until the client gives up (it disconnects) or hang_ms pass
                await asyncio.wait_for(_disconnected(receive), float(cfg.get("hang_ms", HANG_MS)) / 1000)
                return
            except TimeoutError:
                await _drop_unprocessed(None, send, "hang")
        if fault in ("429", "500", "503"):
            status = int(fault)
            headers = [(b"content-type", b"application/json")]
            if status == 429:
                headers.append((b"retry-after", str(cfg.get("retry_after", 1)).encode()))
                body = {"error": {"code": "429", "message": "Requests to the API have exceeded the rate limit. "
                                  "Please retry after the time in the Retry-After header."}}
            else:
                body = {"error": {"code": "InternalServerError" if status == 500 else "ServiceUnavailable",
                                  "message": "The server had an error while processing your request (injected)."}}
            await _drain(receive)
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": orjson.dumps(body)})
            return
        if fault == "drop_before":
            await _drop_unprocessed(receive, send, "drop_before")
        if fault == "drop":
            # The request is processed (its effects happen), then the answer is cut off mid-body:
            # the ambiguous failure a client must survive without duplicating what it created.
            async def cut(message: Message) -> None:
                if message["type"] == "http.response.start":
                    headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"content-length"]
                    headers.append((b"content-length", b"1000000"))
                    await send({**message, "headers": headers})
                elif message["type"] == "http.response.body":
                    await send({"type": "http.response.body", "body": message.get("body", b"")[:1],
                                "more_body": True})
                    raise ConnectionAbortedError("injected fault: connection dropped after processing")
            await self.app(scope, receive, cut)
            return
        await self.app(scope, receive, send)


async def _drop_unprocessed(receive: Receive | None, send: Send, why: str) -> None:
    """Never reaches the handler; the answer promises a body and the connection ends instead."""
    if receive is not None:
        await _drain(receive)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"1000000")]})
    await send({"type": "http.response.body", "body": b"{", "more_body": True})
    raise ConnectionAbortedError(f"injected fault ({why}): connection dropped before processing")


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _drain(receive: Receive) -> None:
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False) and message["type"] == "http.request"
