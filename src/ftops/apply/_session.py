"""A session: checked specs plus a connected client; saved plan files and their freshness check."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import orjson

from .._exceptions import FtopsError, StalePlanError
from ..checks import CheckedProject, validate_dir
from ..foundry import FoundryClient, connect
from ..plan import Plan, fingerprint


@dataclass
class Session:
    checked: CheckedProject
    client: FoundryClient


@contextmanager
def open_session(spec_dir: str | Path, root: str | Path | None = None) -> Iterator[Session]:
    """Validate the specs (offline, cached), then connect to the Foundry they name."""
    checked = validate_dir(spec_dir, root)
    foundry = checked.project.foundry
    assert foundry is not None
    client = connect(foundry.spec, checked.project.root)
    try:
        yield Session(checked, client)
    finally:
        client.close()


def save_plan_file(plan: Plan, path: str | Path) -> None:
    """Write the plan as versioned JSON, atomically."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    with os.fdopen(fd, "wb") as f:
        f.write(orjson.dumps(plan.to_dict(), option=orjson.OPT_INDENT_2))
    os.replace(tmp, target)


def load_plan_file(path: str | Path) -> Plan:
    try:
        data = orjson.loads(Path(path).read_bytes())
    except OSError as e:
        raise FtopsError(f"cannot read plan file: {e.strerror}", path=path) from None
    except orjson.JSONDecodeError as e:
        raise FtopsError(f"not a plan file (invalid JSON: {e.msg})", path=path) from None
    if not isinstance(data, dict):
        raise FtopsError("not a plan file", path=path)
    return Plan.from_dict(data)


def check_fresh(plan: Plan, session: Session) -> None:
    """Refuse a plan made against another project, endpoint, or a live state that has changed since."""
    project = session.checked.project.project_name
    if plan.project != project:
        raise StalePlanError(f"the plan is for project {plan.project!r}, the specs are for {project!r}")
    if plan.endpoint != session.client.target:
        raise StalePlanError(f"the plan was made against {plan.endpoint}, not {session.client.target}")
    live = fingerprint(session.client.snapshot(), project)
    if live != plan.fingerprint:
        raise StalePlanError("the live state changed since the plan was made (fingerprint "
                             f"{plan.fingerprint[:12]} -> {live[:12]}); run `ftops plan` again")
