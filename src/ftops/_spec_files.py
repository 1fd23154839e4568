"""Where a spec directory's files are, and their bounds: one definition for the spec loader (`spec._project`)
and for `validate`'s read-ahead (`datasets._named`), which finds the data files the specs name before the spec
models load and must find them exactly as the loader does."""

from __future__ import annotations

import os
from pathlib import Path

MAX_SPEC_BYTES = 1 << 20  # one spec file; specs are small, a bigger file is a mistake or an attack
MAX_SPEC_FILES = 2_000


def find_root(spec_dir: str | Path) -> Path:
    """The project root: the nearest directory holding `.git`, from the spec directory upward (the
    repository the specs live in), else the spec directory's parent. Never the current directory:
    where ftops runs from must not change what a dataset path may reach or where local state lives."""
    sdir = Path(spec_dir).resolve()
    for d in (sdir, *sdir.parents):
        if (d / ".git").exists():
            return d
    return sdir.parent


def spec_files(spec_dir: Path) -> list[Path]:
    """The spec files under `spec_dir` (*.yaml and *.yml; dot directories skipped, symlinked directories not
    followed), sorted; more than MAX_SPEC_FILES of them is the caller's to refuse (the walk stops after one more)."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(spec_dir):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        found.extend(Path(dirpath) / f for f in filenames if f.endswith((".yaml", ".yml")))
        if len(found) > MAX_SPEC_FILES:
            break
    return sorted(p for p in found if p.is_file())
