"""A run over several Foundry accounts: every chosen Foundry document connected at once, each account's listings
starting to load as soon as it is connected; `_fleet_plans` reads and plans them wave by wave.

The accounts of one wave are independent of each other, so their reads and plans overlap on threads (each
mostly waits on its Foundry); a later wave waits for the upstream of the earlier ones. Deciding stays the pure
planner's: this module only orders, fetches and merges.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import TypeVar

from .._exceptions import FtopsError, ValidationFailed
from ..checks import CheckedAccounts
from ..foundry import FoundryClient, Launcher, at_once, connect, start_reading
from ..spec import Project, account_waves, require_connection
from ._connect import Session

T = TypeVar("T")


@dataclass
class FleetAccount:
    """One Foundry document of the run: its name, region and session."""

    foundry: str
    region: str
    session: Session

    @property
    def client(self) -> FoundryClient:
        return self.session.client


@dataclass
class Fleet:
    """The connected accounts of a run (by Foundry name) and the waves they are planned and applied in;
    `read_only`: those of them read for what they offer the chosen ones only (`CheckedAccounts.read_only`)."""

    project: Project
    accounts: dict[str, FleetAccount]
    waves: list[list[str]]
    read_only: frozenset[str] = frozenset()

    @property
    def chosen(self) -> list[str]:
        """The accounts the run shows, saves and applies."""
        return [n for n in self.accounts if n not in self.read_only]

    @property
    def several(self) -> bool:
        """More than one chosen account: the output is grouped by account (one account prints as before)."""
        return len(self.chosen) > 1


def chosen_waves(project: Project, chosen: Sequence[str]) -> list[list[str]]:
    """`account_waves` of the chosen accounts only (an empty wave left out); order kept."""
    waves = [[n for n in wave if n in chosen] for wave in account_waves(project)]
    return [w for w in waves if w]


def for_each(names: Sequence[str], fn: Callable[[str], T], *, stop: threading.Event | None = None,
             grace: float = 0.0) -> dict[str, T]:
    """`fn(name)` for every name at once (one thread each: the calls wait on Foundry), by name; the first error
    by name order once all ended. One name runs on this thread. Ctrl-C sets `stop` (when given) and waits up to
    `grace` seconds for the calls to end before it is raised: see `at_once`."""
    if len(names) == 1:
        return {names[0]: fn(names[0])}
    results = at_once(*(lambda n=n: _naming(n, fn) for n in names), stop=stop, grace=grace)
    return dict(zip(names, results, strict=True))


def _naming(name: str, fn: Callable[[str], T]) -> T:
    """`fn(name)`, whose error names Foundry `name`: with several accounts, which one failed is the first thing
    to know (`error: Foundry prod: cannot reach ...`)."""
    try:
        return fn(name)
    except ValidationFailed:
        raise  # its problems carry their file:line
    except FtopsError as e:
        if not e.message.startswith(f"Foundry {name}:"):
            e.message = f"Foundry {name}: {e.message}"
            e.args = (e.message,)
        raise


@contextmanager
def open_fleet(checked: CheckedAccounts, launcher: Launcher | None = None) -> Iterator[Fleet]:
    """Connect to every chosen account at once (the local Foundry's accounts through `launcher`)."""
    project = checked.project
    for one in checked.accounts.values():
        require_connection(one.project)  # unset ${VAR}s: fine for validate, an error to connect
    names = list(checked.accounts)
    with ExitStack() as stack:
        def connected(name: str) -> FoundryClient:
            spec = project.foundries[name].spec
            client = connect(spec, project.root, launcher=launcher)
            stack.callback(client.close)
            start_reading(client)  # the listings load while the command loads its planner (`_fleet_plans`)
            return client

        clients = for_each(names, connected)
        accounts = {n: FleetAccount(n, project.foundries[n].spec.region, Session(checked.accounts[n], clients[n]))
                    for n in names}
        yield Fleet(project, accounts, chosen_waves(project, names), checked.read_only)
