"""Turn SDK exceptions into ftops' permanent/temporary errors, and retry the temporary ones.

Retrying (tenacity): 429 honours Retry-After; 5xx, 409 RequestConflict and connection errors back off
with full jitter; all bounded. Creates are never retried blindly: the caller passes `idempotent=False` and
handles an ambiguous failure by listing first (see FoundryClient.create_job).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import openai
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from .._exceptions import FoundryError, PermanentFoundryError, TemporaryFoundryError

T = TypeVar("T")
log = logging.getLogger("ftops.foundry")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 20.0

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


def classify(exc: BaseException, what: str) -> FoundryError:
    """One readable line; says whether retrying can help. Never includes credentials."""
    if isinstance(exc, FoundryError):
        return exc
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        body = exc.body if isinstance(exc.body, dict) else {}
        err = body.get("error", body) if isinstance(body, dict) else {}
        msg = err.get("message") if isinstance(err, dict) else None
        text = f"{what}: HTTP {status}: {msg or exc.message}"
        if status in (408, 409, 429) or status >= 500:
            return TemporaryFoundryError(text, retry_after=_retry_after(exc.response.headers))
        if status in (401, 403):
            return PermanentFoundryError(f"{what}: HTTP {status}: access denied; check AZURE_OPENAI_API_KEY or "
                                         "your Entra ID role on the resource")
        return PermanentFoundryError(text)
    if isinstance(exc, openai.APIConnectionError | ServiceRequestError | ServiceResponseError):
        return TemporaryFoundryError(f"{what}: connection failed ({type(exc).__name__})")
    if isinstance(exc, ClientAuthenticationError):
        return PermanentFoundryError(f"{what}: authentication failed; check your Azure credentials "
                                     "(az login, or AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET)")
    if isinstance(exc, HttpResponseError):
        status = exc.status_code or 0
        code = getattr(exc.error, "code", None) if exc.error is not None else None
        message = getattr(exc.error, "message", None) if exc.error is not None else None
        text = f"{what}: HTTP {status}: {code + ': ' if code else ''}{message or exc.reason or 'error'}"
        headers = getattr(exc.response, "headers", None)
        if status in (408, 409, 429) or status >= 500:
            return TemporaryFoundryError(text, retry_after=_retry_after(headers))
        return PermanentFoundryError(text)
    if isinstance(exc, OSError):
        return TemporaryFoundryError(f"{what}: {type(exc).__name__}: {exc}")
    return PermanentFoundryError(f"{what}: unexpected {type(exc).__name__}")


def call(fn: Callable[[], T], what: str, policy: RetryPolicy, *, idempotent: bool = True,
         on_call: Callable[[], None] | None = None) -> T:
    """Run fn; retry temporary failures (with tenacity) when `idempotent`. Raises FoundryError."""

    def attempt() -> T:
        if on_call is not None:
            on_call()
        try:
            return fn()
        except Exception as e:
            raise classify(e, what) from None

    def wait(state: RetryCallState) -> float:
        err = state.outcome.exception() if state.outcome is not None else None
        retry_after = err.retry_after if isinstance(err, FoundryError) else None
        delay = policy.delay(state.attempt_number - 1, retry_after)
        log.info("retrying %s in %.2fs after: %s", what, delay, err)
        return delay

    retrying = Retrying(
        retry=retry_if_exception(lambda e: idempotent and isinstance(e, FoundryError) and e.retryable),
        stop=stop_after_attempt(policy.attempts),
        wait=wait,
        reraise=True,
    )
    return retrying(attempt)
