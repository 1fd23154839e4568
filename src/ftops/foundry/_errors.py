"""Turn SDK exceptions into ftops' permanent/temporary errors, and retry the temporary ones.

Classification looks at exception types and HTTP status only, never at message text. Every failure
where no HTTP answer came back (a refused, dropped or timed-out connection, a TLS EOF, a body cut short,
on either plane and through whichever transport the SDK uses) is a `FoundryUnreachable`, which is
temporary. 408, 409, 429 and 5xx are temporary; 404 is `FoundryNotFound`; other statuses are permanent.

Retrying (tenacity): 429 honours Retry-After; the rest back off with full jitter; bounded by a number
of attempts and by a budget in seconds (`RetryPolicy.budget`), and each attempt's timeout is capped by
what is left of the budget. A `stop` event (set on Ctrl-C) ends a back-off at once: the call gives up with
its last error instead of trying again. Creates are never retried blindly: the caller passes `idempotent=False` and
handles an ambiguous failure by listing first (see FoundryClient.create_job).
"""

from __future__ import annotations

import logging
import random
import socket
import ssl
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
import openai
import requests
import urllib3
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    DecodeError,
    HttpResponseError,
    IncompleteReadError,
    ServiceRequestError,
    ServiceRequestTimeoutError,
    ServiceResponseError,
    ServiceResponseTimeoutError,
)
from azure.core.polling.base_polling import BadResponse
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, stop_before_delay

from .._exceptions import (
    FoundryError,
    FoundryNotFound,
    FoundryUnreachable,
    PermanentFoundryError,
    TemporaryFoundryError,
)
from ._permissions import PROJECT_AUDIENCE, lacks, need_of, project_route
from ._signin import signin_source

try:  # the transport of openai >= 3; older ones use httpx
    import httpx2
    _HTTPX2: tuple[type[BaseException], ...] = (httpx2.TransportError,)
    _HTTPX2_TIMEOUT: tuple[type[BaseException], ...] = (httpx2.TimeoutException,)
except ImportError:  # pragma: no cover
    _HTTPX2 = _HTTPX2_TIMEOUT = ()

T = TypeVar("T")
log = logging.getLogger("ftops.foundry")

# No HTTP answer came back. The SDKs wrap their transport's errors (openai: httpx2, or httpx before openai 3;
# azure-core: requests/urllib3), but a body read after the SDK returned (a stream, an LRO poll) can raise them bare.
_NO_ANSWER: tuple[type[BaseException], ...] = (
    openai.APIConnectionError, ServiceRequestError, ServiceResponseError, IncompleteReadError,
    requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError,
    requests.exceptions.Timeout, urllib3.exceptions.HTTPError, ConnectionError, TimeoutError, ssl.SSLError,
    socket.gaierror, EOFError, anyio.EndOfStream, anyio.BrokenResourceError, *_HTTPX2,
)
_TIMED_OUT: tuple[type[BaseException], ...] = (
    openai.APITimeoutError, ServiceRequestTimeoutError, ServiceResponseTimeoutError,
    requests.exceptions.Timeout, urllib3.exceptions.TimeoutError, TimeoutError, *_HTTPX2_TIMEOUT,
)


def _httpx(name: str) -> tuple[type[BaseException], ...]:
    """httpx's exception class `name` if httpx is loaded (openai before 3 sent through it): an exception of it
    can only exist once something imported it, and importing it only to compare would cost every command
    about 30 ms (httpx loads click and pygments for its command line)."""
    httpx = sys.modules.get("httpx")
    found = getattr(httpx, name, None) if httpx is not None else None
    return (found,) if isinstance(found, type) and issubclass(found, BaseException) else ()


def _no_answer() -> tuple[type[BaseException], ...]:
    return (*_NO_ANSWER, *_httpx("TransportError"))


def _timed_out() -> tuple[type[BaseException], ...]:
    return (*_TIMED_OUT, *_httpx("TimeoutException"))
_TEMPORARY_STATUS = frozenset({408, 409, 429})


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 8
    base_delay: float = 0.5
    max_delay: float = 20.0
    budget: float = 300.0  # seconds one call may take over all its attempts

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(self.max_delay, retry_after)
        # full jitter: a random wait up to the exponential bound
        return random.uniform(0, min(self.max_delay, self.base_delay * 2 ** attempt))


