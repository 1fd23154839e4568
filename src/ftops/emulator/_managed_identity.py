"""The local Foundry plays Entra ID: a managed identity's token endpoint, and the signed tokens it issues.

The endpoint speaks App Service's managed identity protocol, exactly as azure-identity (through MSAL)
sends it when IDENTITY_ENDPOINT and IDENTITY_HEADER are set (msal `managed_identity.py`,
`_obtain_token_on_app_service`; Microsoft Learn "Managed identities for App Service", REST protocol
examples): `GET IDENTITY_ENDPOINT?api-version=2019-08-01&resource=R` with the header `X-IDENTITY-HEADER`,
answered `{"access_token", "expires_on" (epoch seconds, as a string), "resource", "token_type": "Bearer",
"client_id"}`; errors `{"statusCode", "message"}` (the shape MSAL reads back).

Tokens are JWTs signed with HMAC-SHA256 by a key kept in the data dir (`identity.json`, mode 0600): `aud`
is the resource asked for, `exp` the real time plus `token_lifetime`, `oid` the identity's object id.
Expiry is checked on the real clock, as clients compute it from `expires_on`: `advance` moves Foundry's
clock, not Entra ID's. What the identity may do is its role (`_rbac.py`), read on every request, as
Azure evaluates role assignments when a request comes, not when the token was issued.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import sqlite3
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import _fidelity, _rbac
from ._arm import ACCOUNT, check_account
from ._http import JSON, arm_page, json_body
from ._http import emulator_of as _emu
from ._store import Store

TOKEN_PATH = "/msi/token"  # App Service's IDENTITY_ENDPOINT is a path like /MSI/token on a local port
API_VERSION = "2019-08-01"
DATA_AUDIENCES = frozenset({"https://cognitiveservices.azure.com", "https://cognitiveservices.azure.com/",
                            "https://ai.azure.com", "https://ai.azure.com/"})
# A Foundry project's data plane: the scope azure-ai-projects asks for (`get_openai_client`).
PROJECT_AUDIENCES = frozenset({"https://ai.azure.com", "https://ai.azure.com/"})
# The audiences ARM accepts, in the order its InvalidAuthenticationTokenAudience message lists them.
ARM_AUDIENCES = ("https://management.core.windows.net/", "https://management.core.windows.net",
                 "https://management.azure.com/", "https://management.azure.com")
DEFAULTS: dict[str, Any] = {"role": _rbac.DEFAULT_ROLE, "token_lifetime": 3600.0, "audience": None,
                            "permissions_api": True}
FILE = "identity.json"


@dataclass(frozen=True)
class Principal:
    """The managed identity the local Foundry plays, made once per data dir."""

    signing_key: bytes
    header: str  # IDENTITY_HEADER: the secret a client proves it runs next to the endpoint with
    object_id: str
    client_id: str
    tenant_id: str

    @classmethod
    def load(cls, data_dir: Path) -> Principal:
        data = orjson.loads(_create_once(data_dir / FILE, _new_principal))
        try:
            return cls(bytes.fromhex(data["signing_key"]), str(data["header"]), str(data["object_id"]),
                       str(data["client_id"]), str(data["tenant_id"]))
        except (KeyError, TypeError, ValueError) as e:  # the callers report a damaged state dir as ValueError
            raise ValueError(f"{FILE} is damaged ({type(e).__name__})") from None


def _new_principal() -> bytes:
    return orjson.dumps({"signing_key": secrets.token_hex(32), "header": secrets.token_hex(16),
                         "object_id": str(uuid.uuid4()), "client_id": str(uuid.uuid4()),
                         "tenant_id": str(uuid.uuid4())})


def _create_once(path: Path, make: Callable[[], bytes]) -> bytes:
    """The file's bytes, written whole on first use (mode 0600). Two emulators starting on one new data
    dir: each writes under its own name and links it into place; the loser reads the winner's."""
    if path.is_file():
        return path.read_bytes()
    tmp = path.with_name(f".{path.name}-{os.getpid()}-{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(make())
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_bytes()


def secret_file(data_dir: Path, name: str) -> str:
    """A random hex secret kept in data_dir/name (the API key), made once."""
    return _create_once(data_dir / name, lambda: secrets.token_hex(16).encode()).decode().strip()


# -- settings ---------------------------------------------------------------------------------------
def settings(store: Store, c: sqlite3.Connection) -> dict[str, Any]:
    return {**DEFAULTS, **store.meta(c, "identity", {})}


def update(store: Store, c: sqlite3.Connection, change: dict[str, Any]) -> str | None:
    """Apply a settings change (role, token_lifetime, audience, permissions_api); an error text or None."""
    unknown = set(change) - set(DEFAULTS)
    if unknown:
        return f"unknown settings {sorted(unknown)}; known: {sorted(DEFAULTS)}"
    if "role" in change:
        role = _rbac.role_name(str(change["role"]))
        if role is None:
            return f"unknown role {change['role']!r}; known: {', '.join(_rbac.ROLES)}"
        change["role"] = role
    lifetime = change.get("token_lifetime", 1.0)
    if isinstance(lifetime, bool) or not isinstance(lifetime, int | float) or not 1 <= lifetime <= 86400 * 7:
        return "token_lifetime is a number of seconds from 1 to 604800"
    audience = change.get("audience")
    if audience is not None and not isinstance(audience, str) and not (
            isinstance(audience, dict) and all(isinstance(v, str) for v in audience.values())):
        return ("audience is a string (the audience every token carries), an object {resource asked for: audience "
                "its tokens carry}, or null")
    store.set_meta(c, "identity", {**store.meta(c, "identity", {}), **change})
    return None


def change_settings(store: Store, change: dict[str, Any]) -> str | None:
    """`update` in a transaction of its own (`ftops emulator --role` before it serves)."""
    with store.tx() as c:
        return update(store, c, dict(change))


def count(store: Store, what: str) -> None:
    """Count a token issued or a request refused (for `ftops emulator state` and tests)."""
    with store.tx() as c:
        stats = store.meta(c, "identity_stats", {})
        stats[what] = int(stats.get(what, 0)) + 1
        store.set_meta(c, "identity_stats", stats)


# -- tokens -----------------------------------------------------------------------------------------
def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue(principal: Principal, audience: str, lifetime: float, now: float) -> tuple[str, int]:
    """(token, exp): a JWT for `audience` as Entra ID issues to a managed identity (v1 claims)."""
    exp = int(now + lifetime)
    claims = {"aud": audience, "iss": f"https://sts.windows.net/{principal.tenant_id}/", "iat": int(now),
              "nbf": int(now), "exp": exp, "oid": principal.object_id, "sub": principal.object_id,
              "appid": principal.client_id, "tid": principal.tenant_id, "idtyp": "app"}
    head = _b64(orjson.dumps({"alg": "HS256", "typ": "JWT"}))
    body = _b64(orjson.dumps(claims))
    sig = hmac.new(principal.signing_key, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(sig)}", exp


@dataclass(frozen=True)
class Checked:
    """What verifying a token found: `problem` is None, "invalid", "audience" or "expired"."""

    problem: str | None
    claims: dict[str, Any]


def verify(principal: Principal, token: bytes, audiences: frozenset[str] | tuple[str, ...],
           now: float) -> Checked:
    """Signature (HS256 with our key: an unsigned or foreign token is invalid), then audience, then expiry."""
    try:
        head, body, sig = token.decode("ascii").split(".")
        header = orjson.loads(_unb64(head))
        claims = orjson.loads(_unb64(body))
        signature = _unb64(sig)
    except (ValueError, orjson.JSONDecodeError):
        return Checked("invalid", {})
    expected = hmac.new(principal.signing_key, f"{head}.{body}".encode(), hashlib.sha256).digest()
    if not isinstance(header, dict) or header.get("alg") != "HS256" or not hmac.compare_digest(signature, expected):
        return Checked("invalid", {})
    if not isinstance(claims, dict) or not isinstance(claims.get("exp"), int):
        return Checked("invalid", {})
    if claims.get("aud") not in audiences:
        return Checked("audience", claims)
    if claims["exp"] <= now:
        return Checked("expired", claims)
    return Checked(None, claims)


# -- the token endpoint -----------------------------------------------------------------------------
def _refusal(status: int, message: str) -> JSON:
    return JSON({"statusCode": status, "message": message}, status_code=status)


def _audience(setting: str | dict[str, str] | None, resource: str) -> str:
    """The audience a token for `resource` carries: the one asked for, unless a test set another (for every
    token, or per resource asked for: a client asking one plane's audience for another)."""
    if isinstance(setting, dict):
        return setting.get(resource) or setting.get(resource.rstrip("/")) or resource
    return setting or resource


def token_endpoint(request: Request) -> Response:
    emu = _emu(request)
    principal = emu.principal
    given = request.headers.get("x-identity-header", "")
    if principal is None or not hmac.compare_digest(given.encode(), principal.header.encode()):
        return _refusal(401, "The X-IDENTITY-HEADER header is missing or does not match IDENTITY_HEADER.")
    q = request.query_params
    if q.get("api-version") != API_VERSION:
        return _refusal(400, f"The api-version is missing or not supported; use {API_VERSION}.")
    resource = q.get("resource")
    if not resource:
        return _refusal(400, "The resource parameter is required.")
    asked = q.get("client_id") or q.get("object_id") or q.get("mi_res_id")
    if asked and asked not in (principal.client_id, principal.object_id):
        return _refusal(400, "No managed identity with that id is assigned to this resource.")
    with emu.store.tx() as c:
        s = settings(emu.store, c)
    token, exp = issue(principal, _audience(s["audience"], resource), float(s["token_lifetime"]), time.time())
    count(emu.store, "tokens_issued")
    return JSON({"access_token": token, "expires_on": str(exp), "resource": resource, "token_type": "Bearer",
                 "client_id": principal.client_id})


# -- the permissions API and the admin route --------------------------------------------------------
def permissions(request: Request) -> Response:
    """Permissions - List For Resource (Microsoft.Authorization 2022-04-01) on the account: what the
    caller may do there. The local key stands for the account's owner; a token for the identity's role."""
    if (bad := check_account(request)) is not None:
        return bad
    emu = _emu(request)
    with emu.store.tx() as c:
        s = settings(emu.store, c)
        size = int(_fidelity.settings(emu.store, c)["arm_page_size"])
    if not s["permissions_api"]:  # a test's way to make ftops find out by acting (no preflight)
        return JSON({"error": {"code": "AuthorizationFailed", "message": "The client may not read its "
                               "permissions over this scope."}}, status_code=403)
    role = _rbac.ROLES[s["role"]] if request.scope.get("ftops.principal") else _rbac.ROLES[_rbac.DEFAULT_ROLE]
    # Azure answers one permission per role assignment; the role's control- and data-plane halves are two
    # here (their union is the role), so that a page size of 1 makes a second page, read with `nextLink`.
    whole = role.permissions()
    halves = [{**whole, "dataActions": [], "notDataActions": []}, {**whole, "actions": [], "notActions": []}]
    return arm_page(request, halves, size)


async def set_identity(request: Request) -> Response:
    """{"role": "Azure AI User", "token_lifetime": 60, "audience": null, "permissions_api": true}."""
    emu = _emu(request)
    body = await json_body(request) or {}
    with emu.store.tx() as c:
        problem = update(emu.store, c, dict(body))
        if problem:
            return JSON({"error": problem}, status_code=400)
        return JSON({"identity": settings(emu.store, c), "stats": emu.store.meta(c, "identity_stats", {})})


ROUTES = [
    Route(TOKEN_PATH, token_endpoint, methods=["GET"]),
    Route(ACCOUNT + "/providers/Microsoft.Authorization/permissions", permissions, methods=["GET"]),
    Route("/_emulator/identity", set_identity, methods=["POST"]),
]
