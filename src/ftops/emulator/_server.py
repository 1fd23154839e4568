"""Run the emulator: in the foreground (`ftops emulator`) or on a background thread (tests, local: true)."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import ssl
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import uvicorn

from . import _grading
from ._app import build_world_app
from ._certs import ensure_certificates
from ._connection import AccountConnection, Connection
from ._managed_identity import TOKEN_PATH, Principal, secret_file
from ._projects import NAME, PREFIX
from ._projects import ensure as ensure_project
from ._state import Emulator
from ._statedir import make_state_dir
from ._store import Store
from ._world import AccountSpec, World

if TYPE_CHECKING:
    import httpx

DEFAULTS = {"subscription": "00000000-0000-0000-0000-000000000000", "resource_group": "ftops-local",
            "account": "ftops-local", "region": "swedencentral"}


def _usable_key(path: Path, key: str) -> str:
    """`key`, read from `path`, if it is one; a file that holds no usable key (emptied, edited) is refused in
    one line, not served: every client would send a key the HTTP libraries refuse to put in a header."""
    if not key or not key.isascii() or not key.isprintable() or " " in key:
        what = "is empty" if not key else "does not hold a key (spaces or characters a header cannot carry)"
        raise ValueError(f"{path} {what}: delete it and the local Foundry makes a new one")
    return key


def _api_key(data_dir: Path) -> str:
    return _usable_key(data_dir / "api-key", secret_file(data_dir, "api-key"))


ACCOUNT_KEYS = ("subscription", "resource_group", "account")


class OtherAccount(ValueError):
    """The data dir holds the local Foundry of another account."""


def _same(key: str, a: str, b: str) -> bool:
    return a == b if key == "subscription" else a.lower() == b.lower()  # ARM names are case-insensitive


def account_names(store: Store, data_dir: Path, **given: str | None) -> dict[str, str]:
    """The subscription, resource group and account this data dir serves. The first start records them
    (the given names, else the defaults); a later start that names others is refused: in Azure another
    account is another world (its own files, jobs, deployments and evals), so one state must not answer
    under two names. A name not given is the recorded one."""
    with store.tx() as c:
        held: dict[str, str] | None = store.meta(c, "account_names")
        if held is None:
            held = {k: given.get(k) or DEFAULTS[k] for k in ACCOUNT_KEYS}
            store.set_meta(c, "account_names", held)
            return held
    wanted = {k: given.get(k) or held[k] for k in ACCOUNT_KEYS}
    if all(_same(k, wanted[k], held[k]) for k in ACCOUNT_KEYS):
        return held
    raise OtherAccount(f"{data_dir} holds the local Foundry of account {'/'.join(held.values())}, not "
                       f"{'/'.join(wanted.values())}: another account is another world; give it its own dataDir "
                       "(or delete this one to start over)")


class EmulatorServer:
    """An emulator bound to a loopback socket, serving HTTPS until stop()."""

    def __init__(self, data_dir: str | Path, *, host: str = "127.0.0.1", port: int = 0, speed: float = 60.0,
                 subscription: str | None = None, resource_group: str | None = None, account: str | None = None,
                 region: str | None = None, project: str | None = None,
                 accounts: tuple[AccountSpec, ...] = ()) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the emulator listens on loopback only")
        self.data_dir = Path(data_dir).resolve()
        make_state_dir(self.data_dir)
        ca, cert, key = ensure_certificates(self.data_dir)
        store = Store(self.data_dir)
        names = account_names(store, self.data_dir, subscription=subscription, resource_group=resource_group,
                              account=account)
        self.emulator = Emulator(
            store=store, api_key=_api_key(self.data_dir), subscription=names["subscription"],
            resource_group=names["resource_group"], account=names["account"], region=region or DEFAULTS["region"],
            speed=speed,
            principal=Principal.load(self.data_dir))
        self.world = World(self.emulator, self.data_dir, _api_key)
        for spec in accounts:  # more accounts at start (an account of the same settings is kept as it is)
            self.world.add(spec)
        if project is not None:
            if not NAME.fullmatch(project):
                raise ValueError(f"project {project!r}: 2 to 64 letters, digits, '_', '.' or '-'")
            ensure_project(self.emulator.store, project)
        family = socket.AF_INET6 if host == "::1" else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted sockets inherit TCP_NODELAY on Linux: without it, a response written in two
        # segments waits on the client's delayed ACK (about 40 ms a request).
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock.bind((host, port))
        self._sock.listen(1024)  # connections queue from now on, before uvicorn starts accepting
        self.port = self._sock.getsockname()[1]
        config = uvicorn.Config(build_world_app(self.world), ssl_certfile=str(cert), ssl_keyfile=str(key),
                                log_level="critical", access_log=False, lifespan="off", timeout_keep_alive=30,
                                limit_concurrency=1000, date_header=False,
                                timeout_graceful_shutdown=2)
        self._server = uvicorn.Server(config)
        self._base = f"https://{'localhost' if host != '::1' else '[::1]'}:{self.port}"
        self._ca, self._project = str(ca), project
        self.connection = self._connection()
        self.world.on_change = self._account_added
        self._thread: threading.Thread | None = None
        logging.getLogger("uvicorn.error").setLevel(logging.CRITICAL)

    def _connection(self) -> Connection:
        base, e = self._base, self.emulator
        accounts = tuple(AccountConnection(account=a.account, endpoint=f"{base}{a.path_prefix}/openai/v1",
                                           api_key=a.api_key, region=a.region, subscription=a.subscription,
                                           resource_group=a.resource_group, tenant=a.tenant)
                         for a in self.world.accounts())
        connection = Connection(endpoint=f"{base}/openai/v1", arm_endpoint=base, subscription=e.subscription,
                                resource_group=e.resource_group, account=e.account, api_key=e.api_key,
                                ca_cert=self._ca, region=e.region, identity_endpoint=f"{base}{TOKEN_PATH}",
                                identity_header=e.principal.header if e.principal else "",
                                project_endpoint=f"{base}{PREFIX}{self._project}" if self._project else "",
                                accounts=accounts)
        path = self.data_dir / "connection.json"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(connection.to_json() + "\n")
        return connection

    def _account_added(self) -> None:
        """connection.json names every account: rewritten when one is added through the admin API."""
        self.connection = self._connection()

    def add_account(self, spec: AccountSpec) -> Connection:
        """Add an account (or keep the same one) and return its connection."""
        self.world.add(spec)
        self.connection = self._connection()
        return self.connection.for_account(spec.name)

    def serve_forever(self) -> None:
        asyncio.run(self._server.serve(sockets=[self._sock]))

    def start(self) -> EmulatorServer:
        self._thread = threading.Thread(target=self.serve_forever, name="ftops-emulator", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the emulator did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        for account in self.world.accounts():  # runs being graded end now (they read as failed), with their jails
            _grading.stop(account)
        self._server.should_exit = True
        self._server.force_exit = True  # do not wait for clients' idle keep-alive connections
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._sock.close()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class AdminClient:
    """A client of the admin API (time, faults, limits, job failures), for tests and the CLI."""

    def __init__(self, connection: Connection) -> None:
        import httpx  # the admin API's client; the server itself does not need it (start-up time)

        # An account's admin API is under its data plane's root (an added account's under /accounts/<name>).
        suffix = "/openai/v1"
        root = connection.endpoint[:-len(suffix)] if connection.endpoint.endswith(suffix) else connection.arm_endpoint
        self._http: httpx.Client = httpx.Client(base_url=f"{root}/_emulator",
                                  verify=ssl.create_default_context(cafile=connection.ca_cert),
                                  headers={"Authorization": f"Bearer {connection.api_key}"}, timeout=30)

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = self._http.post(path, json=body)
        r.raise_for_status()
        data: dict[str, Any] = r.json()
        return data

    def state(self) -> dict[str, Any]:
        r = self._http.get("/state")
        r.raise_for_status()
        data: dict[str, Any] = r.json()
        return data

    def advance(self, seconds: float = 0, days: float = 0) -> dict[str, Any]:
        return self._post("/clock/advance", {"seconds": seconds, "days": days})

    def faults(self, rate: float = 0.0, kinds: list[str] | None = None, seed: int = 0, latency_ms: float = 0,
               scope: str = "all", retry_after: int = 1, outage_s: float = 0, hang_ms: float | None = None,
               only: list[str] | None = None) -> dict[str, Any]:
        """Inject faults; `outage_s` drops every request for that many real seconds from now, `hang_ms`
        is how long a `hang` holds a request (default a minute), `only` limits faults to requests whose
        "METHOD /path" contains one of its strings."""
        body: dict[str, Any] = {"rate": rate, "seed": seed, "latency_ms": latency_ms, "scope": scope,
                                "retry_after": retry_after, "outage_s": outage_s}
        if hang_ms is not None:
            body["hang_ms"] = hang_ms
        if only:
            body["only"] = only
        if kinds is not None:
            body["kinds"] = kinds
        return self._post("/faults", body)

    def clear_faults(self) -> dict[str, Any]:
        return self._post("/faults", {})

    def quirks(self, **quirks: bool) -> dict[str, Any]:
        return self._post("/quirks", quirks)

    def limits(self, **limits: int) -> dict[str, Any]:
        return self._post("/limits", limits)

    def fidelity(self, **settings: float) -> dict[str, Any]:
        """Azure behaviours with a size: not_ready_seconds (inference after a deployment write), arm_page_size."""
        return self._post("/fidelity", settings)

    def model_lifecycle(self, model: str, **change: Any) -> dict[str, Any]:
        """Set a base model's lifecycleStatus and fineTune/inference retirement dates (ISO 8601), or withdraw it
        (`offered=False`); an unknown model with `methods` (and optionally name, version, format) is added."""
        return self._post("/models", {"model": model, **change})

    def fail_job(self, job_id: str | None = None, **rule: Any) -> dict[str, Any]:
        return self._post("/jobs/fail", {"job_id": job_id, **rule} if job_id else rule)

    def eval_fault(self, mode: str, **rule: Any) -> dict[str, Any]:
        """Make later eval runs fail, run slow or be cancelled: mode fail|slow|cancel, matched by model,
        eval_id, name or metadata; `at` (fraction done), `factor` (slow), `times` (how many runs)."""
        return self._post("/evals/faults", {"mode": mode, **rule})

    def clear_eval_faults(self) -> dict[str, Any]:
        return self._post("/evals/faults", {})

    def identity(self, **settings: Any) -> dict[str, Any]:
        """The managed identity's role, token_lifetime (seconds), audience (every token's, to test a wrong
        one; a dict: per resource asked for; None: the resource asked for) and permissions_api (False: the
        permissions API refuses)."""
        return self._post("/identity", settings)

    def eval_limits(self, **limits: float) -> dict[str, Any]:
        """python_timeout_seconds, python_memory_mb for python graders."""
        return self._post("/evals/limits", limits)

    def accounts(self) -> list[dict[str, Any]]:
        r = self._http.get("/accounts")
        r.raise_for_status()
        found: list[dict[str, Any]] = r.json()["accounts"]
        return found

    def add_account(self, name: str, region: str, *, subscription: str | None = None,
                    resource_group: str | None = None, tenant: str | None = None,
                    authorized: bool = True) -> dict[str, Any]:
        """Add an account to this local Foundry (its own state, key, data plane under /accounts/<name>); the
        server's connection.json then names it (`Connection.for_account`)."""
        return self._post("/accounts", {"name": name, "region": region, "subscription": subscription,
                                        "resource_group": resource_group, "tenant": tenant, "authorized": authorized})

    def fail_copies(self, *destinations: str) -> dict[str, Any]:
        """Copies from this account to these accounts (names) end Failed; none given: copies succeed again."""
        return self._post("/copies/fail", {"destinations": list(destinations)})

    def close(self) -> None:
        self._http.close()
