"""Plan files, random and tampered: `ftops apply FILE --auto-approve` refuses with one line and
changes nothing, or applies a plan that still validates as a whole; never a traceback.

Uses the local Foundry (a project with `local: true`): a real plan is made once, each example
tampers with a copy of it and runs against a copy of the project and its local state."""

from __future__ import annotations

import copy
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ftops.emulator import AdminClient, EmulatorServer

from ._harness import assert_contract, run_cli, write_project
from .strategies import VALUES, replaced_value

FEW = max(3, settings().max_examples // 4)  # each example may start the local Foundry


@pytest.fixture(scope="module")
def planned() -> Iterator[Path]:
    """A local project with a saved plan (plan.json) and the local state it was made against."""
    with tempfile.TemporaryDirectory() as tmp:
        root = write_project(Path(tmp))
        code, _out, err = run_cli("plan", "specs", "--out", "plan.json", where=root)
        assert code == 0, err
        yield root


def live_counts(root: Path) -> tuple[int, int, int]:
    state = root / ".ftops" / "emulator"
    if not (state / "state.sqlite3").is_file():
        return (0, 0, 0)
    server = EmulatorServer(state).start()
    admin = AdminClient(server.connection)
    try:
        s = admin.state()
        return (s["files"], s["jobs"], s["deployments"])
    finally:
        admin.close()
        server.stop()


def check_apply(base: Path, plan: Any, raw: bytes | None = None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "p"
        shutil.copytree(base, root)
        target = root / "plan.json"
        target.write_bytes(raw if raw is not None else json.dumps(plan, allow_nan=True).encode())
        before = live_counts(root)
        code, out, err = run_cli("apply", "plan.json", "--auto-approve", where=root)
        assert_contract(code, out, err)
        if code != 0:
            assert live_counts(root) == before, f"refused (exit {code}: {err.strip()}) but changed the live state"


@settings(max_examples=FEW)
@given(VALUES)
def test_random_json_as_a_plan_file(planned: Path, value: Any) -> None:
    check_apply(planned, value)


@settings(max_examples=FEW)
@given(st.binary(max_size=200))
def test_random_bytes_as_a_plan_file(planned: Path, data: bytes) -> None:
    check_apply(planned, None, raw=data)


@settings(max_examples=FEW)
@given(st.data())
def test_tampered_plan_file(planned: Path, data: st.DataObject) -> None:
    plan = json.loads((planned / "plan.json").read_text())
    check_apply(planned, data.draw(replaced_value([copy.deepcopy(plan)]))[0])
