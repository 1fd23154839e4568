"""The local Foundry: an HTTPS emulator of the fine-tuning data plane and ARM deployments.

A separate subsystem: it shares no code with `ftops.foundry` beyond the wire protocol, and the
rest of ftops never imports its internals (only `EmulatorServer`/`Connection` to start one for
`local: true`).

The server stack (uvicorn, starlette, cryptography) loads on first use of a name that needs it, so
that `spawn` (the CLI's launcher) costs the CLI nothing but a child process.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Any

from ._connection import Connection
from ._job_faults import JOB_FAULT_KINDS
from ._launch import ChildFoundry, launch, spawn

if TYPE_CHECKING:
    from ._managed_identity import change_settings as identity_settings
    from ._server import DEFAULTS, AdminClient, EmulatorServer

__all__ = ["DEFAULTS", "INSTALL_HINT", "JOB_FAULT_KINDS", "AdminClient", "ChildFoundry", "Connection", "EmulatorServer",
           "identity_settings", "launch", "missing_dependencies", "spawn"]

# The modules of the `local` extra (pyproject.toml), by import name: `pip install ftops` has none of them.
_EXTRA_MODULES = ("starlette", "uvicorn", "multipart", "cryptography", "rapidfuzz", "sacrebleu", "rouge_score",
                  "nltk", "jsonschema")
INSTALL_HINT = "pip install 'ftops[local]'"


def missing_dependencies() -> list[str]:
    """The local Foundry's modules this environment lacks (found without importing them: no cost)."""
    return [m for m in _EXTRA_MODULES if importlib.util.find_spec(m) is None]


def __getattr__(name: str) -> Any:
    if name in ("DEFAULTS", "AdminClient", "EmulatorServer"):
        from . import _server

        return getattr(_server, name)
    if name == "identity_settings":
        from . import _managed_identity

        return _managed_identity.change_settings
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
