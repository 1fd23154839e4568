"""Plan files: a plan saved as versioned JSON (written atomically), and read back validated as a whole."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import orjson
from pydantic import ValidationError

from .._exceptions import FtopsError
from ..plan import FORMAT_VERSION, Plan

MAX_PLAN_BYTES = 64 * 1024 * 1024


def save_plan_file(plan: Plan, path: str | Path) -> None:
    """Write the plan as versioned JSON, atomically."""
    target = Path(path)
    if target.exists() and not target.is_file():  # a directory, a device (/dev/full), a fifo: never replace it
        raise FtopsError("cannot write the plan file: it exists and is not a regular file", path=path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        with os.fdopen(fd, "wb") as f:
            f.write(orjson.dumps(plan.to_dict(), option=orjson.OPT_INDENT_2))
        os.replace(tmp, target)
    except OSError as e:
        raise FtopsError(f"cannot write the plan file: {e.strerror or e}", path=path) from e


def load_plan_file(path: str | Path) -> Plan:
    """Read and validate a plan file's schema; one line for whatever is wrong with it."""
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
    try:
        return Plan.from_dict(data)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(x) for x in first["loc"][:4])
        raise FtopsError(f"plan file is malformed at {where or 'top level'}: {first['msg']} "
                         f"({e.error_count()} problem(s))", path=path) from None