def _retry_after(headers: object) -> float | None:
    try:
        value = headers.get("retry-after") if headers is not None else None  # type: ignore[attr-defined]
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """exc and what caused it: `__cause__`, `__context__`, and azure-core's `inner_exception`."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        e = todo.pop(0)
        if id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        inner = getattr(e, "inner_exception", None) if isinstance(e, AzureError) else None
        todo.extend(x for x in (e.__cause__, e.__context__, inner) if isinstance(x, BaseException))


def _is_temporary_status(status: int) -> bool:
    return status in _TEMPORARY_STATUS or status >= 500


def _status_error(what: str, status: int, code: str | None, message: str, retry_after: float | None,
                  ) -> FoundryError:
    text = f"{what}: HTTP {status}: {code + ': ' if code and code != str(status) else ''}{message}"
    if _is_temporary_status(status):
        return TemporaryFoundryError(text, status=status, code=code, retry_after=retry_after)
    if status == 404:
        return FoundryNotFound(text, status=status, code=code)
    return PermanentFoundryError(text, status=status, code=code)


def _unreachable(exc: BaseException, what: str) -> FoundryError:
    chain = list(_chain(exc))
    if any(isinstance(e, ssl.SSLCertVerificationError) for e in chain):
        return PermanentFoundryError(f"{what}: the endpoint's TLS certificate is not trusted")
    # urllib3's NewConnectionError (a refused connection) subclasses its ConnectTimeoutError.
    timed_out = any(isinstance(e, _timed_out()) and not isinstance(e, urllib3.exceptions.NewConnectionError)
                    for e in chain)
    reason = "timed out" if timed_out else "connection failed"
    host = _host(chain)
    where = f" to {host}; check spec.endpoint if this persists" if host else ""
    return FoundryUnreachable(f"{what}: {reason}{where} ({type(exc).__name__})", timed_out=timed_out)


def _host(chain: list[BaseException]) -> str | None:
    """The host a failed request went to, when the SDK kept the request (openai does)."""
    for e in chain:
        try:
            request = getattr(e, "request", None)
        except RuntimeError:  # httpx raises when no request was attached
            continue
        url = getattr(request, "url", None)
        host = getattr(url, "host", None)
        if isinstance(host, str) and host:
            return host
    return None


def _openai_status(exc: openai.APIStatusError, what: str) -> FoundryError:
    status = exc.status_code
    code = exc.code if isinstance(exc.code, str) else None
    # Azure OpenAI answers a missing role with 401 PermissionDenied (docs/emulator.md cites it), not 403.
    if status == 403 or code == "PermissionDenied":
        return _refused_action(what, status, code or "PermissionDenied", exc.request.method, exc.request.url.path)
    body = exc.body if isinstance(exc.body, dict) else {}
    if status == 401:
        return PermanentFoundryError(f"{what}: HTTP 401: {_data_401(body, exc.request.url.path)}", status=status,
                                     code=code)
    err = body.get("error", body)
    msg = err.get("message") if isinstance(err, dict) else None
    return _status_error(what, status, code, str(msg or exc.message), _retry_after(exc.response.headers))


def _data_401(body: dict[str, Any], path: str) -> str:
    # Azure OpenAI answers a refused Entra ID token {"statusCode": 401, "message": ...}, a refused key
    # {"error": {"code": "401", ...}} (docs/emulator.md cites both): the shape says which one failed. The
    # audience is the one ftops asked for on that path: a Foundry project's data plane takes its own.
    if "statusCode" in body and "error" not in body:
        audience = PROJECT_AUDIENCE if project_route(path) else "https://cognitiveservices.azure.com"
        return ("the Entra ID token was refused (a wrong audience, expired, or not for this tenant); check what "
                f"your credential returns for {audience}")
    return ("the key or token was refused; check AZURE_OPENAI_API_KEY (or your Entra ID sign-in) and that "
            "spec.endpoint is this resource's endpoint")


def _refused_action(what: str, status: int, code: str, method: str, path: str) -> PermanentFoundryError:
    """One line naming the action the identity lacks (from the request, never from Azure's text) and the
    roles that grant it."""
    need = need_of(method, path)
    text = (f"{what}: {lacks(need.action)}" if need is not None else
            f"{what}: HTTP {status}: {code}: the identity may not do this; ask for a role on the account")
    return PermanentFoundryError(text, status=status, code=code)


# ARM's 401 codes that say what was wrong with the token, and what to do about it.
_ARM_401 = {
    "InvalidAuthenticationTokenAudience": "the token was issued for another audience; ftops asks for "
                                          "https://management.azure.com: check what your credential returns",
    "ExpiredAuthenticationToken": "the token had expired; check this machine's clock",
}


def _azure_status(exc: HttpResponseError, what: str) -> FoundryError:
    status = exc.status_code or 0
    code = getattr(exc.error, "code", None) if exc.error is not None else None
    code = code if isinstance(code, str) else None
    message = getattr(exc.error, "message", None) if exc.error is not None else None
    if status == 401:
        hint = _ARM_401.get(code or "", "Azure refused the sign-in; run `az login` (in CI: azure/login with OIDC) "
                            "and check spec.subscription")
        return PermanentFoundryError(f"{what}: HTTP 401: {code + ': ' if code else ''}{hint}", status=status,
                                     code=code)
    if status == 403:
        request = getattr(exc.response, "request", None)
        return _refused_action(what, status, code or "AuthorizationFailed", str(getattr(request, "method", "")),
                               urllib.parse.urlsplit(str(getattr(request, "url", ""))).path)
    if isinstance(exc, DecodeError) or any(isinstance(e, BadResponse) for e in _chain(exc)):
        # An answer came but could not be read (a body cut short, an unreadable poll): try again.
        return TemporaryFoundryError(f"{what}: HTTP {status}: unreadable answer", status=status, code=code)
    return _status_error(what, status, code, str(message or exc.reason or "error"),
                         _retry_after(getattr(exc.response, "headers", None)))


def classify(exc: BaseException, what: str) -> FoundryError:
    """One readable line with a status, a code and whether retrying can help. Never includes credentials.

    The caller raises the result `from exc`, so the SDK's exception stays reachable as `__cause__`.
    """
    if isinstance(exc, FoundryError):
        return exc
    if isinstance(exc, openai.APIStatusError):
        return _openai_status(exc, what)
    if isinstance(exc, ClientAuthenticationError) and exc.response is None:  # no token: Azure was not asked
        return PermanentFoundryError(f"{what}: Entra ID sign-in failed: DefaultAzureCredential got no token from "
                                     f"{signin_source().where}")
    if isinstance(exc, _no_answer()) or (isinstance(exc, HttpResponseError) and not exc.status_code):
        return _unreachable(exc, what)
    if isinstance(exc, HttpResponseError):
        return _azure_status(exc, what)
    return PermanentFoundryError(f"{what}: unexpected {type(exc).__name__}")


def call(fn: Callable[[float], T], what: str, policy: RetryPolicy, *, timeout: float, idempotent: bool = True,
         on_call: Callable[[], None] | None = None, stop: threading.Event | None = None) -> T:
    """Run fn(seconds); retry temporary failures (with tenacity) when `idempotent`. Raises FoundryError.

    fn receives the timeout its requests must use: `timeout`, capped by what is left of the budget. Once
    `stop` is set, no new attempt starts: a back-off in progress ends at once and the last error is raised.
    """
    start = time.monotonic()
    failed: list[BaseException] = []  # the latest failure, which a back-off that `stop` ends raises

    def attempt() -> T:
        if on_call is not None:
            on_call()
        left = policy.budget - (time.monotonic() - start)
        try:
            return fn(max(min(timeout, left), 0.1))
        except FoundryError:
            raise
        except Exception as e:
            raise classify(e, what) from e

    def wait(state: RetryCallState) -> float:
        err = state.outcome.exception() if state.outcome is not None else None
        retry_after = err.retry_after if isinstance(err, FoundryError) else None
        delay = policy.delay(state.attempt_number - 1, retry_after)
        log.info("retrying %s in %.2fs after: %s", what, delay, err)
        failed[:] = [err] if err is not None else []
        return delay

    def back_off(seconds: float) -> None:
        if stop is None:
            time.sleep(seconds)
        elif stop.wait(seconds) and failed:
            raise failed[0]

    retrying = Retrying(
        retry=retry_if_exception(lambda e: idempotent and isinstance(e, FoundryError) and e.retryable),
        stop=stop_after_attempt(policy.attempts) | stop_before_delay(policy.budget),
        wait=wait,
        sleep=back_off,
        reraise=True,
    )
    return retrying(attempt)
