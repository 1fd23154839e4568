"""The local Foundry: an HTTPS emulator of the fine-tuning data plane and ARM deployments.

A separate subsystem: it shares no code with `ftops.foundry` beyond the wire protocol, and the
rest of ftops never imports its internals (only `EmulatorServer`/`Connection` to start one for
`local: true`).

The server stack (uvicorn, starlette, cryptography) loads on first use of a name that needs it, so
that `spawn` (the CLI's launcher) costs the CLI nothing but a child process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._connection import Connection
from ._launch import ChildFoundry, launch, spawn

if TYPE_CHECKING:
    from ._server import DEFAULTS, AdminClient, EmulatorServer

__all__ = ["DEFAULTS", "AdminClient", "ChildFoundry", "Connection", "EmulatorServer", "launch", "spawn"]


def __getattr__(name: str) -> Any:
    if name in ("DEFAULTS", "AdminClient", "EmulatorServer"):
        from . import _server

        return getattr(_server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
