"""Foundry projects: the ARM resource `accounts/{a}/projects/{p}` and the project's data plane.

ARM (Microsoft.CognitiveServices 2025-09-01, Projects_Get/Projects_List/Projects_Create/Projects_Delete and
their examples `CreateProjectMin.json`, `ListProjects.json`, `DeleteProject.json`): a project exists once it
was created (`PUT`, or `ftops emulator --project NAME`, or the `project` a launcher asks for); it answers
with `properties.endpoints["AI Foundry API"]`, the project endpoint as the portal shows it
(`https://<resource>.services.ai.azure.com/api/projects/<project>`); the first one is the default
(`isDefault`). Names are case-insensitive, as ARM's are.

Data plane: `/api/projects/{p}/openai/...` serves every route of `/openai/...` (the project endpoint plus
`/openai/v1`, as azure-ai-projects' `get_openai_client` builds it), on the account's own files, jobs and
deployments. An unknown project is Azure's data-plane 404. The project's audience and key rule are in
`_auth`.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ._arm import ACCOUNT, check_account
from ._http import JSON, arm_error, json_body
from ._http import emulator_of as _emu
from ._state import Emulator
from ._store import Store

PREFIX = "/api/projects/"
NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{1,63}")  # projectName in the ARM spec: 2 to 64 characters
TYPE = "Microsoft.CognitiveServices/accounts/projects"
NOT_FOUND = {"error": {"code": "404", "message": "Resource not found"}}  # Azure's data-plane 404 (see _app)


def split(path: str) -> tuple[str, str] | None:
    """(project, the rest from /openai/) of a project data-plane path, else None."""
    if not path.startswith(PREFIX):
        return None
    project, slash, rest = path[len(PREFIX):].partition("/")
    if not slash or not rest.startswith("openai/"):
        return None
    return project, "/" + rest


def all_projects(store: Store, c: sqlite3.Connection) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = store.meta(c, "projects", {})
    return found


def find(store: Store, c: sqlite3.Connection, name: str) -> dict[str, Any] | None:
    return all_projects(store, c).get(name.lower())


def create(store: Store, c: sqlite3.Connection, name: str,
           body: dict[str, Any] | None = None) -> tuple[bool, dict[str, Any]]:
    """(created, the project): an existing project keeps its identity and takes the new properties."""
    projects = all_projects(store, c)
    props = (body or {}).get("properties") or {}
    old = projects.get(name.lower())
    record = {"name": old["name"] if old else name, "created_at": old["created_at"] if old else store.now(c),
              "is_default": old["is_default"] if old else not projects,
              "display_name": props.get("displayName"), "description": props.get("description"),
              "tags": (body or {}).get("tags") or {}}
    projects[name.lower()] = record
    store.set_meta(c, "projects", projects)
    return old is None, record


def ensure(store: Store, name: str) -> None:
    """Create project `name` unless it exists (a launcher's `project`, `ftops emulator --project`)."""
    with store.tx() as c:
        if find(store, c, name) is None:
            create(store, c, name)


def endpoint_of(request: Request, emu: Emulator, name: str) -> str:
    """The project endpoint, on the host the client reached (as Azure's is on the resource's host), under the
    account's own prefix (an added account's data plane is under /accounts/<name>, see `_world`)."""
    return f"{request.url.scheme}://{request.url.netloc}{emu.path_prefix}{PREFIX}{name}"


def view(emu: Emulator, request: Request, p: dict[str, Any]) -> dict[str, Any]:
    """A Project as Projects_Get answers it."""
    props: dict[str, Any] = {"provisioningState": "Succeeded", "isDefault": p["is_default"],
                             "endpoints": {"AI Foundry API": endpoint_of(request, emu, p["name"])}}
    for key, field in (("displayName", "display_name"), ("description", "description")):
        if p.get(field) is not None:
            props[key] = p[field]
    return {"id": f"{emu.account_id}/projects/{p['name']}", "name": p["name"], "type": TYPE,
            "location": emu.region, "tags": p.get("tags") or {}, "etag": f'"{int(p["created_at"])}"',
            "properties": props}


def _missing(request: Request) -> JSON:
    """ARM's 404 for a child resource that does not exist (the shape check_account answers for accounts)."""
    p = request.path_params
    return arm_error(404, "ResourceNotFound", f"The Resource '{TYPE.rsplit('/', 1)[0]}/{p['account']}/projects/"
                     f"{p['project']}' under resource group '{p['group']}' was not found.")


def get_project(request: Request) -> Response:
    if (bad := check_account(request)) is not None:
        return bad
    emu = _emu(request)
    with emu.store.tx() as c:
        found = find(emu.store, c, request.path_params["project"])
    return JSON(view(emu, request, found)) if found else _missing(request)


def list_projects(request: Request) -> Response:
    if (bad := check_account(request)) is not None:
        return bad
    emu = _emu(request)
    with emu.store.tx() as c:
        projects = list(all_projects(emu.store, c).values())
    return JSON({"value": [view(emu, request, p) for p in sorted(projects, key=lambda p: p["created_at"])]})


async def put_project(request: Request) -> Response:
    """Projects_Create: 201 when new, 200 when it existed; done at once (provisioningState Succeeded)."""
    if (bad := check_account(request)) is not None:
        return bad
    name = request.path_params["project"]
    if not NAME.fullmatch(name):
        return arm_error(400, "InvalidResourceName", f"The project name '{name}' is invalid: 2 to 64 characters, "
                         "letters, digits, '_', '.' and '-', starting with a letter or a digit.")
    body = await json_body(request)
    if body is None:
        return arm_error(400, "InvalidRequestContent", "The request content must be a JSON object.")
    if (problem := _malformed(body)) is not None:
        return arm_error(400, "InvalidRequestContent", f"The request content was invalid: {problem}.")
    emu = _emu(request)
    with emu.store.tx() as c:
        created, record = create(emu.store, c, name, body)
    return JSON(view(emu, request, record), status_code=201 if created else 200)


def _malformed(body: dict[str, Any]) -> str | None:
    """What in a PUT body has a shape Azure's schema refuses (stored, it was a 500, or a project no reader
    could deserialize), or None."""
    props = body.get("properties")
    if props is not None and not isinstance(props, dict):
        return "properties must be an object"
    for key in ("displayName", "description"):
        value = (props or {}).get(key)
        if value is not None and not isinstance(value, str):
            return f"properties.{key} must be a string"
    tags = body.get("tags")
    if tags is not None and (not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values())):
        return "tags must be an object of string values"
    return None


