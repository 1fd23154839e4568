"""Classification of real SDK exceptions, and the bounded retry loop."""

from __future__ import annotations

import json
import ssl
import threading
import time

import httpx
import httpx2
import openai
import pytest
import requests
import urllib3
from azure.core.exceptions import (
    ClientAuthenticationError,
    DecodeError,
    HttpResponseError,
    IncompleteReadError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceRequestTimeoutError,
    ServiceResponseError,
    ServiceResponseTimeoutError,
)
from azure.core.pipeline.transport import HttpRequest, RequestsTransportResponse
from azure.core.polling.base_polling import BadResponse

from ftops import PermanentFoundryError, TemporaryFoundryError
from ftops._exceptions import FoundryNotFound, FoundryUnreachable
from ftops.foundry import RetryPolicy, classify
from ftops.foundry._errors import call

REQ = httpx2.Request("POST", "https://x.openai.azure.com/openai/v1/fine_tuning/jobs")
ARM_URL = "https://management.azure.com/subscriptions/s/resourceGroups/g/providers/Microsoft.CognitiveServices/" \
          "accounts/a/deployments/d"


def status_error(status: int, headers: dict[str, str] | None = None, code: str | None = None,
                 ) -> openai.APIStatusError:
    body = {"error": {"message": "nope", "code": code}}
    resp = httpx2.Response(status, headers=headers or {}, json=body, request=REQ)
    cls = openai.NotFoundError if status == 404 else openai.APIStatusError
    return cls("nope", response=resp, body=body["error"])


def arm_response(status: int, code: str | None = None, headers: dict[str, str] | None = None,
                 ) -> RequestsTransportResponse:
    """A real azure-core transport response over a requests.Response, as ARM would send it."""
    r = requests.Response()
    r.status_code = status
    r.reason = "reason"
    r.headers.update(headers or {})
    r._content = json.dumps({"error": {"code": code, "message": "it failed"}}).encode() if code else b""
    return RequestsTransportResponse(HttpRequest("PUT", ARM_URL), r)


# -- HTTP answers --------------------------------------------------------------------------
def test_throttling_is_temporary_with_retry_after() -> None:
    err = classify(status_error(429, {"retry-after": "7"}), "create job")
    assert isinstance(err, TemporaryFoundryError) and err.retryable and err.retry_after == 7.0
    assert str(err) == "create job: HTTP 429: nope" and err.status == 429


@pytest.mark.parametrize("status", [500, 503, 409, 408])
def test_server_errors_and_conflicts_are_temporary(status: int) -> None:
    err = classify(status_error(status), "x")
    assert err.retryable and err.status == status and not isinstance(err, FoundryUnreachable)


def test_bad_requests_are_permanent_and_auth_errors_do_not_echo_credentials() -> None:
    bad = classify(status_error(400, code="invalidState"), "x")
    assert isinstance(bad, PermanentFoundryError) and (bad.status, bad.code) == (400, "invalidState")
    auth = classify(status_error(401), "list files")
    assert "AZURE_OPENAI_API_KEY" in str(auth) and not auth.retryable and auth.status == 401


def test_a_missing_object_is_found_by_status_on_both_planes() -> None:
    data = classify(status_error(404, code="fileNotFound"), "read file f")
    assert isinstance(data, FoundryNotFound) and (data.status, data.code) == (404, "fileNotFound")
    arm = classify(ResourceNotFoundError(response=arm_response(404, "DeploymentNotFound")), "read deployment d")
    assert isinstance(arm, FoundryNotFound) and (arm.status, arm.code) == (404, "DeploymentNotFound")
    assert str(arm) == "read deployment d: HTTP 404: DeploymentNotFound: it failed"


def test_arm_status_errors_carry_status_code_and_retry_after() -> None:
    err = classify(HttpResponseError(response=arm_response(409, "RequestConflict", {"Retry-After": "3"})), "deploy")
    assert isinstance(err, TemporaryFoundryError) and (err.status, err.code, err.retry_after) == (
        409, "RequestConflict", 3.0)
    quota = classify(HttpResponseError(response=arm_response(400, "QuotaExceeded")), "deploy")
    assert isinstance(quota, PermanentFoundryError) and quota.code == "QuotaExceeded"
    assert classify(ClientAuthenticationError("no token"), "deploy").retryable is False


# -- no answer at all --------------------------------------------------------------------------
def _incomplete_read() -> IncompleteReadError:
    cause = requests.exceptions.ChunkedEncodingError(urllib3.exceptions.ProtocolError("IncompleteRead"))
    return IncompleteReadError(cause, error=cause)


