"""Check the records of one range of a JSONL file: the unit of work of a scan, run in a worker process
for large files and in-process for small ones. Line numbers here are relative to the range (the first
line of the range is line 1); the scan adds the range's offset when it merges the results in order.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import msgspec
import orjson

from ._lines import Chunk, iter_lines, open_regular
from ._options import BOM, MAX_PROBLEMS, LineProblem, ScanOptions
from ._records import FORMATS, Checker, Stats, fast_chat_decoder

_FAST_GIVE_UP = 64  # consecutive fast-path misses after which a range stops trying it (e.g. all tool records)


@dataclass(frozen=True)
class ChunkJob:
    path: str
    identity: tuple[int, int]  # (st_dev, st_ino) measured by the scan: a replaced file is refused
    chunk: Chunk
    fmt: str  # the format the records are checked against (decided once, from the file's head)
    opts: ScanOptions
    mismatch: LineProblem | None = None  # the first record's format mismatch, if it is in this range

    def serves(self, result: ChunkResult, other: ChunkJob) -> bool:
        """Whether `result`, this job's, is what checking `other` gives: the same file, range, format and record
        checks, and vision the same or of no consequence in the range (`ChunkResult.vision_free`)."""
        return (self.identity == other.identity and self.chunk == other.chunk and self.fmt == other.fmt
                and self.mismatch == other.mismatch and self.opts.record_checks() == other.opts.record_checks()
                and (self.opts.vision == other.opts.vision or result.vision_free))


@dataclass
class ChunkResult:
    lines: int  # lines in the range, so the next range knows its first line number
    stats: Stats
    problems: list[LineProblem] = field(default_factory=list)  # in line order, at most MAX_PROBLEMS
    omitted: int = 0
    # No line over the limit and no image part: the range checks the same with and without vision (the line
    # limit and image parts are all that vision changes), so this result serves either (`_ahead`).
    vision_free: bool = True


class Problems:
    """The first MAX_PROBLEMS problems in line order; the rest are only counted.

    Token-limit problems are found when a batch of examples is counted, after problems on later lines,
    so the list is sorted (stably, by line) before it is cut; memory stays bounded on any input.
    """

    def __init__(self) -> None:
        self.items: list[LineProblem] = []
        self.omitted = 0

    def add(self, line: int | None, message: str, severity: str = "error") -> None:
        self.items.append(LineProblem(line, message, severity))
        if len(self.items) >= 4 * MAX_PROBLEMS:
            self._cut()

    def _cut(self) -> None:
        self.items.sort(key=lambda p: p.line or 0)
        self.omitted += max(0, len(self.items) - MAX_PROBLEMS)
        del self.items[MAX_PROBLEMS:]

    def done(self) -> tuple[list[LineProblem], int]:
        self._cut()
        return self.items, self.omitted


def too_long(length: int, limit: int) -> str:
    return (f"line is {length / 2**20:.1f} MiB; longer than the {limit / 2**20:.0f} MiB ftops reads per line "
            "(it is not parsed: an example that long cannot fit the model's token limit)")


def mismatch_problem(lineno: int, inferred: str, fmt: str) -> LineProblem:
    """The first record is in another format than the jobs using the dataset need."""
    return LineProblem(lineno, f"record is in {inferred} format, but this dataset must be {fmt} ({FORMATS[fmt]})")


def invalid_line(raw: bytes, err: orjson.JSONDecodeError) -> str:
    """Words for a line orjson refuses, naming the cause a user can fix."""
    if raw.startswith(BOM):
        return "byte-order mark in the middle of the file (only the first line may start with one)"
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as u:
        return f"invalid UTF-8 at byte {u.start + 1} of the line"
    nul = raw.find(b"\0")
    if nul >= 0:
        return f"NUL byte at byte {nul + 1} of the line"
    return f"invalid JSON at byte {err.pos + 1}: {err.msg}"


def scan_chunk(job: ChunkJob) -> ChunkResult:
    """Check every line of the job's range; runs in a worker process (so everything is picklable)."""
    fd, _ = open_regular(job.path, job.identity)
    try:
        problems = Problems()
        checker = Checker(job.fmt, job.opts, problems.add)
        lines = iter_lines(fd, job.chunk, job.opts.max_line_bytes())
        return check_lines(lines, checker, problems, first=job.chunk.start == 0, mismatch=job.mismatch)
    finally:
        os.close(fd)


def check_lines(lines: Iterable[memoryview | bytes | int], checker: Checker, problems: Problems, *,
                first: bool, mismatch: LineProblem | None = None, lineno: int = 0) -> ChunkResult:
    """Check each line after line `lineno` with `checker`; `first`: the lines start the file (a BOM may lead).

    The one record-checking loop of ftops: file ranges and URL streams both come through here.
    """
    limit = checker.opts.max_line_bytes()
    # Hot loop: names bound once; one call per line on the common shape.
    fast = checker.fmt == "chat"
    check_fast, decode = checker.check_fast, fast_chat_decoder.decode
    mismatch_line = mismatch.line if mismatch is not None else -1
    misses = 0
    vision_free = True
    for raw in lines:
        lineno += 1
        if type(raw) is int:
            problems.add(lineno, too_long(raw, limit))
            vision_free = False
            continue
        assert not isinstance(raw, int)
        if lineno == 1 and first and raw[:3] == BOM:
            raw = raw[3:]
        if raw and raw[-1] == 13:  # CRLF
            raw = raw[:-1]
        if lineno == mismatch_line and mismatch is not None:
            problems.add(lineno, mismatch.message, mismatch.severity)
        if fast:
            try:
                if check_fast(decode(raw), lineno):
                    misses = 0
                    continue
            except (msgspec.DecodeError, ValueError, RecursionError):
                pass  # not the common shape (or not JSON): the full check below says why
            misses += 1
            fast = misses < _FAST_GIVE_UP
        _check_line(bytes(raw), lineno, checker, problems)
    stats = checker.finish()
    items, omitted = problems.done()
    return ChunkResult(lineno, stats, items, omitted, vision_free and not checker.saw_image)


def parse_line(raw: bytes, lineno: int, problems: Problems) -> tuple[bool, Any]:
    """(True, the record) of a line that is JSON; (False, None) after reporting a blank or invalid one."""
    if not raw.strip():
        problems.add(lineno, "blank line (Foundry rejects empty lines in JSONL)")
        return False, None
    try:
        return True, orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        problems.add(lineno, invalid_line(raw, e))
        return False, None


def _check_line(raw: bytes, lineno: int, checker: Checker, problems: Problems) -> None:
    parsed, rec = parse_line(raw, lineno, problems)
    if parsed:
        checker.check(rec, lineno)
