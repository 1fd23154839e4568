"""What `make test-latest` installed that differs from uv.lock: one line per package, newest first read.

Usage: python ci/lockdiff.py uv.lock VENV. Always exits 0 (the differences are findings, not failures;
the test run that follows says whether they matter).
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(lock: Path) -> dict[str, set[str]]:
    """Each package of the lock with its versions (a universal lock can hold several, one per marker)."""
    out: dict[str, set[str]] = {}
    for package in tomllib.loads(lock.read_text("utf-8")).get("package", []):
        if "version" in package:
            out.setdefault(_normal(package["name"]), set()).add(package["version"])
    return out


def installed(venv: Path) -> dict[str, str]:
    """Each distribution installed in `venv`, from its .dist-info directory's name."""
    out: dict[str, str] = {}
    for info in venv.glob("lib/python*/site-packages/*.dist-info"):
        name, _, version = info.name.removesuffix(".dist-info").partition("-")
        out[_normal(name)] = version
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: lockdiff.py LOCKFILE VENV", file=sys.stderr)
        return 1
    lock, now = locked(Path(argv[0])), installed(Path(argv[1]))
    rows = [f"  {name}: locked {', '.join(sorted(lock[name]))}, latest {version}"
            for name, version in sorted(now.items()) if name in lock and version not in lock[name]]
    rows += [f"  {name}: not in the lock, latest {version}" for name, version in sorted(now.items())
             if name not in lock and name not in ("pip", "uv", "setuptools", "ftops")]
    if rows:
        print(f"{len(rows)} package(s) differ from uv.lock (the run below tests these):")
        print("\n".join(rows))
    else:
        print("The newest allowed versions are the locked ones.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