NO_ANSWER: list[tuple[str, BaseException, bool]] = [
    ("openai connection", openai.APIConnectionError(request=REQ), False),
    ("openai timeout", openai.APITimeoutError(request=REQ), True),
    ("azure request", ServiceRequestError("refused"), False),
    ("azure request timeout", ServiceRequestTimeoutError("slow"), True),
    ("azure response", ServiceResponseError("reset"), False),
    ("azure response timeout", ServiceResponseTimeoutError("slow"), True),
    ("azure body cut short", _incomplete_read(), False),
    ("azure no status", HttpResponseError("HTTP 0"), False),
    ("httpx connect", httpx.ConnectError("refused"), False),
    ("httpx read timeout", httpx.ReadTimeout("slow"), True),
    ("httpx2 remote closed", httpx2.RemoteProtocolError("closed"), False),
    ("requests connection", requests.exceptions.ConnectionError("reset"), False),
    ("requests read timeout", requests.exceptions.ReadTimeout("slow"), True),
    ("urllib3 protocol", urllib3.exceptions.ProtocolError("aborted"), False),
    ("urllib3 refused", urllib3.exceptions.NewConnectionError(None, "refused"), False),  # type: ignore[arg-type]
    ("ssl EOF", ssl.SSLEOFError(8, "EOF occurred in violation of protocol"), False),
    ("reset by peer", ConnectionResetError(104, "reset"), False),
    ("socket timeout", TimeoutError("timed out"), True),
]


@pytest.mark.parametrize(("exc", "timed_out"), [(e, t) for _, e, t in NO_ANSWER], ids=[n for n, _, _ in NO_ANSWER])
def test_every_network_level_failure_is_temporary(exc: BaseException, timed_out: bool) -> None:
    err = classify(exc, "deploy clippy-prod")
    assert isinstance(err, FoundryUnreachable) and err.retryable and err.status is None
    assert err.timed_out is timed_out
    assert str(err).startswith(f"deploy clippy-prod: {'timed out' if timed_out else 'connection failed'}")
    assert str(err).endswith(f"({type(exc).__name__})")


def test_a_wrapped_timeout_is_seen_through_the_chain() -> None:
    try:
        try:
            raise requests.exceptions.ReadTimeout("slow")
        except requests.exceptions.ReadTimeout as inner:
            raise ServiceResponseError("poll failed", error=inner) from inner
    except ServiceResponseError as outer:
        err = classify(outer, "deploy")
    assert isinstance(err, FoundryUnreachable) and err.timed_out


def test_an_unreadable_answer_or_poll_is_temporary() -> None:
    assert classify(DecodeError("bad json", response=arm_response(200)), "deploy").retryable
    try:
        try:
            raise BadResponse("the poll answer could not be read")
        except BadResponse as e:
            raise HttpResponseError(response=arm_response(200), error=e) from e
    except HttpResponseError as polled:
        assert classify(polled, "deploy").retryable


def test_an_untrusted_certificate_is_permanent() -> None:
    try:
        try:
            raise ssl.SSLCertVerificationError(1, "certificate verify failed")
        except ssl.SSLCertVerificationError as e:
            raise openai.APIConnectionError(request=REQ) from e
    except openai.APIConnectionError as wrapped:
        err = classify(wrapped, "list files")
    assert isinstance(err, PermanentFoundryError) and "certificate" in str(err)


def test_a_local_file_error_is_not_a_network_fault() -> None:
    assert not classify(FileNotFoundError(2, "no such file"), "upload x").retryable


# -- retrying ----------------------------------------------------------------------------------
def test_call_retries_idempotent_requests_only_and_keeps_the_cause() -> None:
    attempts: list[int] = []

    def flaky(timeout: float) -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise status_error(503)
        return "ok"

    policy = RetryPolicy(attempts=5, base_delay=0.0)
    assert call(flaky, "x", policy, timeout=1.0) == "ok" and len(attempts) == 3
    attempts.clear()
    with pytest.raises(TemporaryFoundryError) as err:
        call(flaky, "x", policy, timeout=1.0, idempotent=False)
    assert len(attempts) == 1 and isinstance(err.value.__cause__, openai.APIStatusError)


def test_call_gives_up_after_the_bounded_attempts() -> None:
    n: list[int] = []

    def always(timeout: float) -> None:
        n.append(1)
        raise status_error(500)

    with pytest.raises(TemporaryFoundryError):
        call(always, "x", RetryPolicy(attempts=3, base_delay=0.0), timeout=1.0)
    assert len(n) == 3


def test_call_stops_before_a_wait_that_would_overrun_the_budget() -> None:
    n: list[int] = []

    def throttled(timeout: float) -> None:
        n.append(1)
        raise status_error(429, {"retry-after": "10"})

    with pytest.raises(TemporaryFoundryError):
        call(throttled, "x", RetryPolicy(attempts=50, max_delay=60, budget=5.0), timeout=1.0)
    assert len(n) == 1


