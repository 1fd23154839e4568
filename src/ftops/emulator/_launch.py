"""`launch`: start a local Foundry in-process (what `local: true` in a Foundry spec asks for)."""

from __future__ import annotations

from pathlib import Path

from ._server import EmulatorServer


def launch(data_dir: Path, *, speed: float, subscription: str | None, resource_group: str | None,
           account: str | None, region: str) -> EmulatorServer:
    """A started emulator on a free loopback port; its `connection` says how to reach it; `stop()` ends it."""
    return EmulatorServer(data_dir, speed=speed, subscription=subscription, resource_group=resource_group,
                          account=account, region=region).start()
