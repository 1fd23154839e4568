"""The local Foundry: an HTTPS emulator of the fine-tuning data plane and ARM deployments.

A separate subsystem: it shares no code with `ftops.foundry` beyond the wire protocol, and the
rest of ftops never imports its internals (only `EmulatorServer`/`Connection` to start one for
`local: true`).
"""

from ._launch import launch
from ._server import DEFAULTS, AdminClient, Connection, EmulatorServer

__all__ = ["DEFAULTS", "AdminClient", "Connection", "EmulatorServer", "launch"]