def delete_project(request: Request) -> Response:
    """Projects_Delete: 200 when it existed, 204 when it did not (DeleteProject.json)."""
    if (bad := check_account(request)) is not None:
        return bad
    emu = _emu(request)
    with emu.store.tx() as c:
        projects = all_projects(emu.store, c)
        gone = projects.pop(request.path_params["project"].lower(), None)
        emu.store.set_meta(c, "projects", projects)
    return Response(status_code=200 if gone else 204)


class ProjectMiddleware:
    """Serve `/api/projects/{p}/openai/...` with the routes of `/openai/...`, for a project that exists.

    The inner app sees the path without the prefix and the prefix as `root_path`, as an ASGI mount does:
    routing, faults and roles work unchanged, and URLs the routes build (a job's Location) keep the prefix.
    Authentication (`_auth`) runs before this and sees the whole path: the project's audience is its own.
    """

    def __init__(self, app: ASGIApp, emulator: Emulator) -> None:
        self.app = app
        self.emu = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        parts = split(scope["path"])
        store = self.emu.store
        if parts is None or find(store, store._conn(), parts[0]) is None:
            await JSON(NOT_FOUND, status_code=404)(scope, receive, send)
            return
        project, rest = parts
        prefix = f"{PREFIX}{project}"
        inner = {**scope, "path": rest, "raw_path": rest.encode(), "root_path": scope.get("root_path", "") + prefix,
                 "ftops.project": project}
        await self.app(inner, receive, send)


ROUTES = [
    Route(ACCOUNT + "/projects", list_projects, methods=["GET"]),
    Route(ACCOUNT + "/projects/{project}", get_project, methods=["GET"]),
    Route(ACCOUNT + "/projects/{project}", put_project, methods=["PUT"]),
    Route(ACCOUNT + "/projects/{project}", delete_project, methods=["DELETE"]),
]
