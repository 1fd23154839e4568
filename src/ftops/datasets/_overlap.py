"""Row-hash overlap between a held-out set and training data: a record in both makes an evaluation lie.

Each line is hashed as canonical JSON (keys sorted, no whitespace), so formatting differences do not
hide a shared record. Lines that are not JSON objects are skipped (the dataset checks report them).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import orjson


def _row_hashes(path: Path) -> Iterator[tuple[int, bytes]]:
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            try:
                record = orjson.loads(raw)
            except orjson.JSONDecodeError:
                continue
            if isinstance(record, dict):
                yield n, hashlib.sha256(orjson.dumps(record, option=orjson.OPT_SORT_KEYS)).digest()


def first_overlap(held_out: Path, training: Path) -> int | None:
    """The line of the first held-out record that also appears in `training`, else None."""
    seen = {h for _, h in _row_hashes(training)}
    return next((n for n, h in _row_hashes(held_out) if h in seen), None)
