"""Build a FoundryClient from a Foundry spec: Azure (API key or Entra ID), or the embedded local Foundry."""

from __future__ import annotations

import functools
import os
import ssl
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import openai
from azure.core.credentials import AccessToken
from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient

from .._exceptions import FtopsError
from ..spec import FoundrySpec
from ._client import FoundryClient
from ._errors import RetryPolicy, classify
from ._timeouts import LOCAL, REMOTE, Budgets, Timeouts, budgets_from_env

T = TypeVar("T")
COGNITIVE_SCOPE = "https://cognitiveservices.azure.com/.default"
API_KEY_ENV = "AZURE_OPENAI_API_KEY"


class StaticTokenCredential:
    """A TokenCredential that always returns one token (the local Foundry's key)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self._token, int(time.time()) + 3600)

    def __repr__(self) -> str:  # never show the token
        return "StaticTokenCredential(***)"


def _clients(endpoint: str, arm_endpoint: str, subscription: str, api_key: str | Any, credential: Any,
             ca_cert: str | None, timeouts: Timeouts) -> tuple[openai.OpenAI, CognitiveServicesManagementClient]:
    # The SDKs' own retries are off: ftops retries itself and never retries a create blindly. Every
    # call passes its own timeouts; these defaults only cover a request that does not.
    verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca_cert) if ca_cert else True
    timeout = openai.Timeout(timeouts.read, connect=timeouts.connect)
    oai = openai.OpenAI(base_url=endpoint, api_key=api_key, max_retries=0, timeout=timeout,
                        http_client=openai.DefaultHttpxClient(verify=verify, timeout=timeout))
    kwargs: dict[str, Any] = {"base_url": arm_endpoint, "retry_total": 0, "connection_timeout": timeouts.connect,
                              "read_timeout": timeouts.read}
    if ca_cert:
        kwargs["connection_verify"] = ca_cert
    arm = CognitiveServicesManagementClient(credential, subscription, **kwargs)
    return oai, arm


def data_plane_endpoint(endpoint: str) -> str:
    e = endpoint.rstrip("/")
    return e if e.endswith("/openai/v1") else f"{e}/openai/v1"


class LocalConnection(Protocol):
    """What a local Foundry tells its clients (the emulator's `connection.json`)."""

    @property
    def endpoint(self) -> str: ...
    @property
    def arm_endpoint(self) -> str: ...
    @property
    def subscription(self) -> str: ...
    @property
    def resource_group(self) -> str: ...
    @property
    def account(self) -> str: ...
    @property
    def api_key(self) -> str: ...
    @property
    def ca_cert(self) -> str: ...


class LocalFoundry(Protocol):
    @property
    def connection(self) -> LocalConnection: ...
    def stop(self) -> None: ...


class Launcher(Protocol):
    """Starts a local Foundry (the CLI hands in the emulator's; this layer never imports it)."""

    def __call__(self, data_dir: Path, *, speed: float, subscription: str | None, resource_group: str | None,
                 account: str | None, region: str) -> LocalFoundry: ...


def connect(spec: FoundrySpec, root: Path, *, timeouts: Timeouts | None = None, launcher: Launcher | None = None
            ) -> FoundryClient:
    """A client for the account `spec` names. For `local: true`, starts the local Foundry with `launcher`.

    The retry and outage budgets come from FTOPS_RETRY_BUDGET and FTOPS_OUTAGE_BUDGET (seconds); a bad
    value is a UsageError, raised before anything is started.
    """
    timeouts = timeouts or Timeouts()
    budgets = budgets_from_env(LOCAL if spec.local else REMOTE)
    if spec.local:
        return _connect_local(spec, root, timeouts, budgets, launcher)
    assert spec.subscription
    try:
        from azure.identity import DefaultAzureCredential, get_bearer_token_provider
    except ImportError as e:  # pragma: no cover
        raise FtopsError(f"azure-identity is required for a remote Foundry: {e}") from None
    ca = ca_bundle()
    credential = DefaultAzureCredential(**_transport(ca, timeouts))
    key = os.environ.get(API_KEY_ENV)
    api_key: Any = key if key else get_bearer_token_provider(credential, COGNITIVE_SCOPE)
    arm = _arm_client(spec.arm_endpoint, spec.subscription, credential, ca, timeouts)
    account = resolve_account(arm, spec)
    spec = spec.model_copy(update={"endpoint": account.endpoint, "resource_group": account.resource_group,
                                   "account": account.name})
    assert spec.endpoint and spec.subscription and spec.resource_group and spec.account
    oai, arm = _clients(data_plane_endpoint(spec.endpoint), spec.arm_endpoint, spec.subscription, api_key,
                        credential, ca, timeouts)
    client = FoundryClient(oai, arm, resource_group=spec.resource_group, account=spec.account,
                           endpoint=data_plane_endpoint(spec.endpoint), policy=RetryPolicy(budget=budgets.retry),
                           poll_interval=spec.poll_interval or 5.0, timeouts=timeouts, outage_budget=budgets.outage)
    # Which identity is used, never what it is: the variables' names, not their values.
    entra = f"Entra ID ({_credential_source()})"
    client.identity = (f"data plane: API key from {API_KEY_ENV}; deployments: {entra}" if key
                       else f"{entra} for the data plane and deployments")
    client.entra_planes = frozenset({"arm"} if key else {"data", "arm"})
    return client


def ca_bundle() -> str | None:
    """The CA bundle the standard variables name: REQUESTS_CA_BUNDLE (requests' own), else SSL_CERT_FILE
    (OpenSSL's). Each SDK honours only one of them by itself; ftops hands it to all three clients (openai,
    ARM, and the credential's token requests), so either variable trusts a private CA everywhere."""
    for name in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        value = os.environ.get(name)
        if value:
            return value
    return None


def _transport(ca: str | None, timeouts: Timeouts) -> dict[str, Any]:
    """azure-core transport settings for the credential: the CA bundle, and timeouts that bound a token
    request (a token endpoint that does not answer fails in seconds, not after azure-core's 300 s default).
    Proxies stay as the environment sets them (HTTPS_PROXY, NO_PROXY)."""
    kwargs: dict[str, Any] = {"connection_timeout": timeouts.connect, "read_timeout": timeouts.read}
    if ca:
        kwargs["connection_verify"] = ca
    return kwargs


def _credential_source() -> str:
    """Which of DefaultAzureCredential's sources the environment selects, by variable names."""
    env = os.environ
    if env.get("AZURE_CLIENT_SECRET") or env.get("AZURE_CLIENT_CERTIFICATE_PATH"):
        return "service principal from AZURE_CLIENT_ID"
    if env.get("AZURE_FEDERATED_TOKEN_FILE"):
        return "workload identity from AZURE_FEDERATED_TOKEN_FILE"
    if env.get("IDENTITY_ENDPOINT") or env.get("MSI_ENDPOINT"):
        return "managed identity from " + ("IDENTITY_ENDPOINT" if env.get("IDENTITY_ENDPOINT") else "MSI_ENDPOINT")
    return "DefaultAzureCredential"


def _connect_local(spec: FoundrySpec, root: Path, timeouts: Timeouts, budgets: Budgets,
                   launcher: Launcher | None) -> FoundryClient:
    if launcher is None:
        raise FtopsError("this spec says local: true, but no local Foundry can be started here (the caller gave "
                         "no launcher)")
    try:
        server = launcher(root / spec.data_dir, speed=spec.speed, subscription=spec.subscription,
                          resource_group=spec.resource_group, account=spec.account, region=spec.region)
    except Exception as e:  # the launcher is the emulator's code: a damaged state dir can fail in many ways
        raise FtopsError(f"cannot start the local Foundry in {root / spec.data_dir}: {type(e).__name__}: {e}; "
                         "move the directory aside to start afresh") from e
    c = server.connection
    oai, arm = _clients(c.endpoint, c.arm_endpoint, c.subscription, c.api_key, StaticTokenCredential(c.api_key),
                        c.ca_cert, timeouts)
    client = FoundryClient(oai, arm, resource_group=c.resource_group, account=c.account, endpoint=c.endpoint,
                           policy=RetryPolicy(attempts=8, base_delay=0.05, max_delay=1.0, budget=budgets.retry),
                           poll_interval=spec.poll_interval or 0.02, timeouts=timeouts,
                           outage_budget=budgets.outage, on_close=server.stop)
    client.identity = "the local Foundry's key"
    return client


@dataclass(frozen=True)
class Account:
    endpoint: str
    resource_group: str
    name: str


def _arm_client(arm_endpoint: str, subscription: str, credential: Any, ca_cert: str | None,
                timeouts: Timeouts) -> CognitiveServicesManagementClient:
    kwargs: dict[str, Any] = {"base_url": arm_endpoint, "retry_total": 0,
                              "connection_timeout": timeouts.connect, "read_timeout": timeouts.read}
    if ca_cert:
        kwargs["connection_verify"] = ca_cert
    return CognitiveServicesManagementClient(credential, subscription, **kwargs)


def resolve_account(arm: CognitiveServicesManagementClient, spec: FoundrySpec) -> Account:
    """The account's endpoint, resource group and name, from whichever of them the spec gives.

    By ARM id (or subscription, resourceGroup, account) without an endpoint: read the account's endpoint
    (Accounts_Get). By endpoint and subscription: find the account whose endpoint it is (Accounts_List).
    """
    group, name = spec.resource_group, spec.account
    if group and name:
        if spec.endpoint:
            return Account(spec.endpoint, group, name)
        found = _arm_read(functools.partial(arm.accounts.get, group, name), f"read account {name}")
        return Account(_endpoint_of(found, name), group, name)
    assert spec.endpoint
    host = urllib.parse.urlsplit(spec.endpoint).netloc.lower()
    accounts = _arm_read(lambda: list(arm.accounts.list()), "list the subscription's accounts")
    for a in accounts:
        endpoint = _endpoint_of(a, str(a.name))
        if urllib.parse.urlsplit(endpoint).netloc.lower() == host:
            group = str(a.id).split("/resourceGroups/", 1)[1].split("/", 1)[0]  # an ARM id's documented form
            return Account(spec.endpoint, group, str(a.name))
    raise FtopsError(f"no Cognitive Services account in subscription {spec.subscription} has the endpoint "
                     f"{host}; check spec.endpoint, or name the account with resourceId")


def _endpoint_of(account: Any, name: str) -> str:
    props = getattr(account, "properties", None)
    endpoints = getattr(props, "endpoints", None) or {}
    endpoint = endpoints.get("OpenAI Language Model Instance API") or getattr(props, "endpoint", None)
    if not endpoint:
        raise FtopsError(f"account {name} reports no endpoint; set spec.endpoint")
    return str(endpoint)


def _arm_read(fn: Callable[[], T], what: str) -> T:
    try:
        return fn()
    except Exception as e:
        raise classify(e, what) from e
