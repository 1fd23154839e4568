"""Damaged local state (the local Foundry's data directory): the emulator's admin commands answer
with one line, never a traceback; `ftops plan` on a local project too (see the regression below)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ftops.emulator import EmulatorServer

from ._harness import assert_contract, run_cli, write_project

FEW = max(3, settings().max_examples // 4)  # each example starts the local Foundry
STATE_FILES = ["state.sqlite3", "api-key", "identity.json", "connection.json", "tls/ca.pem", "tls/server.pem",
               "tls/server-key.pem"]


@pytest.fixture(scope="module")
def state() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as tmp:
        EmulatorServer(Path(tmp) / "emu").start().stop()
        yield Path(tmp) / "emu"


@settings(max_examples=FEW)
@given(st.sampled_from(STATE_FILES), st.one_of(st.binary(max_size=64), st.sampled_from([b"", b"{", b"null"])),
       st.booleans())
def test_admin_commands_on_damaged_state(state: Path, name: str, content: bytes, as_directory: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        damaged = Path(tmp) / "emu"
        shutil.copytree(state, damaged)
        target = damaged / name
        target.unlink()
        if as_directory:
            target.mkdir()
        else:
            target.write_bytes(content)
        code, out, err = run_cli("emulator", "state", "--data-dir", str(damaged))
        assert_contract(code, out, err, max_lines=1)


def test_plan_on_a_local_project_with_a_corrupt_state_database_is_one_line() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = write_project(Path(tmp), files={".ftops/emulator/state.sqlite3": b"garbage"})
        code, out, err = run_cli("plan", "specs", where=root)
        assert_contract(code, out, err, max_lines=1)
        assert code == 1


def test_a_damaged_server_certificate_prints_no_thread_traceback(state: Path) -> None:
    """The local Foundry's server thread dies on the certificate; only the main thread's line shows."""
    with tempfile.TemporaryDirectory() as tmp:
        damaged = Path(tmp) / "emu"
        shutil.copytree(state, damaged)
        (damaged / "tls" / "server.pem").write_text("junk\n")
        r = subprocess.run([sys.executable, "-m", "ftops", "emulator", "state", "--data-dir", str(damaged)],
                           capture_output=True, text=True, timeout=120, cwd=tmp)
        assert r.returncode == 1 and "Traceback" not in r.stderr
        assert r.stderr.startswith("error: cannot open the local Foundry state in") and r.stderr.count("\n") == 1
