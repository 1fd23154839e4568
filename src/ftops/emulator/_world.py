"""Every account one local Foundry serves, and which account each request is for.

On Azure each account is its own resource: its own data-plane host (`https://<name>.openai.azure.com/`), files,
jobs, deployments, models list, quota and keys, in the region it was created in; ARM is one host for all
accounts, and its paths name the account (`/subscriptions/{s}/resourceGroups/{g}/providers/
Microsoft.CognitiveServices/accounts/{a}/...`). Here:

- the first account is the data dir itself, served as before (`/openai/...` on the server's root);
- each added account lives in `accounts/<name>/` of the data dir (its own SQLite state, blobs and key), and its
  data plane is served under the path prefix `/accounts/<name>` (so the `openai` client works unchanged with
  `base_url=https://localhost:<port>/accounts/<name>/openai/v1`, as a project's data plane does under
  `/api/projects/<p>`); one port keeps one TLS certificate and one process serving every account;
- ARM requests go to the account their path names; an operation URL to the account that holds the operation;
- all accounts share one emulated clock (the first account's), one managed identity and one caller: ARM and the
  admin API take the first account's key. Which accounts are there is recorded in the first account's state, so
  every process serving the data dir sees an account another one added.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ._http import JSON, emulator_of, json_body
from ._state import Emulator
from ._store import Store

PREFIX = "/accounts/"  # an added account's data plane: /accounts/<name>/openai/...
ACCOUNTS_DIR = "accounts"
# Azure's account names (customSubDomainName): 2 to 64 letters, digits and hyphens, starting alphanumeric.
NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9-]{1,63}")
REGION = re.compile(r"[a-z0-9]{2,40}")  # ARM's location names: lower-case letters and digits (swedencentral)
_ACCOUNT_ID = re.compile(r"/subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/Microsoft\.CognitiveServices/"
                         r"accounts/([^/?]+)", re.IGNORECASE)
_OPERATION = re.compile(r"/subscriptions/[^/]+/providers/Microsoft\.CognitiveServices/locations/[^/]+/"
                        r"operationResults/([^/?]+)", re.IGNORECASE)
DATA_404 = {"error": {"code": "404", "message": "Resource not found"}}  # Azure's data-plane 404 (see _app)


@dataclass(frozen=True)
class AccountSpec:
    """An account to add: its name and region; subscription, resource group and tenant default to the first
    account's. `authorized: False` is an account the caller (and the other accounts' identities) holds no role on:
    what another team's or another subscription's account is to ftops."""

    name: str
    region: str
    subscription: str | None = None
    resource_group: str | None = None
    tenant: str | None = None
    authorized: bool = True

    def problem(self) -> str | None:
        """Why this spec cannot be an account, or None."""
        if not NAME.fullmatch(self.name):
            return f"account name {self.name!r}: 2 to 64 letters, digits or '-', starting with a letter or digit"
        if not REGION.fullmatch(self.region):
            return f"region {self.region!r}: an Azure location name such as swedencentral or eastus2"
        return None


@dataclass(frozen=True)
class ResourceId:
    """The parts of an account's ARM resource id."""

    subscription: str
    resource_group: str
    account: str

    @classmethod
    def parse(cls, text: object) -> ResourceId | None:
        """The account a resource id names (a project's id names its account too), else None."""
        if not isinstance(text, str):
            return None
        found = _ACCOUNT_ID.match(text)
        return cls(found[1], found[2], found[3]) if found else None


def resource_id(emu: Emulator) -> ResourceId:
    return ResourceId(emu.subscription, emu.resource_group, emu.account)


