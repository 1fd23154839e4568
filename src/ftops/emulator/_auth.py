"""Authentication and authorization of every request, with the bodies Azure answers.

- The local API key works as before: the data plane takes it as `api-key` or as a bearer token, ARM and
  the admin API as a bearer token. A key is not subject to roles (on Azure too, keys bypass RBAC).
- Any other bearer token on the data plane or ARM must be a token of the local Entra ID (`_managed_identity`):
  signed, for that plane's audience, unexpired; then the identity's role must grant the request's action.
- The token endpoint authenticates by its X-IDENTITY-HEADER instead.

Refusals, as Azure sends them:
- data plane, no or wrong key (a bearer that is no JWT counts as a key): 401 `{"error": {"code": "401",
  "message": "Access denied due to invalid subscription key or wrong API endpoint. ..."}}` (Azure OpenAI
  key auth);
- data plane, bad token: 401 `{"statusCode": 401, "message": "Unauthorized. Access token is missing,
  invalid, audience is incorrect (https://cognitiveservices.azure.com), or have expired."}`
  (Azure-Samples/azure-search-openai-demo #458, YILING0013/AI_NovelGenerator #26);
- a Foundry project's data plane (`/api/projects/{p}/openai/...`): tokens for `https://ai.azure.com` only
  (azure-ai-projects asks for that scope in `get_openai_client`); a bad one gets the same body naming that
  audience (Azure's own body for the project route is not published). The key still works there: Microsoft
  documents keys only for the resource's `/openai/v1`, but reports that the resource key works on a
  project's files (foundryR's API support matrix, CRAN) give no reason to refuse it locally;
- data plane, role lacks the data action: 401 (not 403) `{"error": {"code": "PermissionDenied", "message":
  "The principal `<oid>` lacks the required data action `<action>` to perform `<METHOD> <path>`
  operation."}}` (MicrosoftDocs/azure-docs #119588 and Azure-Samples/rag-data-openai-python-promptflow #28
  for the 401 `PermissionDenied`; the message as quoted in microsoft/microsoft-foundry-for-vscode #247);
- ARM: 401 `AuthenticationFailed` (no header), `InvalidAuthenticationToken` (unsigned or foreign),
  `InvalidAuthenticationTokenAudience` (JetBrains/azure-tools-for-intellij #16), `ExpiredAuthenticationToken`
  (microsoft/foundry-dev-tools #461), each with a `WWW-Authenticate: Bearer` challenge; 403
  `AuthorizationFailed` naming the action and scope (Azure/azure-cli #5321, microsoft/foundry-dev-tools #407).
"""

from __future__ import annotations

import datetime as dt
import hmac
import time

from starlette.types import ASGIApp, Receive, Scope, Send

from . import _managed_identity, _projects, _rbac
from ._http import JSON, arm_error
from ._state import Emulator

DATA_401 = {"error": {"code": "401", "message": "Access denied due to invalid subscription key or wrong API endpoint. "
                      "Make sure to provide a valid key for an active subscription and use a correct regional API "
                      "endpoint for your resource."}}


def _token_401(audience: str) -> dict[str, object]:
    return {"statusCode": 401, "message": "Unauthorized. Access token is missing, invalid, audience is incorrect "
            f"({audience}), or have expired."}


DATA_TOKEN_401 = _token_401("https://cognitiveservices.azure.com")
PROJECT_TOKEN_401 = _token_401("https://ai.azure.com")
CHALLENGE = {"www-authenticate": 'Bearer authorization_uri="https://login.microsoftonline.com/common", '
                                 'error="invalid_token"'}


_ARM_CODES = {"audience": "InvalidAuthenticationTokenAudience", "expired": "ExpiredAuthenticationToken"}


