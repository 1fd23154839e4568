"""`ftops emulator`: serve the local Foundry; subcommands drive a running one (time, faults, failures)."""

from __future__ import annotations

import contextlib
import math
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import typer

from ... import FtopsError, UsageError
from .._output import err, out

if TYPE_CHECKING:  # the server stack (uvicorn, starlette, httpx) loads only when an emulator command runs
    import httpx

    from ...emulator import AdminClient

DATA_DIR = Path(".ftops/emulator")
FAULT_KINDS = ("429", "500", "503", "drop", "drop_before")
MAX_ADVANCE_DAYS = 3650.0  # ten years: past every rule the emulator models
# Azure's role names the local Foundry's identity can hold (ftops.emulator._rbac has their definitions).
ROLES = ("Azure AI Owner", "Azure AI User", "Cognitive Services OpenAI Contributor", "Cognitive Services OpenAI User")


def _state_errors() -> tuple[type[Exception], ...]:
    """What a damaged state directory raises while the emulator opens it (SQLite, files, certificates)."""
    import httpx

    return (OSError, sqlite3.Error, ValueError, RuntimeError, httpx.HTTPError)


def _default_data_dir() -> Path:
    """The nearest `.ftops/emulator` holding state, from the current directory upward (so that running
    from `specs/` finds the project's local Foundry rather than making a second one)."""
    here = Path.cwd()
    for d in (here, *here.parents):
        if (d / DATA_DIR / "state.sqlite3").is_file():
            return d / DATA_DIR
    return here / DATA_DIR


def _number(name: str, value: float, low: float, high: float) -> float:
    if not math.isfinite(value) or not low <= value <= high:
        raise UsageError(f"--{name} must be a number from {low:g} to {high:g} (got {value!r})")
    return value


@contextlib.contextmanager
def _admin(data_dir: Path | None) -> Iterator[AdminClient]:
    """An admin client on the data dir's state. A short-lived server of our own serves it: state is
    shared through SQLite, so this works whether or not another emulator is running on that dir."""
    import httpx

    from ...emulator import AdminClient, EmulatorServer

    state_errors = _state_errors()
    data_dir = data_dir if data_dir is not None else _default_data_dir()
    if not (data_dir / "state.sqlite3").is_file():
        raise UsageError(f"no local Foundry state in {data_dir} (run `ftops apply` on a local: true spec, "
                         "or `ftops emulator`, first)")
    try:
        server = EmulatorServer(data_dir).start()
    except state_errors as e:
        raise _damaged(data_dir, e) from e
    try:
        client = AdminClient(server.connection)  # reads the CA certificate of the state dir
    except state_errors as e:
        server.stop()
        raise _damaged(data_dir, e) from e
    try:
        yield client
    except httpx.HTTPStatusError as e:
        raise FtopsError(f"the local Foundry refused: HTTP {e.response.status_code}: {_reason(e.response)}") from e
    except state_errors as e:
        raise FtopsError(f"the local Foundry in {data_dir} failed ({type(e).__name__}: {e})") from e
    finally:
        client.close()
        server.stop()


def _damaged(data_dir: Path, e: Exception) -> FtopsError:
    return FtopsError(f"cannot open the local Foundry state in {data_dir} ({type(e).__name__}: {e}); "
                      "remove the directory to start afresh")


