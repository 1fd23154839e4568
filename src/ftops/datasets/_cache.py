"""A DVC-style cache of dataset reports keyed by (size, mtime, inode) and the scan options.

A dataset whose stat is unchanged is not read again: its sha256, counts and problems come from
`.ftops/cache/datasets.json` under the project root. Writes are atomic (rename), so a killed run
never leaves a torn cache; a cache that cannot be parsed is ignored and rebuilt.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import orjson

from ._scan import DatasetReport, ScanOptions, scan_file

CACHE_VERSION = 1


class HashCache:
    def __init__(self, root: Path | None) -> None:
        self.file = root / ".ftops" / "cache" / "datasets.json" if root is not None else None
        self._entries: dict[str, Any] = {}
        self._dirty = False
        self.hits = 0
        self.misses = 0
        if self.file is not None and self.file.is_file():
            try:
                data = orjson.loads(self.file.read_bytes())
                if data.get("version") == CACHE_VERSION:
                    self._entries = data["entries"]
            except (orjson.JSONDecodeError, KeyError, AttributeError, OSError):
                self._entries = {}

    @staticmethod
    def _stat_key(path: Path) -> list[int]:
        st = path.stat()
        return [st.st_size, st.st_mtime_ns, st.st_ino]

    def scan(self, path: Path, opts: ScanOptions) -> DatasetReport:
        key = str(path)
        stat = self._stat_key(path)
        entry = self._entries.get(key)
        if entry and entry["stat"] == stat and entry["opts"] == opts.key():
            self.hits += 1
            return DatasetReport.from_dict(entry["report"])
        self.misses += 1
        report = scan_file(path, opts)
        self._entries[key] = {"stat": stat, "opts": opts.key(), "report": report.to_dict()}
        self._dirty = True
        return report

    def save(self) -> None:
        if self.file is None or not self._dirty:
            return
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.file.parent, prefix=".datasets.")
            with os.fdopen(fd, "wb") as f:
                f.write(orjson.dumps({"version": CACHE_VERSION, "entries": self._entries}))
            os.replace(tmp, self.file)
            self._dirty = False
        except OSError:
            pass  # a cache we cannot write only costs a re-hash next time
