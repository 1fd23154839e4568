"""The data files a spec directory names, found without the spec models: what `_ahead` scans ahead.

Found the way the spec loader finds them (`ftops._spec_files`, which both use: the project root is the
nearest directory holding `.git` from the spec directory up, else its parent; the spec files are the *.yaml
and *.yml under it, dot directories skipped, each resolved inside the root and at most 1 MiB; a Dataset's
`spec.path` is relative to its spec file and must resolve to a regular file inside the root), read by the same
bounded YAML loader. No document is validated: the list is a guess, which the scan checks before it uses
anything read ahead (`_ahead.take`); a spec the loader refuses costs only the time spent reading ahead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from .._spec_files import MAX_SPEC_BYTES, MAX_SPEC_FILES, find_root, spec_files
from .._yaml import Document, YamlError, load_documents
from ._lines import open_regular

_ERRORS = (OSError, RuntimeError, ValueError, YamlError)  # unreadable, a symlink loop, not UTF-8, not YAML


def named_files(spec_dir: Path) -> tuple[Path, list[Path]]:
    """(the project root, the resolved files that Dataset documents under `spec_dir` name by path)."""
    root = find_root(spec_dir)
    found: list[Path] = []
    for file in _spec_files(spec_dir):
        try:
            real = file.resolve()
            if not real.is_relative_to(root):
                continue
            for doc in _documents(real):
                target = _dataset_file(doc, real.parent)
                if target is not None and target.is_relative_to(root) and target.is_file() and target not in found:
                    found.append(target)
        except _ERRORS:
            continue
    return root, found


def _spec_files(spec_dir: Path) -> list[Path]:
    """The loader's spec files; none when there are more than it reads (it refuses the directory)."""
    found = spec_files(spec_dir)
    return found if len(found) <= MAX_SPEC_FILES else []


def _documents(real: Path) -> Iterator[Document]:
    # Opened without waiting (a pipe named *.yaml would wait for a writer forever, and the command for the lead)
    # and read only if a regular file: the loader passes over anything else (`spec._project.spec_files`).
    fd, _ = open_regular(str(real))
    try:
        data = _read_upto(fd, MAX_SPEC_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) <= MAX_SPEC_BYTES:
        yield from load_documents(data.decode("utf-8-sig"), str(real))


def _read_upto(fd: int, limit: int) -> bytes:
    parts: list[bytes] = []
    while limit > 0 and (part := os.read(fd, limit)):
        parts.append(part)
        limit -= len(part)
    return b"".join(parts)


def _dataset_file(doc: Document, base: Path) -> Path | None:
    data = doc.data
    spec = data.get("spec") if isinstance(data, dict) and data.get("kind") == "Dataset" else None
    path = spec.get("path") if isinstance(spec, dict) else None
    if not isinstance(path, str) or not path or "\0" in path:
        return None
    return (base / path).resolve()
