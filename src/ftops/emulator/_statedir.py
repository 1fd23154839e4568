"""The local Foundry's state directory: created with a `.gitignore` that ignores everything in it.

It holds the API key (`api-key`, `connection.json`) and the TLS private key; inside a project it sits
under `.ftops/`, in the git work tree. As `python -m venv` does for a venv, the topmost directory this
creates gets a `.gitignore` of `*`, so `git status` never offers the keys (and `git add -A` never takes
them). A directory that already exists is left as its owner made it. (ftops' dataset cache does the same
for `.ftops/cache`; the emulator imports nothing else of ftops, hence its own copy.)
"""

from __future__ import annotations

import contextlib
from pathlib import Path

GITIGNORE = "# Created by ftops: local state and keys, never committed.\n*\n"


def make_state_dir(path: Path) -> None:
    """Create `path` and its missing parents; the topmost one created gets the `.gitignore`."""
    top = None
    for p in (path, *path.parents):
        if p.exists():
            break
        top = p
    path.mkdir(parents=True, exist_ok=True)
    if top is not None:
        with contextlib.suppress(OSError):  # a concurrent start wrote the same file: either one is fine
            (top / ".gitignore").write_text(GITIGNORE, encoding="utf-8")
