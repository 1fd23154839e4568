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

from .._exceptions import FoundryNotFound, FtopsError
from ..spec import FoundrySpec
from ._client import FoundryClient
from ._errors import RetryPolicy, classify
from ._signin import signin_source
from ._timeouts import LOCAL, REMOTE, Budgets, Timeouts, budgets_from_env

T = TypeVar("T")
COGNITIVE_SCOPE = "https://cognitiveservices.azure.com/.default"
# A Foundry project's data plane takes tokens for this audience: azure-ai-projects' `get_openai_client`
# (2.10.0, azure/ai/projects/_patch.py) asks for it, with base_url = the project endpoint + /openai/v1.
PROJECT_SCOPE = "https://ai.azure.com/.default"
API_KEY_ENV = "AZURE_OPENAI_API_KEY"
# Hosts whose first label is the account's: the portal's project endpoint, and the resource's own.
ACCOUNT_HOSTS = (".services.ai.azure.com", ".cognitiveservices.azure.com", ".openai.azure.com")


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


def public_url(url: str) -> str:
    """`url` as ftops shows it to people (plan header, plan file, messages): without the parts where a
    credential can travel (`user:password@`, a query such as `?sig=` or `?api-key=`, a fragment), each
    replaced by `***` so that one reads that something was there."""
    try:
        parts = urllib.parse.urlsplit(url)
        host, port = parts.hostname or "", parts.port
    except ValueError:  # a port that is not a number, brackets that do not close ...
        return "(an endpoint that is not a valid URL)"
    host = f"[{host}]" if ":" in host else host
    netloc = ("***@" if "@" in parts.netloc else "") + host + (f":{port}" if port is not None else "")
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "***" if parts.query else "",
                                    "***" if parts.fragment else ""))


