"""Start the local Foundry early, in a child process, while this process imports the Azure SDKs.

`ftops plan` on a `local: true` spec spends most of its start-up importing `openai` and the Azure
SDK; the local Foundry's own start-up (uvicorn, starlette, TLS) runs meanwhile on the other core.
FTOPS_LOCAL_FOUNDRY=thread runs it on a thread of this process instead (one process, one core).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from .. import FtopsError
from ..checks import CheckedAccounts, validate_accounts
from ..emulator import INSTALL_HINT, ChildFoundry, launch, missing_dependencies, spawn
from ..spec import FoundrySpec, Project, local_groups
from ._escape import terminal
from ._output import err
from ._startup import loading

if TYPE_CHECKING:
    from ..emulator import AccountSpec, Connection, EmulatorServer
    from ..session import Fleet, Session

    Started = ChildFoundry | EmulatorServer  # a local Foundry this process started: in a child, or on a thread

MODE_ENV = "FTOPS_LOCAL_FOUNDRY"  # process (default) | thread


class _AccountOf:
    """One account of a local Foundry that serves several (see `ftops.foundry.LocalFoundry`): its connection;
    stopping it stops nothing (the launcher stops the local Foundry once every account's session ended)."""

    def __init__(self, started: Started, account: str | None, lock: threading.Lock) -> None:
        self._started, self._account, self._lock = started, account, lock

    @property
    def connection(self) -> Connection:
        with self._lock:  # several sessions connect at once; the child's first line is read once
            first = self._started.connection
        if self._account is None or self._account.lower() == first.account.lower():
            return first  # the primary account: the connection as it is (with its Foundry project)
        return first.for_account(self._account)

    def stop(self) -> None:
        pass


def _added(project: Project, names: list[str]) -> tuple[AccountSpec, ...]:
    """The accounts a local Foundry serves besides its primary one: one per `local: true` document."""
    if not names:
        return ()
    from ..emulator import AccountSpec  # its module loads the server's: only for several accounts

    return tuple(AccountSpec(name=s.account or n, region=s.region, subscription=s.subscription,
                             resource_group=s.resource_group) for n in names for s in (project.foundries[n].spec,))


class EarlyLauncher:
    """A launcher (see `ftops.foundry.Launcher`) whose local Foundries were started before they were asked for:
    one per data directory of the chosen `local: true` documents, serving each of them as an account (the
    group's first document by name is its primary account, `spec.local_groups`)."""

    def __init__(self, project: Project, chosen: list[str], *, in_thread: bool = False) -> None:
        self._lock = threading.Lock()
        self._in_thread = in_thread
        self._started: dict[Path, Started] = {}
        # On a thread, a local Foundry starts when its first account is connected (its errors are then the
        # connection's one line); in a child process, now, so that its start-up overlaps the SDKs' imports.
        self._later: dict[Path, tuple[FoundrySpec, tuple[AccountSpec, ...]]] = {}
        for group in local_groups(project):
            wanted = [n for n in group[1:] if n in chosen]
            if group[0] not in chosen and not wanted:
                continue
            primary = project.foundries[group[0]]
            require_local_foundry(primary.path, primary.line_of("local"))
            data_dir = (project.root / primary.spec.data_dir).resolve()
            self._later[data_dir] = (primary.spec, _added(project, wanted))
            if not in_thread:
                self._start(data_dir)

    def _start(self, data_dir: Path) -> Started:
        s, others = self._later.pop(data_dir)
        start = launch if self._in_thread else spawn
        started: Started = start(data_dir, speed=s.speed, subscription=s.subscription,
                                 resource_group=s.resource_group, account=s.account, region=s.region,
                                 project=s.foundry_project, accounts=others)
        self._started[data_dir] = started
        return started

    def __call__(self, data_dir: Path, *, speed: float, subscription: str | None, resource_group: str | None,
                 account: str | None, region: str, project: str | None = None) -> _AccountOf:
        data_dir = data_dir.resolve()
        with self._lock:
            if data_dir not in self._started and data_dir not in self._later:
                # not a document this launcher was made for: started as asked
                self._later[data_dir] = (FoundrySpec(local=True, speed=speed, subscription=subscription,
                                                     resource_group=resource_group, account=account, region=region,
                                                     foundry_project=project), ())
            started = self._started.get(data_dir) or self._start(data_dir)
        view = _AccountOf(started, account, self._lock)
        view.connection  # noqa: B018 (waits until it serves: a failed start is raised here, as the
        # Launcher protocol's RuntimeError, which connect turns into one line)
        return view

    def close(self) -> None:
        """Stop every local Foundry this launcher started (the sessions' clients stop nothing of them)."""
        started, self._started = list(self._started.values()), {}
        for s in started:
            s.stop()


def require_local_foundry(path: str | None = None, line: int | None = None) -> None:
    """Refuse, in one line, to start a local Foundry that this install cannot run (no `local` extra)."""
    missing = missing_dependencies()
    if missing:
        raise FtopsError(f"the local Foundry is not installed here (missing {', '.join(missing)}): run "
                         f"{INSTALL_HINT}", path=path, line=line)


def storage_auth(url: str) -> dict[str, str]:
    """Headers to read an Azure Blob dataset named without a SAS (an Entra ID token); the Azure SDKs load only
    when such a URL is read, so `validate` of other specs starts as fast as before."""
    from ..foundry import storage_headers

    return storage_headers(url)


def _checked(spec_dir: Path, foundries: list[str], *, one: bool = False) -> CheckedAccounts:
    checked = validate_accounts(spec_dir, foundries, one=one, url_auth=storage_auth)
    for w in checked.project.warnings:  # an old spelling: said once, on stderr, by every command
        err.print(terminal(str(w)), markup=False)
    return checked


@contextmanager
def _launcher(checked: CheckedAccounts) -> Iterator[EarlyLauncher]:
    """The local Foundries of the chosen accounts, started now (in a child process, unless FTOPS_LOCAL_FOUNDRY
    is `thread`), stopped when the run ends."""
    in_thread = os.environ.get(MODE_ENV, "process") == "thread"
    launcher = EarlyLauncher(checked.project, list(checked.accounts), in_thread=in_thread)
    try:
        yield launcher
    finally:
        launcher.close()


@contextmanager
def session(spec_dir: Path, foundry: str | None = None) -> Iterator[Session]:
    """Validate, start the local Foundry (when the specs say so), then import the SDKs and connect; `foundry`
    chooses one of several Foundry documents (`choose_foundry`)."""
    checked = _checked(spec_dir, [foundry] if foundry else [], one=True)
    [one] = checked.accounts.values()
    with _launcher(checked) as launcher:
        with loading():  # openai and the Azure SDK load here, beside the child's start-up
            from ..session import open_session

        with open_session(spec_dir, foundry=foundry, launcher=launcher, checked=one) as s:
            yield s


@contextmanager
def fleet(spec_dir: Path, foundries: list[str]) -> Iterator[Fleet]:
    """`session` for a run over several accounts: the chosen Foundry documents (every one when none is given)
    validated, their local Foundries started, then all connected at once."""
    checked = _checked(spec_dir, foundries)
    with _launcher(checked) as launcher:
        with loading():  # openai and the Azure SDK load here, beside the child's start-up
            from ..session import open_fleet

        with open_fleet(checked, launcher) as f:
            with loading():  # the planner loads here, while the accounts' listings are read (open_fleet)
                from ..session import plan_fleet  # noqa: F401
            yield f
