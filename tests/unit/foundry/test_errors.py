from __future__ import annotations

import httpx
import openai
import pytest
from azure.core.exceptions import HttpResponseError, ServiceRequestError

from ftops import PermanentFoundryError, TemporaryFoundryError
from ftops.foundry import RetryPolicy, classify
from ftops.foundry._errors import call

REQ = httpx.Request("POST", "https://x.openai.azure.com/openai/v1/fine_tuning/jobs")


def status_error(status: int, headers: dict[str, str] | None = None) -> openai.APIStatusError:
    resp = httpx.Response(status, headers=headers or {}, json={"error": {"message": "nope"}}, request=REQ)
    return openai.APIStatusError("nope", response=resp, body={"error": {"message": "nope"}})


def test_throttling_is_temporary_with_retry_after() -> None:
    err = classify(status_error(429, {"retry-after": "7"}), "create job")
    assert isinstance(err, TemporaryFoundryError) and err.retryable and err.retry_after == 7.0
    assert str(err) == "create job: HTTP 429: nope"


@pytest.mark.parametrize("status", [500, 503, 409])
def test_server_errors_and_conflicts_are_temporary(status: int) -> None:
    assert classify(status_error(status), "x").retryable


def test_bad_requests_are_permanent_and_auth_errors_do_not_echo_credentials() -> None:
    assert isinstance(classify(status_error(400), "x"), PermanentFoundryError)
    auth = classify(status_error(401), "list files")
    assert "AZURE_OPENAI_API_KEY" in str(auth) and not auth.retryable


def test_connection_errors_are_temporary() -> None:
    assert classify(openai.APIConnectionError(request=REQ), "x").retryable
    assert classify(ServiceRequestError("boom"), "x").retryable


def test_arm_errors() -> None:
    e = HttpResponseError(message="conflict")
    e.status_code = 409
    assert classify(e, "deploy").retryable


def test_call_retries_idempotent_requests_only() -> None:
    attempts: list[int] = []

    def flaky() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise status_error(503)
        return "ok"

    policy = RetryPolicy(attempts=5, base_delay=0.0)
    assert call(flaky, "x", policy) == "ok" and len(attempts) == 3
    attempts.clear()
    with pytest.raises(TemporaryFoundryError):
        call(flaky, "x", policy, idempotent=False)
    assert len(attempts) == 1


def test_call_gives_up_after_the_bounded_attempts() -> None:
    n: list[int] = []

    def always() -> None:
        n.append(1)
        raise status_error(500)

    with pytest.raises(TemporaryFoundryError):
        call(always, "x", RetryPolicy(attempts=3, base_delay=0.0))
    assert len(n) == 3