class World:
    """The accounts of one local Foundry: the first (the data dir) and those added since."""

    def __init__(self, first: Emulator, data_dir: Path, key_of: Callable[[Path], str]) -> None:
        self.first = first
        self.data_dir = data_dir
        self.key_of = key_of  # an account's key, made once in its directory
        self._others: dict[str, Emulator] = {}
        self._lock = threading.Lock()
        self.on_change: Callable[[], None] | None = None  # the server rewrites connection.json
        first.world = self
        first.tenant = first.tenant or (first.principal.tenant_id if first.principal else "local-tenant")

    def accounts(self) -> list[Emulator]:
        self._load()
        return [self.first, *self._others.values()]

    def get(self, name: str) -> Emulator | None:
        """The account of this name (any case); an account another process added is found too."""
        key = name.lower()
        if key == self.first.account.lower():
            return self.first
        if key not in self._others:
            self._load()
        return self._others.get(key)

    def find(self, rid: ResourceId) -> Emulator | None:
        """The account a resource id names: subscription exactly, resource group and name in any case."""
        emu = self.get(rid.account)
        if emu is None or emu.subscription != rid.subscription:
            return None
        return emu if emu.resource_group.lower() == rid.resource_group.lower() else None

    def add(self, spec: AccountSpec) -> tuple[bool, Emulator]:
        """(added, the account): an existing account of that name is kept as it is if the spec agrees with it."""
        if (problem := spec.problem()) is not None:
            raise ValueError(problem)
        with self._lock, self.first.store.tx() as c:
            held: list[dict[str, Any]] = self.first.store.meta(c, "accounts", [])
            record = self._record(spec)
            same = next((h for h in held if h["name"].lower() == spec.name.lower()), None)
            # names compare in any case (ARM's); every other setting exactly
            if spec.name.lower() == self.first.account.lower() or (
                    same is not None and same != {**record, "name": same["name"]}):
                raise ValueError(f"account {spec.name} already exists with other settings")
            if same is None:
                held.append(record)
                self.first.store.set_meta(c, "accounts", held)
        emu = self.get(spec.name)
        assert emu is not None
        if same is None and self.on_change is not None:
            self.on_change()
        return same is None, emu

    def _record(self, spec: AccountSpec) -> dict[str, Any]:
        f = self.first
        return {**asdict(spec), "subscription": spec.subscription or f.subscription,
                "resource_group": spec.resource_group or f.resource_group, "tenant": spec.tenant or f.tenant}

    def _load(self) -> None:
        with self._lock:
            held: list[dict[str, Any]] = self.first.store.meta(self.first.store.reader(), "accounts", [])
            for record in held:
                if record["name"].lower() not in self._others:
                    self._others[record["name"].lower()] = self._build(record)

    def _build(self, record: dict[str, Any]) -> Emulator:
        f = self.first
        home = self.data_dir / ACCOUNTS_DIR / record["name"].lower()
        home.mkdir(parents=True, exist_ok=True)
        return Emulator(store=Store(home, clock=f.store), api_key=self.key_of(home),
                        subscription=record["subscription"], resource_group=record["resource_group"],
                        account=record["name"], region=record["region"], speed=f.speed, principal=f.principal,
                        arm_key=f.arm_key, tenant=record["tenant"], path_prefix=f"{PREFIX}{record['name']}",
                        authorized=bool(record["authorized"]), world=self)


class AccountRouter:
    """Hand each request to the app of the account it is for (see the module docstring)."""

    def __init__(self, world: World, build: Callable[[Emulator], ASGIApp]) -> None:
        self.world = world
        self.build = build
        self._apps: dict[str, ASGIApp] = {}

    def app_of(self, emu: Emulator) -> ASGIApp:
        key = emu.account.lower()
        if key not in self._apps:
            self._apps[key] = self.build(emu)
        return self._apps[key]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app_of(self.world.first)(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith(PREFIX):
            name, _, rest = path[len(PREFIX):].partition("/")
            emu = self.world.get(name)
            if emu is None or emu is self.world.first:  # the first account's data plane is the root
                await JSON(DATA_404, status_code=404)(scope, receive, send)
                return
            inner = {**scope, "path": "/" + rest, "raw_path": ("/" + rest).encode(),
                     "root_path": scope.get("root_path", "") + PREFIX + name}
            await self.app_of(emu)(inner, receive, send)
            return
        await self.app_of(self._arm_account(path))(scope, receive, send)

    def _arm_account(self, path: str) -> Emulator:
        """The account an ARM path is for: the one it names, the one holding an operation; else the first."""
        if (named := _ACCOUNT_ID.match(path)) is not None:
            return self.world.get(named[3]) or self.world.first  # a wrong subscription/group: its check answers
        if (operation := _OPERATION.match(path)) is not None:
            for emu in self.world.accounts():
                if emu.store.get(emu.store.reader(), "operation", operation[1]) is not None:
                    return emu
        return self.world.first


def _account_summary(emu: Emulator) -> dict[str, Any]:
    return {"account": emu.account, "region": emu.region, "subscription": emu.subscription,
            "resource_group": emu.resource_group, "tenant": emu.tenant, "authorized": emu.authorized,
            "id": emu.account_id, "data_plane_prefix": emu.path_prefix}


def list_accounts(request: Request) -> Response:
    """`GET /_emulator/accounts`: every account of this local Foundry."""
    emu = emulator_of(request)
    world = emu.world
    return JSON({"accounts": [_account_summary(a) for a in (world.accounts() if world else [emu])]})


async def add_account(request: Request) -> Response:
    """`POST /_emulator/accounts {"name", "region", "subscription"?, "resource_group"?, "tenant"?,
    "authorized"?}`: add an account (201), or answer the same one again (200)."""
    emu = emulator_of(request)
    body = await json_body(request)
    if emu.world is None or body is None or not isinstance(body.get("name"), str) or \
            not isinstance(body.get("region"), str):
        return JSON({"error": "give name and region (strings)"}, status_code=400)
    texts = {k: body.get(k) for k in ("subscription", "resource_group", "tenant")}
    if any(v is not None and not isinstance(v, str) for v in texts.values()):
        return JSON({"error": "subscription, resource_group and tenant are strings"}, status_code=400)
    spec = AccountSpec(body["name"], body["region"], **texts, authorized=bool(body.get("authorized", True)))
    try:
        added, account = emu.world.add(spec)
    except ValueError as e:
        return JSON({"error": str(e)}, status_code=400)
    return JSON(_account_summary(account), status_code=201 if added else 200)


ROUTES = [Route("/_emulator/accounts", list_accounts, methods=["GET"]),
          Route("/_emulator/accounts", add_account, methods=["POST"])]
