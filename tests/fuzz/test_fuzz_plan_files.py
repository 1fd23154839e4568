"""Plan files, random and tampered: `ftops apply FILE --auto-approve` refuses with one line and
changes nothing, or applies a plan that still validates as a whole; never a traceback.

A plan file is an approval, not a program: a well-formed plan that is not what ftops decides for the
specs and the live state (one decisive field of one action edited, an action appended or dropped, a
dependency moved) is refused whole, before any change.

Uses the local Foundry (a project with `local: true`): real plans are made once (against an empty
account, and against an applied one), each example tampers with a copy and runs against a copy of the
project and its local state."""

from __future__ import annotations

import copy
import json
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from ftops.emulator import AdminClient, EmulatorServer
from ftops.plan import Plan

from ._harness import assert_contract, run_cli, write_project
from .strategies import VALUES, decisive, replaced_value, unapproved_plan

FEW = max(3, settings().max_examples // 4)  # each example may start the local Foundry


@pytest.fixture(scope="module")
def planned() -> Iterator[Path]:
    """A local project with a saved plan (plan.json) and the local state it was made against."""
    with tempfile.TemporaryDirectory() as tmp:
        root = write_project(Path(tmp))
        code, _out, err = run_cli("plan", "specs", "--out", "plan.json", where=root)
        assert code == 0, err
        yield root


@pytest.fixture(scope="module")
def applied() -> Iterator[Path]:
    """A local project applied once (jobs run to the end), with a saved plan that changes the deployment's
    capacity: no-ops that carry live ids and models, and a rollout."""
    with tempfile.TemporaryDirectory() as tmp:
        root = write_project(Path(tmp))
        code, _out, err = run_cli("apply", "specs", "--auto-approve", "--wait", where=root)
        assert code == 0, err
        spec = root / "specs" / "main.yaml"
        spec.write_text(spec.read_text().replace("capacity: 50", "capacity: 60"))
        code, _out, err = run_cli("plan", "specs", "--out", "plan.json", where=root)
        assert code == 0, err
        yield root


def live_objects(root: Path) -> dict[tuple[str, str], Any]:
    """Every object of the local Foundry with what a change would touch (read from its SQLite state)."""
    db = root / ".ftops" / "emulator" / "state.sqlite3"
    if not db.is_file():
        return {}
    with sqlite3.connect(db) as c:
        rows = c.execute("SELECT kind, id, data FROM objects").fetchall()
    out: dict[tuple[str, str], Any] = {}
    for kind, oid, data in rows:
        d = json.loads(data)
        out[(kind, oid)] = (d.get("status"), d.get("model"), d.get("sku"), d.get("tags"), d.get("metadata"))
    return out


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


def well_formed(plan: dict[str, Any]) -> bool:
    try:
        Plan.from_dict(plan)
    except ValidationError:
        return False
    return True


@settings(max_examples=FEW)
@given(st.data())
def test_a_plan_that_is_not_the_fresh_decision_is_refused_and_changes_nothing(
        planned: Path, applied: Path, data: st.DataObject) -> None:
    base = data.draw(st.sampled_from([planned, applied]), label="base")
    original = json.loads((base / "plan.json").read_text())
    plan = data.draw(unapproved_plan(original), label="plan")
    assume(well_formed(plan))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "p"
        shutil.copytree(base, root)
        (root / "plan.json").write_text(json.dumps(plan))
        before = live_objects(root)
        code, out, err = run_cli("apply", "plan.json", "--auto-approve", where=root)
        assert_contract(code, out, err)
        if decisive(plan) != decisive(original):
            assert code == 1 and len(err.strip().splitlines()) == 1, (code, out, err)
            assert live_objects(root) == before, f"refused ({err.strip()}) but changed the live state"
