"""A DVC-style cache of dataset reports keyed by the file's stat and the scan options.

A dataset whose stat is unchanged is not read again: its sha256, counts and problems come from
`.ftops/cache/datasets.json` under the project root. The stat key is (size, mtime, ctime, inode,
device): ctime cannot be set by a user (`touch -d` sets mtime only) and changes on every write, so an
in-place edit that keeps size, mtime and inode is still re-hashed.

The cache file is input like any other: one that is not a regular file, is over MAX_CACHE_BYTES, is
not JSON, or has another shape is ignored and rebuilt. Each entry is validated (types, a 64-hex sha256,
a size equal to the stat's) before it is used, and only for a file whose stat matches it exactly. The
cache cannot prove that the bytes still hash to what it says (anyone who can write it can write a
matching stat); apply re-hashes the bytes it uploads. Writes are atomic (rename), so a killed run never
leaves a torn cache.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import msgspec
import orjson

from ._lines import open_regular
from ._options import DatasetReport, ScanOptions
from ._records import FORMATS
from ._scan import scan_file

CACHE_VERSION = 2  # 2: the stat key has ctime and device
MAX_CACHE_BYTES = 16 * 1024 * 1024  # ~2,000 datasets with 50 problems each; more is not a cache we wrote
_SHA256 = re.compile(r"[0-9a-f]{64}")
_SEVERITIES = frozenset({"error", "warning"})


def _read_entries(file: Path) -> dict[str, Any]:
    """The entries of a cache file, or {} for anything that is not a cache file this version wrote."""
    try:
        fd, st = open_regular(str(file))
    except OSError:
        return {}
    try:
        if st.st_size > MAX_CACHE_BYTES:
            return {}
        data = orjson.loads(os.read(fd, MAX_CACHE_BYTES + 1))
    except (OSError, orjson.JSONDecodeError):
        return {}
    finally:
        os.close(fd)
    entries = data.get("entries") if type(data) is dict and data.get("version") == CACHE_VERSION else None
    return entries if type(entries) is dict else {}


def stat_key(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


def valid_report(raw: Any, size: int) -> DatasetReport | None:
    """The cached report if every field has its type and the sha256 and size are plausible, else None."""
    try:
        report = msgspec.convert(raw, type=DatasetReport, strict=True)
    except (msgspec.ValidationError, TypeError, ValueError):
        return None
    ok = (_SHA256.fullmatch(report.sha256) is not None and report.size == size
          and (report.format is None or report.format in FORMATS)
          and min(report.examples, report.trained_tokens, report.max_tokens_in_example,
                  report.problems_omitted, *report.tokens_by_role.values()) >= 0
          and all(p.severity in _SEVERITIES for p in report.problems))
    return report if ok else None


GITIGNORE = "# Created by ftops: local state and keys, never committed.\n*\n"


def _make_state_dir(path: Path) -> None:
    """Create `path` and its missing parents; the topmost one created (`.ftops/` in a new project) gets a
    `.gitignore` of `*`, as a venv does, so git never offers ftops' local state (the local Foundry's keys
    live beside this cache). The local Foundry does the same for its data directory."""
    top = None
    for p in (path, *path.parents):
        if p.exists():
            break
        top = p
    path.mkdir(parents=True, exist_ok=True)
    if top is not None:
        (top / ".gitignore").write_text(GITIGNORE, encoding="utf-8")


class HashCache:
    def __init__(self, root: Path | None) -> None:
        self.file = root / ".ftops" / "cache" / "datasets.json" if root is not None else None
        self._entries: dict[str, Any] = _read_entries(self.file) if self.file is not None else {}
        self._dirty = False
        self.hits = 0
        self.misses = 0

    def _lookup(self, key: str, stat: list[int], opts: ScanOptions) -> DatasetReport | None:
        entry = self._entries.get(key)
        if type(entry) is not dict or entry.get("stat") != stat or entry.get("opts") != opts.key():
            return None
        return valid_report(entry.get("report"), stat[0])

    def holds(self, path: Path, stat: list[int]) -> bool:
        """Whether an entry for `path` at exactly this stat (`stat_key`) exists, for whatever scan options."""
        entry = self._entries.get(str(path))
        return type(entry) is dict and entry.get("stat") == stat

    def scan(self, path: Path, opts: ScanOptions) -> DatasetReport:
        key = str(path)
        try:
            stat = stat_key(path.stat())  # taken before reading: a write during the scan changes it
        except OSError:
            stat = None
        if stat is not None and (cached := self._lookup(key, stat, opts)) is not None:
            self.hits += 1
            return cached
        self.misses += 1
        report = scan_file(path, opts)
        if stat is not None and report.sha256:  # a file that was not read has nothing worth keeping
            self._entries[key] = {"stat": stat, "opts": opts.key(), "report": report.to_dict()}
            self._dirty = True
        return report

    def save(self) -> None:
        if self.file is None or not self._dirty:
            return
        tmp = None
        try:
            _make_state_dir(self.file.parent)
            fd, tmp = tempfile.mkstemp(dir=self.file.parent, prefix=".datasets.")
            with os.fdopen(fd, "wb") as f:
                f.write(orjson.dumps({"version": CACHE_VERSION, "entries": self._entries}))
            os.replace(tmp, self.file)
            tmp = None
            self._dirty = False
        except (OSError, TypeError):
            pass  # a cache we cannot write only costs a re-hash next time
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