def _hostname(url: str) -> str:
    """The host of `url`, lower-case, without a user name or password (those must never be printed)."""
    try:
        return (urllib.parse.urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


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
    @property
    def project_endpoint(self) -> str: ...  # the project asked for at start ("" for none)


class LocalFoundry(Protocol):
    @property
    def connection(self) -> LocalConnection: ...
    def stop(self) -> None: ...


class Launcher(Protocol):
    """Starts a local Foundry (the CLI hands in the emulator's; this layer never imports it)."""

    def __call__(self, data_dir: Path, *, speed: float, subscription: str | None, resource_group: str | None,
                 account: str | None, region: str, project: str | None = None) -> LocalFoundry: ...


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
    return _connect_remote(spec, timeouts, budgets)


def _connect_remote(spec: FoundrySpec, timeouts: Timeouts, budgets: Budgets) -> FoundryClient:
    """A resource endpoint: its /openai/v1 with the key or Entra ID. A Foundry project endpoint: the project's
    /openai/v1 with Entra ID tokens for https://ai.azure.com. Deployments: ARM on the account, Entra ID."""
    assert spec.subscription
    try:
        from azure.identity import DefaultAzureCredential, get_bearer_token_provider
    except ImportError as e:  # pragma: no cover
        raise FtopsError(f"azure-identity is required for a remote Foundry: {e}") from None
    project = spec.project_in_endpoint
    key = _api_key(project)
    ca = ca_bundle()
    credential = DefaultAzureCredential(**_transport(ca, timeouts))
    arm = _arm_client(spec.arm_endpoint, spec.subscription, credential, ca, timeouts)
    account = resolve_account(arm, _account_from_host(spec) if project else spec)
    if project:
        require_project(arm, account, project)
    api_key: Any = key or get_bearer_token_provider(credential, PROJECT_SCOPE if project else COGNITIVE_SCOPE)
    endpoint = data_plane_endpoint(account.endpoint)
    oai, arm = _clients(endpoint, spec.arm_endpoint, spec.subscription, api_key, credential, ca, timeouts)
    client = FoundryClient(oai, arm, resource_group=account.resource_group, account=account.name, endpoint=endpoint,
                           policy=RetryPolicy(budget=budgets.retry), poll_interval=spec.poll_interval or 5.0,
                           timeouts=timeouts, outage_budget=budgets.outage)
    # Which identity is used, never what it is: the variables' names, not their values.
    entra = f"Entra ID ({signin_source().name})"
    client.identity = (f"data plane: API key from {API_KEY_ENV}; deployments: {entra}" if key
                       else f"{entra} for the data plane and deployments")
    client.entra_planes = frozenset({"arm"} if key else {"data", "arm"})
    client.foundry_project = project or ""
    return client


def _api_key(project: str | None) -> str | None:
    """AZURE_OPENAI_API_KEY for a resource endpoint. A project endpoint takes Entra ID only, as Microsoft's
    own client does (azure-ai-projects has no key option; Learn documents keys for the resource's
    /openai/v1 only): a key set there is refused rather than ignored, so the identity used is never a
    surprise (unset it, or name the resource endpoint to use the key)."""
    key = api_key_from_env()
    if key and project:
        raise FtopsError(f"spec.endpoint is the Foundry project {project}'s endpoint, which ftops reaches with "
                         f"Entra ID only; unset {API_KEY_ENV}, or set endpoint to the resource's "
                         "(https://<resource>.openai.azure.com) to use the key")
    return key


def _account_from_host(spec: FoundrySpec) -> FoundrySpec:
    """A project endpoint names its account by its host's first label (<resource>.services.ai.azure.com),
    unless the spec names the account (a custom subdomain can differ from the account's name)."""
    host = (urllib.parse.urlsplit(spec.endpoint or "").hostname or "").lower()
    if spec.account or not host.endswith(ACCOUNT_HOSTS):
        return spec
    return spec.model_copy(update={"account": host.split(".", 1)[0]})


def require_project(arm: CognitiveServicesManagementClient, account: Account, project: str) -> None:
    """The project must exist on the account (Projects_Get), else one line now instead of a 404 per call.
    azure-mgmt-cognitiveservices before 14 has no Projects API: then the data plane's answers tell."""
    projects = getattr(arm, "projects", None)
    if projects is None:  # pragma: no cover (the locked SDK has it)
        return
    try:
        projects.get(account.resource_group, account.name, project)
    except Exception as e:
        err = classify(e, f"read Foundry project {project}")
        if isinstance(err, FoundryNotFound):
            raise FtopsError(f"account {account.name} has no Foundry project {project!r} (Azure Resource Manager "
                             "answered 404); check the project's name in spec.endpoint") from e
        raise err from e


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


def usable_key(key: str) -> bool:
    """A key an HTTP header can carry: printable ASCII, no spaces, not empty."""
    return bool(key) and key.isascii() and key.isprintable() and " " not in key


def api_key_from_env() -> str | None:
    """AZURE_OPENAI_API_KEY, stripped of surrounding white space (a secret pasted with its newline); None
    when unset or empty (a CI secret that does not exist expands to ""): Entra ID is used then. A value
    that is no key at all is one line naming the variable, never its value."""
    raw = os.environ.get(API_KEY_ENV)
    if not raw:
        return None
    key = raw.strip()
    if not usable_key(key):
        what = "is blank" if not key else "holds spaces or characters an HTTP header cannot carry"
        raise FtopsError(f"{API_KEY_ENV} {what}; set it to the resource's key, or unset it to sign in with "
                         "Entra ID")
    return key


def _connect_local(spec: FoundrySpec, root: Path, timeouts: Timeouts, budgets: Budgets,
                   launcher: Launcher | None) -> FoundryClient:
    if launcher is None:
        raise FtopsError("this spec says local: true, but no local Foundry can be started here (the caller gave "
                         "no launcher)")
    try:
        server = launcher(root / spec.data_dir, speed=spec.speed, subscription=spec.subscription,
                          resource_group=spec.resource_group, account=spec.account, region=spec.region,
                          project=spec.foundry_project)
    except Exception as e:  # the launcher is the emulator's code: a damaged state dir can fail in many ways
        raise FtopsError(f"cannot start the local Foundry in {root / spec.data_dir}: {type(e).__name__}: {e}; "
                         "move the directory aside to start afresh") from e
    c = server.connection
    if not usable_key(c.api_key):
        server.stop()
        raise FtopsError(f"the local Foundry in {root / spec.data_dir} gave no usable API key; delete its api-key "
                         "file and it makes a new one")
    # The local Foundry takes its key on a project's data plane too (docs/emulator.md says why).
    endpoint = data_plane_endpoint(c.project_endpoint) if spec.foundry_project else c.endpoint
    oai, arm = _clients(endpoint, c.arm_endpoint, c.subscription, c.api_key, StaticTokenCredential(c.api_key),
                        c.ca_cert, timeouts)
    client = FoundryClient(oai, arm, resource_group=c.resource_group, account=c.account, endpoint=endpoint,
                           policy=RetryPolicy(attempts=8, base_delay=0.05, max_delay=1.0, budget=budgets.retry),
                           poll_interval=spec.poll_interval or 0.02, timeouts=timeouts,
                           outage_budget=budgets.outage, on_close=server.stop)
    client.identity = "the local Foundry's key"
    client.foundry_project = spec.foundry_project or ""
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
    host = _hostname(spec.endpoint)
    accounts = _arm_read(lambda: list(arm.accounts.list()), "list the subscription's accounts")
    # By any of its endpoints (a project endpoint is on its "AI Foundry API" host), else by its name.
    matches = [a for a in accounts if host in _hosts_of(a)] or [
        a for a in accounts if name is not None and str(a.name).lower() == name.lower()]
    for a in matches[:1]:
        group = str(a.id).split("/resourceGroups/", 1)[1].split("/", 1)[0]  # an ARM id's documented form
        return Account(spec.endpoint, group, str(a.name))
    raise FtopsError(f"no Cognitive Services account in subscription {spec.subscription} has the endpoint "
                     f"{host}; check spec.endpoint, or name the account with resourceId")


def _hosts_of(account: Any) -> set[str]:
    props = getattr(account, "properties", None)
    urls = [getattr(props, "endpoint", None), *(getattr(props, "endpoints", None) or {}).values()]
    return {_hostname(str(u)) for u in urls if u}


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