class AuthMiddleware:
    def __init__(self, app: ASGIApp, emulator: Emulator) -> None:
        self.app = app
        self.emu = emulator
        self.key = emulator.api_key.encode()  # the account's own key: its data plane
        self.arm_key = emulator.arm_key.encode()  # the first account's: the caller's on every account's ARM

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == _managed_identity.TOKEN_PATH:
            await self.app(scope, receive, send)
            return
        refusal = self.check(scope)
        if refusal is not None:
            _managed_identity.count(self.emu.store, "refused")
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def check(self, scope: Scope) -> JSON | None:
        """None when the request may go on; else the answer that refuses it."""
        headers = dict(scope.get("headers", []))
        auth = headers.get(b"authorization", b"")
        bearer = auth[7:] if auth[:7].lower() == b"bearer " else None
        path: str = scope["path"]
        project = _projects.split(path)
        if path.startswith("/openai/") or project is not None:
            key = headers.get(b"api-key")
            if (key is not None and hmac.compare_digest(key, self.key)) or self._is_key(bearer, self.key):
                return None
            if bearer is None or key is not None or bearer.count(b".") != 2:  # a key, not a JWT
                return JSON(DATA_401, status_code=401)
            return self._data_token(scope, bearer, project[1] if project else path, project=project is not None)
        if self._is_key(bearer, self.arm_key) or self._is_key(bearer, self.key):  # the caller's, or the account's
            return None
        if not path.startswith("/subscriptions/"):  # the admin API and unknown paths: the key only
            return _arm_401("AuthenticationFailed" if not auth else "InvalidAuthenticationToken", None)
        if bearer is None:
            return _arm_401("AuthenticationFailed", None)
        return self._arm_token(scope, bearer)

    @staticmethod
    def _is_key(bearer: bytes | None, key: bytes) -> bool:
        return bearer is not None and hmac.compare_digest(bearer, key)

    def _data_token(self, scope: Scope, token: bytes, route: str, *, project: bool) -> JSON | None:
        """A data-plane token: the resource's audiences, or a project's own; `route` is the /openai/... path
        (under a project, the action is the one the same request has on the resource)."""
        audiences = _managed_identity.PROJECT_AUDIENCES if project else _managed_identity.DATA_AUDIENCES
        found = self._verify(token, audiences)
        if found is None or found.problem is not None:
            return JSON(PROJECT_TOKEN_401 if project else DATA_TOKEN_401, status_code=401)
        return self._authorize(scope, found, route, data=True)

    def _arm_token(self, scope: Scope, token: bytes) -> JSON | None:
        found = self._verify(token, _managed_identity.ARM_AUDIENCES)
        if found is None or found.problem is not None:
            problem = found.problem if found is not None else None
            return _arm_401(_ARM_CODES.get(problem or "", "InvalidAuthenticationToken"), found)
        return self._authorize(scope, found, scope["path"], data=False)

    def _verify(self, token: bytes, audiences: frozenset[str] | tuple[str, ...]) -> _managed_identity.Checked | None:
        principal = self.emu.principal
        return _managed_identity.verify(principal, token, audiences, time.time()) if principal else None

    def _authorize(self, scope: Scope, found: _managed_identity.Checked, route: str, *, data: bool) -> JSON | None:
        oid = str(found.claims.get("oid", ""))
        scope["ftops.principal"] = oid  # the permissions API answers for this identity
        method, path = scope["method"], scope["path"]
        need = _rbac.data_need(method, route) if data else _rbac.arm_need(method, path)
        if need is None:
            return None
        with self.emu.store.tx() as c:
            role = _rbac.ROLES[_managed_identity.settings(self.emu.store, c)["role"]]
        if role.allows(need.action, data=need.data):
            return None
        if data:
            return JSON({"error": {"code": "PermissionDenied", "message": (
                f"The principal `{oid}` lacks the required data action `{need.action}` to perform "
                f"`{need.operation}` operation.")}}, status_code=401)
        return arm_error(403, "AuthorizationFailed", (
            f"The client '{oid}' with object id '{oid}' does not have authorization to perform action "
            f"'{need.action}' over scope '{path}' or the scope is invalid. If access was recently granted, "
            "please refresh your credentials."))


def _azure_time(ts: float) -> str:
    """5/14/2023 1:02:03 PM: how ARM writes times in ExpiredAuthenticationToken."""
    d = dt.datetime.fromtimestamp(ts, dt.UTC)
    return f"{d.month}/{d.day}/{d.year} {d.hour % 12 or 12}:{d.minute:02}:{d.second:02} {'AM' if d.hour < 12 else 'PM'}"


def _arm_401(code: str, found: _managed_identity.Checked | None) -> JSON:
    claims = found.claims if found is not None else {}
    messages = {
        "AuthenticationFailed": "Authentication failed. The 'Authorization' header is missing.",
        "InvalidAuthenticationToken": "The access token is invalid.",
        "InvalidAuthenticationTokenAudience": (
            f"The access token has been obtained for wrong audience or resource '{claims.get('aud')}'. It should "
            "exactly match with one of the allowed audiences "
            + ",".join(f"'{a}'" for a in _managed_identity.ARM_AUDIENCES) + "."),
        "ExpiredAuthenticationToken": (
            f"The access token expiry UTC time '{_azure_time(float(claims.get('exp') or 0))}' is earlier than "
            f"current UTC time '{_azure_time(time.time())}'."),
    }
    return arm_error(401, code, messages[code], headers=CHALLENGE)