def _reason(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase
    return str(body.get("error", body)) if isinstance(body, dict) else str(body)


def _identity_change(role: str | None, token_lifetime: float | None, audience: str | None) -> dict[str, Any]:
    change: dict[str, Any] = {}
    if role is not None:
        change["role"] = role
    if token_lifetime is not None:
        change["token_lifetime"] = _number("token-lifetime", token_lifetime, 1, 604800)
    if audience is not None:
        change["audience"] = audience or None  # "" goes back to the resource asked for
    return change


def _set_identity(server: Any, change: dict[str, Any]) -> None:
    from ...emulator import identity_settings

    problem = identity_settings(server.emulator.store, change)
    if problem:
        raise UsageError(problem)


DATA_DIR_HELP = "State directory of the local Foundry (default: the nearest .ftops/emulator upward)."


def _fault_kinds(kinds: str) -> list[str]:
    found = [k.strip() for k in kinds.split(",") if k.strip()]
    unknown = [k for k in found if k not in FAULT_KINDS]
    if unknown:
        raise UsageError(f"--kinds: unknown fault kind(s) {', '.join(repr(k[:20]) for k in unknown[:5])} "
                         f"(known: {', '.join(FAULT_KINDS)})")
    return found


def _print(data: Any) -> None:
    out.print(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode(), markup=False)


def register(app: typer.Typer) -> None:
    emu = typer.Typer(help="Serve the local Foundry (HTTPS on loopback), or drive a running one.",
                      invoke_without_command=True, no_args_is_help=False)
    app.add_typer(emu, name="emulator")

    @emu.callback(invoke_without_command=True)
    def serve(
        ctx: typer.Context,
        host: str = typer.Option("127.0.0.1", help="Loopback address to listen on."),
        port: int = typer.Option(0, help="Port (0 picks a free one; connection.json tells which)."),
        data_dir: Path = typer.Option(DATA_DIR, help="State, TLS certificates and connection.json."),
        speed: float = typer.Option(60.0, help="Emulated seconds per real second for training and deployments."),
        subscription: str = typer.Option(None, help="ARM subscription id the account answers to."),
        resource_group: str = typer.Option(None, help="ARM resource group."),
        account: str = typer.Option(None, help="ARM account (Foundry resource) name."),
        region: str = typer.Option(None, help="Region of the account."),
        project: str = typer.Option(None, help="A Foundry project to create (its endpoint is in the connection "
                                               "JSON as project_endpoint)."),
        fault_rate: float = typer.Option(0.0, help="Share of API requests that get an injected fault."),
        fault_kinds: str = typer.Option("429,500,503,drop", help="Comma list of 429,500,503,drop,drop_before."),
        fault_seed: int = typer.Option(0, help="Seed that makes injected faults repeatable."),
        latency_ms: float = typer.Option(0.0, help="Latency added to every API request."),
        role: str = typer.Option(None, help="Role of its managed identity (default Azure AI Owner): "
                                            f"{', '.join(ROLES)}."),
        token_lifetime: float = typer.Option(None, help="Seconds its Entra ID tokens live (default 3600)."),
    ) -> None:
        """Serve until Ctrl-C. Prints the connection JSON on one line (also in DATA_DIR/connection.json)."""
        from .._local import require_local_foundry

        require_local_foundry()  # every subcommand too: each runs a local Foundry of its own
        if ctx.invoked_subcommand is not None:
            return
        from ...emulator import EmulatorServer

        _number("speed", speed, 1e-6, 1e9)
        _number("fault-rate", fault_rate, 0, 1)
        _number("latency-ms", latency_ms, 0, 600_000)
        if not 0 <= port <= 65535:
            raise UsageError(f"--port must be from 0 to 65535 (got {port})")
        kinds = _fault_kinds(fault_kinds)
        try:
            server = EmulatorServer(data_dir, host=host, port=port, speed=speed, subscription=subscription,
                                    resource_group=resource_group, account=account, region=region,
                                    project=project)
        except _state_errors() as e:
            raise UsageError(f"cannot start the emulator: {e}") from e
        faults = {"rate": fault_rate, "kinds": kinds, "seed": fault_seed,
                  "latency_ms": latency_ms} if fault_rate or latency_ms else {}
        with server.emulator.store.tx() as c:
            server.emulator.store.set_meta(c, "faults", faults)
        if role is not None or token_lifetime is not None:
            _set_identity(server, _identity_change(role, token_lifetime, None))
        out.print(server.connection.to_json(), markup=False)
        err.print(f"local Foundry listening on {server.connection.arm_endpoint} (Ctrl-C to stop)", markup=False)
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()

    @emu.command()
    def state(data_dir: Path = typer.Option(None, help=DATA_DIR_HELP)) -> None:
        """Counts, clock, faults, limits and recent deletions of a running emulator."""
        with _admin(data_dir) as admin:
            _print(admin.state())

    @emu.command()
    def advance(days: float = typer.Option(0.0), seconds: float = typer.Option(0.0),
                data_dir: Path = typer.Option(None, help=DATA_DIR_HELP)) -> None:
        """Move the emulator's clock forward (e.g. --days 16 to trigger the inactivity deletion)."""
        _number("days", days, 0, MAX_ADVANCE_DAYS)
        _number("seconds", seconds, 0, MAX_ADVANCE_DAYS * 86400)
        with _admin(data_dir) as admin:
            _print(admin.advance(seconds=seconds, days=days))

    @emu.command()
    def faults(rate: float = typer.Option(0.0), kinds: str = typer.Option("429,500,503,drop"),
               seed: int = typer.Option(0), latency_ms: float = typer.Option(0.0),
               data_dir: Path = typer.Option(None, help=DATA_DIR_HELP)) -> None:
        """Set fault injection on a running emulator (rate 0 and latency 0 turn it off)."""
        kind_list = _fault_kinds(kinds)
        _number("rate", rate, 0, 1)
        _number("latency-ms", latency_ms, 0, 600_000)
        with _admin(data_dir) as admin:
            _print(admin.faults(rate=rate, kinds=kind_list, seed=seed, latency_ms=latency_ms))

    @emu.command("fail-job")
    def fail_job(job_id: str = typer.Option(None, help="Fail this job now."),
                 suffix: str = typer.Option(None, help="Fail future jobs with this suffix."),
                 kind: str = typer.Option("fail", help="How future jobs go wrong: fail, or diverge (they train "
                                                       "with a validation loss rising from its first evaluation)."),
                 message: str = typer.Option(None), data_dir: Path = typer.Option(None, help=DATA_DIR_HELP)) -> None:
        """Make a job fail, now (--job-id) or when a matching job is created (--suffix, --kind)."""
        from ...emulator import JOB_FAULT_KINDS

        if not job_id and not suffix:
            raise UsageError("give --job-id or --suffix")
        if kind not in JOB_FAULT_KINDS:
            raise UsageError(f"--kind must be one of {', '.join(JOB_FAULT_KINDS)} (got {kind!r})")
        if job_id and kind != "fail":
            raise UsageError("--kind applies to future jobs (--suffix); --job-id fails a job now")
        with _admin(data_dir) as admin:
            _print(admin.fail_job(job_id, suffix=suffix, message=message, kind=kind))

    @emu.command()
    def identity(role: str = typer.Option(None, help=f"Azure role of the identity: {', '.join(ROLES)}."),
                 token_lifetime: float = typer.Option(None, help="Seconds each new token lives."),
                 audience: str = typer.Option(None, help="Give every new token this audience (to test a "
                                                         "wrong one); '' restores the resource asked for."),
                 data_dir: Path = typer.Option(None, help=DATA_DIR_HELP)) -> None:
        """The managed identity the local Foundry plays (Entra ID): its role and its tokens' lifetime.

        Clients get its tokens with IDENTITY_ENDPOINT and IDENTITY_HEADER set to the values in
        connection.json (azure-identity's DefaultAzureCredential does). Prints the settings and counts.
        """
        change = _identity_change(role, token_lifetime, audience)
        with _admin(data_dir) as admin:
            _print(admin.identity(**change))
