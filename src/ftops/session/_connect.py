"""A session: the checked specs and a client connected to the Foundry they name (the endpoint, the
credential, and the local Foundry the CLI's launcher starts for a `local: true` spec)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..checks import CheckedProject, validate_dir
from ..foundry import FoundryClient, Launcher, connect, storage_headers
from ..spec import require_connection


@dataclass
class Session:
    checked: CheckedProject
    client: FoundryClient


@contextmanager
def open_session(spec_dir: str | Path, root: str | Path | None = None, *, foundry: str | None = None,
                 launcher: Launcher | None = None, checked: CheckedProject | None = None) -> Iterator[Session]:
    """Validate the specs (offline, cached), then connect to the Foundry they name (`foundry`, or the only one).

    `launcher` starts the local Foundry for a `local: true` spec (the CLI passes the emulator's);
    `checked` is `validate_dir(spec_dir, root)` when the caller has validated already.
    """
    checked = checked or validate_dir(spec_dir, root, foundry=foundry, url_auth=storage_headers)
    require_connection(checked.project)  # unset ${VAR}s: fine for validate, an error to connect
    chosen = checked.project.foundry
    assert chosen is not None
    client = connect(chosen.spec, checked.project.root, launcher=launcher)
    try:
        yield Session(checked, client)
    finally:
        client.close()
