"""Start the local Foundry early, in a child process, while this process imports the Azure SDKs.

`ftops plan` on a `local: true` spec spends most of its start-up importing `openai` and the Azure
SDK; the local Foundry's own start-up (uvicorn, starlette, TLS) runs meanwhile on the other core.
FTOPS_LOCAL_FOUNDRY=thread runs it on a thread of this process instead (one process, one core).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from .. import FtopsError
from ..checks import CheckedProject, validate_dir
from ..emulator import INSTALL_HINT, ChildFoundry, launch, missing_dependencies, spawn
from ._escape import terminal
from ._output import err
from ._startup import loading

if TYPE_CHECKING:
    from ..session import Session

MODE_ENV = "FTOPS_LOCAL_FOUNDRY"  # process (default) | thread


class EarlyLauncher:
    """A launcher (see `ftops.foundry.Launcher`) whose local Foundry was started before it was asked for."""

    def __init__(self, checked: CheckedProject) -> None:
        self._started: ChildFoundry | None = None
        foundry = checked.project.foundry
        if foundry is not None and foundry.spec.local:
            require_local_foundry(foundry.path, foundry.line_of("local"))
            s = foundry.spec
            self._started = spawn(checked.project.root / s.data_dir, speed=s.speed, subscription=s.subscription,
                                  resource_group=s.resource_group, account=s.account, region=s.region,
                                  project=s.foundry_project)

    def __call__(self, data_dir: Path, *, speed: float, subscription: str | None, resource_group: str | None,
                 account: str | None, region: str, project: str | None = None) -> ChildFoundry:
        started, self._started = self._started, None
        if started is None or started.args != (data_dir.resolve(), speed, subscription, resource_group, account,
                                               region, project):
            if started is not None:
                started.stop()
            started = spawn(data_dir, speed=speed, subscription=subscription, resource_group=resource_group,
                            account=account, region=region, project=project)
        try:
            started.connection  # noqa: B018 (waits until it serves: a failed start is raised here, as the
            # Launcher protocol's RuntimeError, which connect turns into one line)
        except BaseException:
            started.stop()
            raise
        return started

    def close(self) -> None:
        """Stop the child if nobody took it (the session stops the one it took)."""
        if self._started is not None:
            self._started.stop()
            self._started = None


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


@contextmanager
def session(spec_dir: Path, foundry: str | None = None) -> Iterator[Session]:
    """Validate, start the local Foundry (when the specs say so), then import the SDKs and connect; `foundry`
    chooses one of several Foundry documents (`choose_foundry`)."""
    checked = validate_dir(spec_dir, foundry=foundry, url_auth=storage_auth)
    for w in checked.project.warnings:  # an old spelling: said once, on stderr, by every command
        err.print(terminal(str(w)), markup=False)
    if os.environ.get(MODE_ENV, "process") == "thread":
        chosen = checked.project.foundry
        if chosen is not None and chosen.spec.local:
            require_local_foundry(chosen.path, chosen.line_of("local"))
        with loading():
            from ..session import open_session

        with open_session(spec_dir, foundry=foundry, launcher=launch, checked=checked) as s:
            yield s
        return
    launcher = EarlyLauncher(checked)
    try:
        with loading():  # openai and the Azure SDK load here, beside the child's start-up
            from ..session import open_session

        with open_session(spec_dir, foundry=foundry, launcher=launcher, checked=checked) as s:
            yield s
    finally:
        launcher.close()