def test_a_stop_event_ends_a_back_off_at_once_with_the_last_error() -> None:
    n: list[float] = []
    stop = threading.Event()

    def throttled(timeout: float) -> None:
        n.append(time.monotonic())
        threading.Timer(0.02, stop.set).start()  # Ctrl-C, while the call backs off for 30 s
        raise status_error(429, {"retry-after": "30"})

    t0 = time.monotonic()
    with pytest.raises(TemporaryFoundryError) as err:
        call(throttled, "x", RetryPolicy(attempts=5, max_delay=60, budget=300), timeout=1.0, stop=stop)
    assert time.monotonic() - t0 < 1 and len(n) == 1 and err.value.status == 429  # no attempt after the stop
    with pytest.raises(TemporaryFoundryError):  # once stopped, a failure is not retried at all
        call(throttled, "x", RetryPolicy(attempts=5, base_delay=0.0), timeout=1.0, stop=stop)
    assert len(n) == 2


def test_a_create_that_failed_ambiguously_stops_retrying_on_the_stop_event() -> None:
    from types import SimpleNamespace
    from typing import Any, cast

    from ftops.foundry import FoundryClient

    stop = threading.Event()
    cancels: list[str] = []

    def cancel(job_id: str, **kw: Any) -> Any:
        cancels.append(job_id)
        threading.Timer(0.02, stop.set).start()
        raise status_error(503, {"retry-after": "30"})

    def retrieve(job_id: str, **kw: Any) -> Any:  # the attempt did not cancel it
        return {"id": job_id, "status": "running", "created_at": 1}
    jobs = SimpleNamespace(cancel=cancel, retrieve=retrieve, pause=None, resume=None)
    oai = SimpleNamespace(fine_tuning=SimpleNamespace(jobs=jobs))
    client = FoundryClient(cast(Any, oai), cast(Any, None), resource_group="g", account="a", endpoint="e",
                           policy=RetryPolicy(attempts=5, max_delay=60, budget=300))
    t0 = time.monotonic()
    with client.stopping_on(stop), pytest.raises(TemporaryFoundryError):
        client.cancel_job("ftjob-1")
    assert time.monotonic() - t0 < 1 and cancels == ["ftjob-1"]


def test_waiting_for_an_eval_run_ends_on_the_stop_event() -> None:
    from types import SimpleNamespace
    from typing import Any, cast

    from ftops.foundry import EvalsClient, FoundryClient

    stop = threading.Event()

    def retrieve(run_id: str, **kw: Any) -> Any:
        threading.Timer(0.02, stop.set).start()
        return {"id": run_id, "eval_id": "eval-1", "status": "in_progress"}
    oai = SimpleNamespace(evals=SimpleNamespace(runs=SimpleNamespace(retrieve=retrieve)))
    client = FoundryClient(cast(Any, oai), cast(Any, None), resource_group="g", account="a", endpoint="e",
                           poll_interval=30)
    t0 = time.monotonic()
    with client.stopping_on(stop):
        run = EvalsClient(client).wait_run("eval-1", "run-1")
    assert time.monotonic() - t0 < 1 and run.status == "in_progress"  # the caller sees it is not done


def test_each_attempt_gets_its_timeout_capped_by_the_budget_left() -> None:
    given: list[float] = []
    call(lambda t: given.append(t), "x", RetryPolicy(budget=5.0), timeout=30.0)
    call(lambda t: given.append(t), "x", RetryPolicy(budget=300.0), timeout=30.0)
    assert 4.0 < given[0] <= 5.0 and given[1] == 30.0


def test_a_refused_connection_names_the_host_to_check() -> None:
    import httpx
    import openai

    request = httpx.Request("GET", "https://acme.openai.azure.com/openai/v1/files")
    err = classify(openai.APIConnectionError(request=request), "list files")
    assert "to acme.openai.azure.com; check spec.endpoint" in str(err)


def test_access_errors_name_the_fix() -> None:
    import httpx
    import openai

    request = httpx.Request("GET", "https://acme.openai.azure.com/openai/v1/files")
    for status, fix in ((401, "AZURE_OPENAI_API_KEY"), (403, "Cognitive Services OpenAI Contributor")):
        response = httpx.Response(status, request=request, json={"error": {"code": str(status), "message": "no"}})
        exc = openai.APIStatusError("no", response=response, body={"error": {"message": "no"}})
        err = classify(exc, "list files")
        assert fix in str(err) and not err.retryable and err.status == status


@pytest.mark.parametrize("url,audience", [
    ("https://acme.openai.azure.com/openai/v1/files", "https://cognitiveservices.azure.com"),
    ("https://acme.services.ai.azure.com/api/projects/lab/openai/v1/files", "https://ai.azure.com"),
])
def test_a_refused_token_names_the_audience_of_the_route(url: str, audience: str) -> None:
    """A Foundry project's data plane takes tokens for https://ai.azure.com, the resource's for Cognitive Services."""
    import httpx
    import openai

    body = {"statusCode": 401, "message": "Unauthorized."}
    response = httpx.Response(401, request=httpx.Request("GET", url), json=body)
    err = classify(openai.APIStatusError("no", response=response, body=body), "list files")
    assert str(err).endswith(f"check what your credential returns for {audience}") and err.status == 401
