"""The ASGI application: routes of the three planes and the token endpoint, authentication (`_auth`), Foundry
projects' data plane (`_projects`), fault injection, the Date header."""

from __future__ import annotations

import email.utils

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import _account, _admin, _arm, _dataplane, _managed_identity, _projects, _rai_policies, _world
from ._auth import AuthMiddleware
from ._faults import FaultMiddleware
from ._http import JSON, arm_error
from ._projects import ProjectMiddleware
from ._state import Emulator
from ._world import AccountRouter, World


class DateMiddleware:
    """The `Date` header on the emulated clock, as Azure's is on its own: clients compare it with the
    timestamps in bodies (after `advance`, both have moved)."""

    def __init__(self, app: ASGIApp, emulator: Emulator) -> None:
        self.app = app
        self.emulator = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        store = self.emulator.store
        now = store.now(store._conn())
        date = email.utils.formatdate(now, usegmt=True).encode()

        async def send_with_date(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"date"]
                message = {**message, "headers": [*headers, (b"date", date)]}
            await send(message)

        await self.app(scope, receive, send_with_date)


# Azure's data plane answers an unknown path (or api-version) with this JSON body (graphrag #1863,
# azure-openai-proxy #52), never plain text.
DATA_404 = {"error": {"code": "404", "message": "Resource not found"}}


async def not_found(request: Request, exc: Exception) -> Response:
    if request.url.path.startswith("/subscriptions/"):
        return arm_error(404, "InvalidResourceType", f"The resource type could not be found in the namespace "
                         f"'Microsoft.CognitiveServices' for api version '{request.query_params.get('api-version')}'.")
    return JSON(DATA_404, status_code=404)


async def not_allowed(request: Request, exc: Exception) -> Response:
    if request.url.path.startswith("/subscriptions/"):
        return arm_error(405, "MethodNotAllowed", f"The requested method '{request.method}' is not allowed.")
    return JSON(DATA_404, status_code=404)


def build_app(emulator: Emulator) -> ASGIApp:
    app = Starlette(routes=[*_dataplane.ROUTES, *_arm.ROUTES, *_account.ROUTES, *_projects.ROUTES,
                            *_rai_policies.ROUTES, *_admin.ROUTES, *_managed_identity.ROUTES, *_world.ROUTES],
                    exception_handlers={404: not_found, 405: not_allowed})
    app.state.emulator = emulator
    # Authentication sees a project's whole path (its audience is its own); the routes see /openai/...
    inner = ProjectMiddleware(FaultMiddleware(app, emulator), emulator)
    return DateMiddleware(AuthMiddleware(inner, emulator), emulator)


def build_world_app(world: World) -> ASGIApp:
    """The app of every account: each request goes to its account's app (`build_app`), see `_world`."""
    return AccountRouter(world, build_app)
