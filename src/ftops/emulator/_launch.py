"""Start a local Foundry (what `local: true` in a Foundry spec asks for): in-process, or in a child process.

`launch` runs the server on a thread of this process (tests, the library). `spawn` starts it in a child
process so that its imports (uvicorn, starlette, TLS) and start-up run on another core while the CLI
imports the Azure SDKs, and its request handling does not share the CLI's GIL. The child lives exactly
as long as its parent wants it: it serves until its stdin closes, which happens on `stop()` and also
when the parent exits in any way (a crash, kill -9); it ignores Ctrl-C, which the terminal sends to
the whole process group, so the parent can let in-flight requests finish first.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING

from ._connection import Connection
from ._statedir import make_state_dir

if TYPE_CHECKING:
    from ._server import EmulatorServer
    from ._world import AccountSpec

LOG_NAME = "child.log"  # the child's stderr, in its data dir: what to show when it does not start
START_TIMEOUT = 60.0


def launch(data_dir: Path, *, speed: float, subscription: str | None, resource_group: str | None,
           account: str | None, region: str, project: str | None = None,
           accounts: tuple[AccountSpec, ...] = ()) -> EmulatorServer:
    """A started emulator on a free loopback port; its `connection` says how to reach it; `stop()` ends it.
    `accounts`: more accounts it serves besides the first (see _world)."""
    from ._server import EmulatorServer

    return EmulatorServer(data_dir, speed=speed, subscription=subscription, resource_group=resource_group,
                          account=account, region=region, project=project, accounts=accounts).start()


class ChildFoundry:
    """A local Foundry in a child process. `connection` waits until it serves; `stop()` ends it."""

    def __init__(self, data_dir: Path, *, speed: float, subscription: str | None, resource_group: str | None,
                 account: str | None, region: str, project: str | None = None,
                 accounts: tuple[AccountSpec, ...] = ()) -> None:
        self.args = (Path(data_dir).resolve(), speed, subscription, resource_group, account, region, project)
        data_dir = self.args[0]
        make_state_dir(data_dir)
        config = {"data_dir": str(data_dir), "speed": speed, "subscription": subscription,
                  "resource_group": resource_group, "account": account, "region": region, "project": project,
                  "accounts": [dataclasses.asdict(a) for a in accounts]}
        with open(data_dir / LOG_NAME, "wb") as log:
            self._proc: subprocess.Popen[bytes] = subprocess.Popen(
                [sys.executable, "-c", "import gc; gc.disable(); from ftops.emulator._launch import serve_child; "
                 "serve_child()", json.dumps(config)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                close_fds=True)
        self._connection: Connection | None = None

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            self._connection = self._wait_ready()
        return self._connection

    def _wait_ready(self) -> Connection:
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()  # the child writes its connection once it accepts requests
        if not line:
            self._proc.wait(timeout=START_TIMEOUT)
            raise RuntimeError(f"the local Foundry exited with code {self._proc.returncode}: {self._last_log_line()}")
        return Connection.from_json(line)

    def _last_log_line(self) -> str:
        try:
            lines = (self.args[0] / LOG_NAME).read_text(errors="replace").strip().splitlines()
        except OSError:
            lines = []
        return lines[-1] if lines else "no message"

    def stop(self) -> None:
        """Close the child's stdin: it exits at once (every request of ours has been answered by now)."""
        if self._proc.stdin is not None and not self._proc.stdin.closed:
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()


def spawn(data_dir: Path, *, speed: float, subscription: str | None, resource_group: str | None,
          account: str | None, region: str, project: str | None = None,
          accounts: tuple[AccountSpec, ...] = ()) -> ChildFoundry:
    """Start a local Foundry in a child process and return at once (its `connection` waits for it)."""
    return ChildFoundry(data_dir, speed=speed, subscription=subscription, resource_group=resource_group,
                        account=account, region=region, project=project, accounts=accounts)


def serve_child(stdin: IO[bytes] | None = None) -> None:
    """The child's main: serve until stdin closes (the parent stopped us, or exited in any way)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and then closes our stdin
    config = json.loads(sys.argv[1])
    from ._server import EmulatorServer, OtherAccount
    from ._world import AccountSpec

    try:
        server = EmulatorServer(Path(config["data_dir"]), speed=config["speed"], subscription=config["subscription"],
                                resource_group=config["resource_group"], account=config["account"],
                                region=config["region"], project=config.get("project"),
                                accounts=tuple(AccountSpec(**a) for a in config.get("accounts", ()))).start()
    except (OtherAccount, ValueError) as e:  # one line for the parent to show, not a traceback
        sys.stderr.write(f"{e}\n")
        sys.stderr.flush()
        os._exit(1)
    # Started with the cyclic GC off (what loads meanwhile lives as long as the server): now freeze
    # those objects, so collections while serving never scan them, and collect as usual.
    gc.freeze()
    gc.enable()
    sys.stdout.write(server.connection.to_json() + "\n")
    sys.stdout.flush()
    (stdin or sys.stdin.buffer).read()  # blocks until EOF
    # Nothing of the parent's is in flight, and each request's state is one SQLite transaction: exit
    # without uvicorn's graceful shutdown (up to 0.2 s of polling) that nobody would wait for.
    os._exit(0)
