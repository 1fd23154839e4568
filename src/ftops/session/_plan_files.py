"""Plan files: a plan saved as versioned JSON (written atomically), and read back validated as a whole."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from .._exceptions import FtopsError
from ..plan import FORMAT_VERSION, Plan

MAX_PLAN_BYTES = 64 * 1024 * 1024
MAX_ACCOUNTS = 1000  # plans in one file of a run over several accounts


def _write(data: dict[str, Any], path: str | Path) -> None:
    """`data` as JSON, written atomically."""
    target = Path(path)
    if target.exists() and not target.is_file():  # a directory, a device (/dev/full), a fifo: never replace it
        raise FtopsError("cannot write the plan file: it exists and is not a regular file", path=path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        with os.fdopen(fd, "wb") as f:
            f.write(orjson.dumps(data, option=orjson.OPT_INDENT_2))
        os.replace(tmp, target)
    except OSError as e:
        raise FtopsError(f"cannot write the plan file: {e.strerror or e}", path=path) from e


def save_plan_files(plans: list[Plan], path: str | Path) -> None:
    """The plans of a run over several accounts in one file: `{"format_version", "foundries": [<a plan, as a
    one-account file holds it>, ...]}`. A one-account run's file stays a plan (`save_plan_file`)."""
    _write({"format_version": FORMAT_VERSION, "foundries": [p.to_dict() for p in plans]}, path)


def save_plan_file(plan: Plan, path: str | Path) -> None:
    """Write the plan as versioned JSON, atomically."""
    _write(plan.to_dict(), path)


def load_plan_file(path: str | Path) -> Plan:
    """Read and validate a one-account plan file's schema; one line for whatever is wrong with it."""
    plans = load_plans(path)
    if len(plans) > 1:
        raise FtopsError(f"the plan file holds the plans of several Foundry accounts "
                         f"({', '.join(p.foundry for p in plans)}); apply it whole", path=path)
    return plans[0]


def load_plans(path: str | Path) -> list[Plan]:
    """A plan file's plans: one, or one per account (`save_plan_files`), each validated whole, the accounts
    distinct and of one spec directory; one line for whatever is wrong."""
    data = _read(path)
    if "foundries" not in data:
        return [_plan(data, path, "")]
    found = data["foundries"]
    if not isinstance(found, list) or not 2 <= len(found) <= MAX_ACCOUNTS:
        raise FtopsError(f"plan file is malformed at foundries: a list of 2 to {MAX_ACCOUNTS} plans", path=path)
    plans = [_plan(d, path, f"foundries.{i}.") for i, d in enumerate(found)]
    names = [p.foundry for p in plans]
    if "" in names or len(set(names)) != len(names) or len({p.spec_dir for p in plans}) != 1:
        raise FtopsError("plan file is malformed at foundries: each plan must name its own Foundry, all of one "
                         "spec directory", path=path)
    return plans


def _read(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    try:
        if p.stat().st_size > MAX_PLAN_BYTES:
            raise FtopsError(f"not a plan file (larger than {MAX_PLAN_BYTES // 2**20} MiB)", path=path)
        data = orjson.loads(p.read_bytes())
    except OSError as e:
        raise FtopsError(f"cannot read plan file: {e.strerror or e}", path=path) from e
    except orjson.JSONDecodeError as e:
        raise FtopsError(f"not a plan file (invalid JSON: {e.msg})", path=path) from e
    if not isinstance(data, dict) or "format_version" not in data:
        raise FtopsError("not a plan file (no format_version)", path=path)
    if data.get("format_version") != FORMAT_VERSION:
        raise FtopsError(f"plan file has format_version {repr(data.get('format_version'))[:40]}; this ftops reads "
                         f"{FORMAT_VERSION} (plan again with this version)", path=path)
    return data


def _plan(data: Any, path: str | Path, prefix: str) -> Plan:
    if not isinstance(data, dict):
        raise FtopsError(f"plan file is malformed at {prefix.rstrip('.') or 'top level'}: not an object", path=path)
    try:
        return Plan.from_dict(data)
    except ValidationError as e:
        first = e.errors()[0]
        where = prefix + ".".join(str(x) for x in first["loc"][:4])
        raise FtopsError(f"plan file is malformed at {where or 'top level'}: {first['msg']} "
                         f"({e.error_count()} problem(s))", path=path) from None
